// `<T>Key` names every model and loss module (what can be frozen, optimised, scheduled and
// clipped); `<T>Loss` names every loss, inline ones included (what can be weighted). Enums make
// a misspelt or foreign key a compile error: `MetricLossOnlyKey::Classifier` does not exist.

use super::Names;
use crate::model::{Key, Trainer};
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let parameter_keys: Vec<&Key> = trainer.parameter_keys().collect();
    let loss_keys: Vec<&Key> = trainer.keys_of(crate::model::KeyKind::Loss).collect();
    let keys = key_enum(
        trainer,
        &names.key_enum,
        &parameter_keys,
        &format!("The models and loss modules of [`{}`]: what can be frozen and given an optimizer, schedulers and a gradient clipper.", trainer.ident),
    );
    let loss_enum = key_enum(
        trainer,
        &names.loss_enum,
        &loss_keys,
        &format!("The losses of [`{}`]: what can be weighted.", trainer.ident),
    );
    quote! { #keys #loss_enum }
}

fn key_enum(trainer: &Trainer, ident: &syn::Ident, keys: &[&Key], doc: &str) -> TokenStream {
    let vis = trainer.vis;
    let krate = &trainer.crate_path;
    let variants = keys.iter().map(|key| {
        let variant = key.variant();
        let doc = format!("The {} `{}`{}.", key.kind.word(), key.ident, if key.indexed { "_<index>" } else { "" });
        if key.indexed {
            quote! { #[doc = #doc] #variant(usize) }
        } else {
            quote! { #[doc = #doc] #variant }
        }
    });
    let name_arms = keys.iter().map(|key| {
        let variant = key.variant();
        let name = key.ident.to_string();
        if key.indexed {
            quote! { Self::#variant(index) => ::std::format!("{}_{}", #name, index) }
        } else {
            quote! { Self::#variant => ::std::string::String::from(#name) }
        }
    });
    // An enum with no variants still needs a `name`: matching on `*self` covers it.
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug,
                 ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis enum #ident { #(#variants,)* }

        #[automatically_derived]
        impl #krate::trainer::KeyName for #ident {
            fn name(&self) -> ::std::string::String {
                match *self { #(#name_arms,)* }
            }
        }
    }
}
