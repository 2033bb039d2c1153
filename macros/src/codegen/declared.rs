// `impl Declared`: the keys as data (`KEYS`: name, kind, presence, value type) and the keys'
// struct built from values given by name, for programs that assemble a trainer from a file.
// Generated from the same model as the builder, so a key the builder has, the file can name,
// and a key the builder requires, the file must give (with the same words for the error).

use super::Names;
use crate::model::{Key, KeyKind, Presence, Trainer};
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    let requirements = trainer.requirement_summary();
    let specs = trainer.keys.iter().map(|key| spec(key, krate));
    let fields = trainer.keys.iter().enumerate().map(|(index, key)| field(key, index, krate, &requirements));
    let key_arms = trainer.parameter_keys().map(|key| name_arm(key, &names.key_enum, krate));
    let loss_arms = trainer.keys_of(KeyKind::Loss).map(|key| name_arm(key, &names.loss_enum, krate));
    quote! {
        #[automatically_derived]
        impl #krate::declared::Declared for #ident {
            const KEYS: &'static [#krate::declared::KeySpec] = &[#(#specs,)*];

            fn from_values(mut values: #krate::declared::KeyValues) -> #krate::Result<Self> {
                let keys = <Self as #krate::declared::Declared>::KEYS;
                let trainer = <Self as #krate::trainer::TrainerKeys>::NAME;
                let declared = #ident { #(#fields,)* };
                values.none_left(trainer, keys)?;
                ::core::result::Result::Ok(declared)
            }

            fn key_named(name: &str) -> ::core::option::Option<<Self as #krate::trainer::TrainerKeys>::Key> {
                #(#key_arms)*
                ::core::option::Option::None
            }

            fn loss_named(name: &str) -> ::core::option::Option<<Self as #krate::trainer::TrainerKeys>::Loss> {
                #(#loss_arms)*
                ::core::option::Option::None
            }
        }
    }
}

fn spec(key: &Key, krate: &syn::Path) -> TokenStream {
    let name = key.ident.to_string();
    let kind = match key.kind {
        KeyKind::Model => quote!(Model),
        KeyKind::Loss => quote!(Loss),
        KeyKind::Miner => quote!(Miner),
        KeyKind::Param => quote!(Parameter),
    };
    let presence = match key.presence {
        Presence::Required => quote!(Required),
        Presence::Optional => quote!(Optional),
        Presence::Default(_) => quote!(Defaulted),
    };
    let value_ty = &key.value_ty;
    let value_type = tidy(&quote!(#value_ty).to_string());
    let (indexed, inline) = (key.indexed, key.inline);
    let default = match &key.presence {
        Presence::Default(expr) => {
            let text = tidy(&quote!(#expr).to_string());
            quote!(::core::option::Option::Some(#text))
        }
        _ => quote!(::core::option::Option::None),
    };
    quote! {
        #krate::declared::KeySpec {
            name: #name,
            kind: #krate::declared::KeyKind::#kind,
            presence: #krate::declared::Presence::#presence,
            indexed: #indexed,
            inline: #inline,
            value_type: #value_type,
            default: #default,
        }
    }
}

/// A type as written, without the spaces tokens print with (`Box<dyn MetricLoss>`).
fn tidy(tokens: &str) -> String {
    let mut out = tokens.replace(" :: ", "::").replace(":: ", "::").replace(" < ", "<").replace("< ", "<").replace(" >", ">").replace(" ,", ",");
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out
}

fn field(key: &Key, index: usize, krate: &syn::Path, requirements: &str) -> TokenStream {
    let name = &key.ident;
    if key.inline {
        return quote!(#name: ::core::default::Default::default());
    }
    let value_ty = &key.value_ty;
    let missing = quote!(|| #krate::declared::KeyValues::missing(trainer, &keys[#index], #requirements));
    if !key.indexed {
        let taken = quote!(values.take_one::<#value_ty>(trainer, &keys[#index])?);
        return match &key.presence {
            Presence::Required => quote!(#name: #taken.ok_or_else(#missing)?),
            Presence::Optional => quote!(#name: #taken),
            Presence::Default(default) => quote!(#name: #taken.unwrap_or_else(|| #default)),
        };
    }
    let mut taken = quote!(values.take_all::<#value_ty>(trainer, &keys[#index])?);
    if key.optional_elements {
        taken = quote!(#taken.into_iter().map(::core::option::Option::Some).collect::<::std::vec::Vec<_>>());
    }
    match &key.presence {
        Presence::Required => quote!(#name: { let all = #taken; if all.is_empty() { return ::core::result::Result::Err((#missing)()); } all }),
        Presence::Optional => quote!(#name: { let all = #taken; (!all.is_empty()).then_some(all) }),
        Presence::Default(default) => quote!(#name: { let all = #taken; if all.is_empty() { #default } else { all } }),
    }
}

fn name_arm(key: &Key, enum_ident: &syn::Ident, krate: &syn::Path) -> TokenStream {
    let variant = key.variant();
    let name = key.ident.to_string();
    if key.indexed {
        quote! {
            if let ::core::option::Option::Some(index) = #krate::declared::family_member(name, #name) {
                return ::core::option::Option::Some(#enum_ident::#variant(index));
            }
        }
    } else {
        quote! {
            if name == #name {
                return ::core::option::Option::Some(#enum_ident::#variant);
            }
        }
    }
}
