// `trunk_optimizer`, `trunk_scheduler_by_epoch`, `trunk_grad_clipper`, ...: PML's key suffixes,
// as methods, so a misspelt one does not compile. Miners and parameters have no parameters to
// optimise; their `<key>_optimizer` (and the rest) exist only to refuse with that reason, where
// rustc would otherwise suggest the key's own setter (`.tuple_miner(Adam::new(1e-3))`).

use crate::codegen::Names;
use crate::model::{Key, KeyKind, Trainer};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

const SCHEDULERS: [(&str, &str); 3] = [("iteration", "Iteration"), ("epoch", "Epoch"), ("plateau", "Plateau")];

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let settable = trainer.parameter_keys().map(|key| parameter_setters(trainer, names, key));
    let refused = trainer
        .keys
        .iter()
        .filter(|k| matches!(k.kind, KeyKind::Miner | KeyKind::Param) && k.has_setter())
        .map(|key| refused_setters(names, key));
    quote! { #(#settable)* #(#refused)* }
}

fn parameter_setters(trainer: &Trainer, names: &Names, key: &Key) -> TokenStream {
    let krate = &trainer.crate_path;
    let key_enum = &names.key_enum;
    let variant = key.variant();
    let (index_arg, key_value) = if key.indexed {
        (quote!(index: usize,), quote!(#key_enum::#variant(index)))
    } else {
        (quote!(), quote!(#key_enum::#variant))
    };
    let name = &key.ident;
    let optimizer = format_ident!("{name}_optimizer");
    let clipper = format_ident!("{name}_grad_clipper");
    let schedulers = SCHEDULERS.map(|(suffix, step)| {
        let method = format_ident!("{name}_scheduler_by_{suffix}");
        let step = format_ident!("{step}");
        let doc = format!("A learning-rate scheduler for `{name}`'s optimizer, stepped by {suffix}.");
        quote! {
            #[doc = #doc]
            pub fn #method(mut self, #index_arg scheduler: impl #krate::optim::LrScheduler + 'static) -> Self {
                self.__engine = self.__engine.scheduler(#key_value, #krate::optim::StepType::#step, ::std::boxed::Box::new(scheduler));
                self
            }
        }
    });
    let opt_doc = format!("The optimizer of `{name}`'s parameters.");
    let clip_doc = format!("Clips `{name}`'s gradients after the backward pass, before its optimizer steps.");
    quote! {
        #[doc = #opt_doc]
        pub fn #optimizer(mut self, #index_arg optimizer: impl #krate::optim::Optimizer + 'static) -> Self {
            self.__engine = self.__engine.optimizer(#key_value, ::std::boxed::Box::new(optimizer));
            self
        }
        #(#schedulers)*
        #[doc = #clip_doc]
        pub fn #clipper(mut self, #index_arg clipper: impl #krate::optim::GradClipper + 'static) -> Self {
            self.__engine = self.__engine.grad_clipper(#key_value, ::std::boxed::Box::new(clipper));
            self
        }
    }
}

fn refused_setters(names: &Names, key: &Key) -> TokenStream {
    let module = &names.state_module;
    let name = &key.ident;
    let refusal = format_ident!("{}HasParameters", key.variant());
    let methods = ["optimizer", "grad_clipper"]
        .into_iter()
        .map(String::from)
        .chain(SCHEDULERS.iter().map(|(suffix, _)| format!("scheduler_by_{suffix}")))
        .map(|suffix| {
            let method = format_ident!("{name}_{suffix}");
            quote! {
                #[doc(hidden)]
                pub fn #method<V: #module::#refusal>(self, value: V) -> Self {
                    let _ = value;
                    self
                }
            }
        });
    quote! { #(#methods)* }
}

/// The traits `refused_setters` are bounded by, for the state module.
pub fn refusal_traits(trainer: &Trainer) -> TokenStream {
    let krate = &trainer.crate_path;
    let t = trainer.name();
    trainer
        .keys
        .iter()
        .filter(|k| matches!(k.kind, KeyKind::Miner | KeyKind::Param) && k.has_setter())
        .map(|key| {
            let refusal = format_ident!("{}HasParameters", key.variant());
            let name = &key.ident;
            let message = format!("`{name}` is a {} of `{t}` and has no parameters to optimise", key.kind.word());
            let label = format!("`{name}` takes no optimizer, scheduler or gradient clipper");
            let note = "only models and losses with learned weights have optimizers, schedulers and clippers";
            quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                pub trait #refusal {}
                #[diagnostic::do_not_recommend]
                impl #refusal for #krate::builder::Refused {}
            }
        })
        .collect()
}
