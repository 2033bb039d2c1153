// `impl TrainerKeys`: how the engine reaches the keys without knowing the struct. It lists the
// parameter keys (for optimizers, freezing and train/eval mode), the losses (for weights and
// the total), the modules that record statistics, and the keys that play the engine's roles
// (the trunk, the subset-batch miner), as the declaration gives them: never by a string name.

use super::Names;
use crate::model::{Key, KeyKind, Trainer};
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    let name = trainer.name();
    let Names { key_enum, loss_enum, loss_values: losses, .. } = names;
    let parameter_keys: Vec<&Key> = trainer.parameter_keys().collect();
    let loss_keys: Vec<&Key> = trainer.keys_of(KeyKind::Loss).collect();

    let list_parameter_keys = parameter_keys.iter().map(|key| list_push(key, key_enum));
    let list_loss_keys = loss_keys.iter().map(|key| list_push(key, loss_enum));
    let component_arms = |mutable: bool| {
        let arms: Vec<TokenStream> = parameter_keys.iter().map(|key| component_arm(key, key_enum, krate, mutable)).collect();
        quote! { #(#arms,)* }
    };
    let (arms, arms_mut) = (component_arms(false), component_arms(true));
    let weights = loss_keys.iter().map(|key| {
        let variant = key.variant();
        let pattern = if key.indexed { quote!(#loss_enum::#variant(_)) } else { quote!(#loss_enum::#variant) };
        let weight = key.weight.as_ref().map_or_else(|| quote!(1.0), |w| quote!(::core::convert::From::from(#w)));
        quote!(#pattern => #weight)
    });
    let empty_losses = loss_keys.iter().map(|key| {
        let field = &key.ident;
        if key.indexed {
            quote!(#field: (0..self.#field.len()).map(|_| ::core::option::Option::None).collect())
        } else {
            quote!(#field: ::core::option::Option::None)
        }
    });
    let recorders = trainer
        .keys
        .iter()
        .filter(|k| (k.kind == KeyKind::Loss && !k.inline) || k.kind == KeyKind::Miner)
        .map(|key| {
            let field = &key.ident;
            let label = field.to_string();
            if key.indexed {
                quote! {
                    for (index, module) in self.#field.iter().enumerate() {
                        recorders.push((::std::format!("{}_{}", #label, index), module as &dyn #krate::component::Component));
                    }
                }
            } else {
                quote! { recorders.push((::std::string::String::from(#label), &self.#field as &dyn #krate::component::Component)); }
            }
        });
    let subset_batch_miner = match trainer.subset_batch_miner() {
        Some(miner) => {
            let field = &miner.ident;
            let reach = match miner.presence {
                crate::model::Presence::Optional => quote!(self.#field.as_mut()),
                _ => quote!(::core::option::Option::Some(&mut self.#field)),
            };
            quote! { #reach.map(|miner| miner as &mut dyn #krate::miners::SubsetBatchMiner) }
        }
        None => quote!(::core::option::Option::None),
    };
    let trunk = match trainer.trunk() {
        Some(key) if !key.indexed => {
            let variant = key.variant();
            quote!(::core::option::Option::Some(#key_enum::#variant))
        }
        _ => quote!(::core::option::Option::None),
    };
    // Match arms on an enum that may have no variants: `match key {}` is fine for an empty
    // enum, and the wildcard-free form keeps a new key from being forgotten here.
    quote! {
        #[automatically_derived]
        impl #krate::trainer::TrainerKeys for #ident {
            const NAME: &'static str = #name;
            type Key = #key_enum;
            type Loss = #loss_enum;
            type LossValues = #losses;

            fn parameter_keys(&self) -> ::std::vec::Vec<#key_enum> {
                let mut keys = ::std::vec::Vec::new();
                #(#list_parameter_keys)*
                keys
            }

            fn component(&self, key: #key_enum) -> ::core::option::Option<&dyn #krate::component::Component> {
                match key { #arms }
            }

            fn component_mut(&mut self, key: #key_enum) -> ::core::option::Option<&mut dyn #krate::component::Component> {
                match key { #arms_mut }
            }

            fn loss_keys(&self) -> ::std::vec::Vec<#loss_enum> {
                let mut keys = ::std::vec::Vec::new();
                #(#list_loss_keys)*
                keys
            }

            fn default_loss_weight(loss: #loss_enum) -> f64 {
                match loss { #(#weights,)* }
            }

            fn new_loss_values(&self) -> #losses {
                #losses { #(#empty_losses,)* }
            }

            fn recorders(&self) -> ::std::vec::Vec<(::std::string::String, &dyn #krate::component::Component)> {
                let mut recorders = ::std::vec::Vec::new();
                #(#recorders)*
                recorders
            }

            fn trunk() -> ::core::option::Option<#key_enum> {
                #trunk
            }

            fn subset_batch_miner(&mut self) -> ::core::option::Option<&mut dyn #krate::miners::SubsetBatchMiner> {
                #subset_batch_miner
            }
        }
    }
}

fn list_push(key: &Key, enum_ident: &syn::Ident) -> TokenStream {
    let variant = key.variant();
    let field = &key.ident;
    if key.indexed {
        quote! { keys.extend((0..self.#field.len()).map(#enum_ident::#variant)); }
    } else {
        quote! { keys.push(#enum_ident::#variant); }
    }
}

fn component_arm(key: &Key, key_enum: &syn::Ident, krate: &syn::Path, mutable: bool) -> TokenStream {
    let variant = key.variant();
    let field = &key.ident;
    let (reference, get) = if mutable { (quote!(&mut), quote!(get_mut)) } else { (quote!(&), quote!(get)) };
    if key.indexed {
        quote! {
            #key_enum::#variant(index) => self.#field.#get(index).map(|module| module as #reference dyn #krate::component::Component)
        }
    } else {
        quote! {
            #key_enum::#variant => ::core::option::Option::Some(#reference self.#field as #reference dyn #krate::component::Component)
        }
    }
}
