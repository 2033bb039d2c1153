// `impl Step` for a pipeline trainer: the models of `embeddings = a -> b` applied in order, then
// each loss on its input (`on = embeddings`, or a model applied to the embeddings), with its
// miner's tuples. A loss is computed only while its weight is positive (PML's rule), through
// `Iteration::compute`, which also names the loss in any error. An optional loss, model or miner
// that was not set is skipped.

use super::{Mode, Names};
use crate::model::{Key, KeyKind, Presence, Trainer};
use crate::symbol::EMBEDDINGS;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

pub fn emit(trainer: &Trainer, names: &Names, mode: Mode) -> TokenStream {
    let Some(chain) = trainer.pipeline else { return TokenStream::new() };
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    let (embed, calculate_loss) = match mode {
        Mode::StandIn => (quote!(::core::unreachable!()), quote!(::core::unreachable!())),
        Mode::Real => {
            let models = chain.models.iter();
            let embed = quote! {
                let x = data.shallow_clone();
                #(let x = self.#models.forward(&x)?;)*
                ::core::result::Result::Ok(x)
            };
            let losses = trainer.keys_of(KeyKind::Loss).map(|loss| compute_loss(trainer, names, loss));
            let calculate_loss = quote! {
                let embeddings = #krate::Step::embed(self, data)?;
                #(#losses)*
                ::core::result::Result::Ok(())
            };
            (embed, calculate_loss)
        }
    };
    quote! {
        #[automatically_derived]
        impl #krate::Step for #ident {
            fn embed(&self, data: &#krate::tch::Tensor) -> #krate::Result<#krate::tch::Tensor> {
                #embed
            }

            fn calculate_loss(
                &mut self,
                it: &mut #krate::Iteration<'_, Self>,
                data: &#krate::tch::Tensor,
                labels: &#krate::tch::Tensor,
            ) -> #krate::Result<()> {
                #calculate_loss
            }
        }
    }
}

/// One loss: `it.compute(Loss::X, || ...)`, its input and tuples made inside, so that nothing
/// runs for a loss whose weight is 0.
fn compute_loss(trainer: &Trainer, names: &Names, loss: &Key) -> TokenStream {
    let krate = &trainer.crate_path;
    let loss_enum = &names.loss_enum;
    let variant = loss.variant();
    let field = &loss.ident;
    let Some(on) = &loss.on else { return TokenStream::new() };
    // Optional parts bind to a local: present, the loss runs; absent, it is skipped.
    let mut present = Vec::new();
    let loss_value = if loss.presence == Presence::Optional {
        present.push(quote!(::core::option::Option::Some(__trainer_loss) = self.#field.as_mut()));
        quote!(__trainer_loss)
    } else {
        quote!(&mut self.#field)
    };
    let body = if on == EMBEDDINGS {
        let tuples = match loss.miner.as_ref().and_then(|m| trainer.key(m)) {
            Some(miner) if miner.presence == Presence::Optional => {
                let miner = &miner.ident;
                quote!(#krate::miners::OptionalMiner::mine_if_set(&mut self.#miner, &embeddings, labels)?)
            }
            Some(miner) => {
                let miner = &miner.ident;
                quote!(::core::option::Option::Some(#krate::miners::TupleMiner::mine(&mut self.#miner, &embeddings, labels)?))
            }
            None => quote!(::core::option::Option::None),
        };
        quote_spanned! {loss.ident.span()=>
            let embeddings = #krate::precision::full_precision(&embeddings)?;
            let tuples = #tuples;
            #krate::losses::MetricLoss::compute(#loss_value, &embeddings, labels, tuples.as_ref())
        }
    } else {
        let model = match trainer.key(on) {
            Some(model) if model.presence == Presence::Optional => {
                present.push(quote!(::core::option::Option::Some(__trainer_model) = self.#on.as_ref()));
                quote!(__trainer_model)
            }
            _ => quote!(self.#on),
        };
        quote_spanned! {loss.ident.span()=>
            let embeddings = #krate::precision::full_precision(&embeddings)?;
            let logits = #model.forward(&embeddings)?;
            #krate::losses::ClassifierLoss::compute(#loss_value, &logits, labels)
        }
    };
    let compute = quote! { it.compute(#loss_enum::#variant, || { #body })?; };
    present.into_iter().rev().fold(compute, |inner, pattern| quote! { if let #pattern { #inner } })
}
