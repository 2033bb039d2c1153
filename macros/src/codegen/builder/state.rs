// The hidden `<trainer>_builder` module: the builder's state as one type. `State` has one
// associated type per member, `Set` or `Unset`; `Empty` has every member unset, and
// `Set<Member><S>` is `S` with one member set. The per-member traits carry the messages a user
// reads: `<Member>IsSet` (bound on `build()`: "trainer `X` is missing its required loss `y`") and
// `<Member>IsUnset` (bound on the setter: "`y` is already set on this `X` builder"). Their only
// impls are `#[diagnostic::do_not_recommend]`, so rustc does not add "the trait is implemented
// for `Set`".

use super::Member;
use crate::codegen::Names;
use crate::model::Trainer;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn emit(trainer: &Trainer, names: &Names, members: &[Member]) -> TokenStream {
    let krate = &trainer.crate_path;
    let vis = trainer.vis;
    let module = &names.state_module;
    let t = trainer.name();
    let member_names: Vec<&syn::Ident> = members.iter().map(|m| &m.name).collect();
    let transitions = members.iter().map(|changed| {
        let set = format_ident!("Set{}", changed.name);
        let assoc = members.iter().map(|m| {
            let name = &m.name;
            if m.name == changed.name {
                quote!(type #name = #krate::builder::Set;)
            } else {
                quote!(type #name = S::#name;)
            }
        });
        let doc = format!("`S` with `{}` set.", changed.field);
        quote! {
            #[doc = #doc]
            pub struct #set<S>(::core::marker::PhantomData<fn() -> S>);
            impl<S: State> sealed::Sealed for #set<S> {}
            impl<S: State> State for #set<S> { #(#assoc)* }
        }
    });
    let summary = trainer.requirement_summary();
    let traits = members.iter().map(|m| {
        let field = &m.field;
        let mut items = TokenStream::new();
        if m.required {
            let is_set = format_ident!("{}IsSet", m.name);
            let (message, note) = match m.key {
                Some(key) => (
                    format!("trainer `{t}` is missing its required {} `{field}`", key.kind.word()),
                    format!("call `.{field}(...)` before `.build()`; `{t}` requires {summary}"),
                ),
                None => (
                    format!("trainer `{t}` has no {}", field.to_string().replace('_', " ")),
                    format!("call `.{field}(...)` before `.build()`; every trainer needs a dataset and a batch size"),
                ),
            };
            let label = format!("`{field}` was never set");
            items.extend(quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                pub trait #is_set {}
                #[diagnostic::do_not_recommend]
                impl #is_set for #krate::builder::Set {}
            });
        }
        if m.once {
            let is_unset = format_ident!("{}IsUnset", m.name);
            let message = format!("`{field}` is already set on this `{t}` builder");
            let label = format!("`{field}` set a second time here");
            let note = format!("a key takes one value: remove one of the calls that set `{field}`");
            items.extend(quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                pub trait #is_unset {}
                #[diagnostic::do_not_recommend]
                impl #is_unset for #krate::builder::Unset {}
            });
        }
        items
    });
    let refusals = super::per_key::refusal_traits(trainer);
    let doc = format!("The type-state of [`{}`](super::{}); an implementation detail.", names.builder, names.builder);
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #vis mod #module {
            mod sealed {
                pub trait Sealed {}
            }

            /// Which members of the builder are set; implemented only by this module's types.
            pub trait State: sealed::Sealed {
                #(type #member_names;)*
            }

            /// Nothing set yet.
            pub struct Empty(());
            impl sealed::Sealed for Empty {}
            impl State for Empty {
                #(type #member_names = #krate::builder::Unset;)*
            }

            #(#transitions)*
            #(#traits)*
            #refusals
        }
    }
}
