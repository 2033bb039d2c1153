// The struct as the user wrote it, minus our attributes. It is part of every expansion; after
// an error that leaves no stand-ins possible (a generic or tuple struct) it is emitted alone, so
// that the user's other uses of the type still resolve (an attribute macro that emits nothing
// deletes the item).

use crate::parse::Input;
use crate::symbol::KEY_KINDS;
use crate::validate::suggest;
use proc_macro2::TokenStream;
use quote::ToTokens;

pub fn strip_key_attributes(input: &Input) -> syn::ItemStruct {
    let mut item = input.item.clone();
    if let syn::Fields::Named(named) = &mut item.fields {
        // A second field of one name is already reported as a duplicate key; re-emitted, it
        // would add rustc's own E0124 to it.
        let mut seen = std::collections::HashSet::new();
        named.named = std::mem::take(&mut named.named)
            .into_iter()
            .filter(|field| field.ident.as_ref().is_none_or(|ident| seen.insert(ident.to_string())))
            .collect();
        for field in named.named.iter_mut() {
            // Key kinds, and misspellings of them already reported: left in place, rustc would
            // add "cannot find attribute `modle`" to our own error.
            field.attrs.retain(|attr| {
                let Some(ident) = attr.path().get_ident() else { return true };
                let name = ident.to_string();
                !KEY_KINDS.contains(&name.as_str()) && suggest::did_you_mean(&name, KEY_KINDS).is_none()
            });
        }
    }
    item
}

pub fn fallback_struct(input: &Input) -> TokenStream {
    strip_key_attributes(input).into_token_stream()
}
