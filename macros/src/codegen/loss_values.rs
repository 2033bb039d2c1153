// `<T>LossValues`: one slot per loss, which the step fills (through `Iteration::compute`, or
// by field) and the engine weights and sums. A field per loss (not a map) makes
// `it.values.metric_los` a compile error with a suggestion.

use super::Names;
use crate::model::{KeyKind, Trainer};
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let vis = trainer.vis;
    let krate = &trainer.crate_path;
    let ident = &names.loss_values;
    let loss_enum = &names.loss_enum;
    let losses: Vec<_> = trainer.keys_of(KeyKind::Loss).collect();
    let fields = losses.iter().map(|key| {
        let name = &key.ident;
        let doc = format!("This iteration's `{name}`, unweighted; `None` when the step did not compute it.");
        if key.indexed {
            quote! { #[doc = #doc] pub #name: ::std::vec::Vec<::core::option::Option<#krate::tch::Tensor>> }
        } else {
            quote! { #[doc = #doc] pub #name: ::core::option::Option<#krate::tch::Tensor> }
        }
    });
    let entries = losses.iter().map(|key| {
        let name = &key.ident;
        let variant = key.variant();
        if key.indexed {
            quote! {
                for (index, value) in self.#name.into_iter().enumerate() {
                    entries.push((#loss_enum::#variant(index), value));
                }
            }
        } else {
            quote! { entries.push((#loss_enum::#variant, self.#name)); }
        }
    });
    let set_arms = losses.iter().map(|key| {
        let name = &key.ident;
        let variant = key.variant();
        if key.indexed {
            quote! {
                #loss_enum::#variant(index) => {
                    if self.#name.len() <= index {
                        self.#name.resize_with(index + 1, || ::core::option::Option::None);
                    }
                    self.#name[index] = ::core::option::Option::Some(value);
                }
            }
        } else {
            quote! { #loss_enum::#variant => self.#name = ::core::option::Option::Some(value) }
        }
    });
    let doc = format!("The losses one iteration of [`{}`] computes, unweighted; the step fills them.", trainer.ident);
    quote! {
        #[doc = #doc]
        #vis struct #ident { #(#fields,)* }

        #[automatically_derived]
        impl #krate::trainer::LossRecord for #ident {
            type Loss = #loss_enum;
            fn into_entries(self) -> ::std::vec::Vec<(#loss_enum, ::core::option::Option<#krate::tch::Tensor>)> {
                let mut entries = ::std::vec::Vec::new();
                #(#entries)*
                entries
            }
            #[allow(unused_variables)]
            fn set(&mut self, loss: #loss_enum, value: #krate::tch::Tensor) {
                match loss { #(#set_arms,)* }
            }
        }
    }
}
