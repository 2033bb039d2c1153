// One setter per member. A setter takes the key's own type (`Model`, `TripletMarginLoss`,
// `Vec<i64>`), so that a wrong one reads "expected `TripletMarginLoss`, found
// `ContrastiveLoss`"; a trait-object key (`Box<dyn MetricLoss>`) takes any implementor and boxes
// it; `into` in the declaration opts in to `impl Into<T>`. Optional keys also get
// `maybe_<key>(Option<T>)`. An indexed family gets a setter that appends one value and a plural
// one that appends many; its setters may run any number of times.

use super::{advance, Member};
use crate::codegen::Names;
use crate::model::{Key, Presence, SetterInput, Trainer};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn emit(trainer: &Trainer, names: &Names, members: &[Member]) -> TokenStream {
    members.iter().map(|member| match member.key {
        Some(key) if key.indexed => family_setters(names, members, member, key),
        Some(key) => key_setters(names, members, member, key),
        None => engine_setter(trainer, names, members, member),
    }).collect()
}

/// What the setter's argument is, and how it becomes the stored value.
fn input(key: &Key, arg: &syn::Ident) -> (TokenStream, TokenStream) {
    let value_ty = &key.value_ty;
    match &key.input {
        SetterInput::Exact => (quote!(#value_ty), quote!(#arg)),
        SetterInput::Into => (quote!(impl ::core::convert::Into<#value_ty>), quote!(::core::convert::Into::into(#arg))),
        SetterInput::Boxed(bounds) => (quote!(impl #bounds + 'static), quote!(::std::boxed::Box::new(#arg))),
    }
}

/// Spanned at the key, so that rustc's "required by this bound" shows its declaration.
fn once_bound(names: &Names, member: &Member) -> TokenStream {
    let span = member.key.map_or_else(proc_macro2::Span::call_site, |k| k.ident.span());
    let module = syn::Ident::new(&names.state_module.to_string(), span);
    let (name, is_unset) = (&member.name, format_ident!("{}IsUnset", member.name, span = span));
    quote::quote_spanned!(span=> S::#name: #module::#is_unset)
}

fn key_setters(names: &Names, members: &[Member], member: &Member, key: &Key) -> TokenStream {
    let name = &key.ident;
    let docs = &key.docs;
    let (arg_ty, convert) = input(key, name);
    let bound = once_bound(names, member);
    let (returns, body) = advance(names, members, member, quote!(::core::option::Option::Some(#convert)));
    let presence = if key.presence == Presence::Required { "required" } else { "optional" };
    let line = format!("Sets the {presence} {} `{name}` (once).", key.kind.word());
    let mut setters = quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #line]
        pub fn #name(self, #name: #arg_ty) -> #returns where #bound { #body }
    };
    if key.presence != Presence::Required {
        let maybe = format_ident!("maybe_{name}");
        let value_ty = &key.value_ty;
        let (returns, body) = advance(names, members, member, quote!(#name));
        let line = format!("Sets `{name}` when given `Some`; with `None` it keeps its default.");
        setters.extend(quote! {
            #[doc = #line]
            pub fn #maybe(self, #name: ::core::option::Option<#value_ty>) -> #returns where #bound { #body }
        });
    }
    setters
}

fn family_setters(names: &Names, members: &[Member], member: &Member, key: &Key) -> TokenStream {
    let name = &key.ident;
    let docs = &key.docs;
    let (arg_ty, convert) = input(key, name);
    let wrap = |value: TokenStream| if key.optional_elements { quote!(::core::option::Option::Some(#value)) } else { value };
    let pushed = wrap(convert);
    let (returns, body) = advance(names, members, member, quote!(self.#name));
    let text = name.to_string();
    let plural = format_ident!("{}", if text.ends_with('s') { format!("{text}es") } else { format!("{text}s") });
    let line = format!("Appends one `{name}_<i>`: the first call sets `{name}_0`, the next `{name}_1`, and so on.");
    let family_line = format!("Appends each of `{plural}` to the `{name}_<i>` family, in order.");
    let element = syn::Ident::new("value", name.span());
    let (element_ty, element_convert) = input(key, &element);
    let element_pushed = wrap(element_convert);
    let mut setters = quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #line]
        pub fn #name(mut self, #name: #arg_ty) -> #returns {
            self.#name.push(#pushed);
            #body
        }
        #[doc = #family_line]
        pub fn #plural(mut self, #plural: impl ::core::iter::IntoIterator<Item = #element_ty>) -> #returns {
            for #element in #plural {
                self.#name.push(#element_pushed);
            }
            #body
        }
    };
    if key.optional_elements {
        let maybe = format_ident!("maybe_{name}");
        let value_ty = &key.value_ty;
        let line = format!("Appends one `{name}_<i>` that may be `None` (a stage without one).");
        setters.extend(quote! {
            #[doc = #line]
            pub fn #maybe(mut self, #name: ::core::option::Option<#value_ty>) -> #returns {
                self.#name.push(#name);
                #body
            }
        });
    }
    setters
}

fn engine_setter(trainer: &Trainer, names: &Names, members: &[Member], member: &Member) -> TokenStream {
    let krate = &trainer.crate_path;
    let bound = once_bound(names, member);
    if member.field == "dataset" {
        let (returns, body) =
            advance(names, members, member, quote!(::core::option::Option::Some(::std::sync::Arc::new(dataset))));
        quote! {
            /// The training data; required.
            pub fn dataset(self, dataset: impl #krate::data::Dataset + 'static) -> #returns where #bound { #body }
        }
    } else {
        let (returns, body) = advance(names, members, member, quote!(::core::option::Option::Some(batch_size)));
        quote! {
            /// Samples per iteration; required. The loader drops the last incomplete batch, as PML's does.
            pub fn batch_size(self, batch_size: usize) -> #returns where #bound { #body }
        }
    }
}
