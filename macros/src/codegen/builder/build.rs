// `build()`: bounded by `<Member>IsSet` for every required member, each bound spanned at its
// key, so that rustc's "required by this bound" points at the declaration of the missing key.

use super::Member;
use crate::codegen::{Mode, Names};
use crate::model::{Presence, Trainer};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

pub fn emit(trainer: &Trainer, names: &Names, members: &[Member], mode: Mode) -> TokenStream {
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    let module = &names.state_module;
    let bounds = members.iter().filter(|m| m.required).map(|m| {
        // Spanned at the key, so that rustc's "required by this bound" shows its declaration.
        let span = m.key.map_or_else(proc_macro2::Span::call_site, |k| k.ident.span());
        let (name, is_set) = (&m.name, format_ident!("{}IsSet", m.name, span = span));
        let module = syn::Ident::new(&module.to_string(), span);
        quote_spanned!(span=> S::#name: #module::#is_set)
    });
    // A trainer with neither a pipeline nor an `impl Step` cannot build: this bound makes that
    // one error, "trainer `X` has no step", where `.build()` is called (the lifetime keeps rustc
    // from checking it at the declaration). Stand-ins leave it out, so that a declaration error
    // is not followed by this one.
    let step_bound = match mode {
        Mode::Real => quote!(#ident: #krate::builder::Stepped<'__trainer_build>,),
        Mode::StandIn => TokenStream::new(),
    };
    let body = match mode {
        Mode::StandIn => quote!(::core::unreachable!()),
        Mode::Real => {
            let fields = trainer.keys.iter().map(|key| {
                let name = &key.ident;
                if key.inline {
                    return quote!(#name: ::core::default::Default::default());
                }
                match (&key.presence, key.indexed) {
                    (Presence::Required, false) => quote!(#name: #krate::builder::set_value(self.#name)),
                    (Presence::Required, true) => quote!(#name: self.#name),
                    (Presence::Optional, false) => quote!(#name: self.#name),
                    (Presence::Optional, true) => quote!(#name: (!self.#name.is_empty()).then_some(self.#name)),
                    (Presence::Default(default), false) => quote!(#name: self.#name.unwrap_or_else(|| #default)),
                    (Presence::Default(default), true) => {
                        quote!(#name: if self.#name.is_empty() { #default } else { self.#name })
                    }
                }
            });
            quote! {
                let keys = #ident { #(#fields,)* };
                let dataset = #krate::builder::set_value(self.dataset);
                let batch_size = #krate::builder::set_value(self.batch_size);
                <#ident as #krate::builder::Stepped<'__trainer_build>>::build_trainer(self.__engine, keys, dataset, batch_size)
            }
        }
    };
    quote! {
        /// Checks what only run time can check (the dataset against the batch size and the
        /// sampler, devices and dtypes, the models on one sample, the trainer's own rules), then
        /// returns the trainer, ready for `train`.
        ///
        /// # Errors
        /// When such a check fails; the error names the key and says what was expected and what
        /// was found.
        pub fn build<'__trainer_build>(self) -> #krate::Result<#krate::engine::Trainer<#ident>>
        where
            #step_bound
            #(#bounds,)*
        {
            #body
        }
    }
}
