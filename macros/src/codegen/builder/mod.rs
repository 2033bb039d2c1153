// The type-state builder, on bon's model: one state parameter `S` (a type from the trainer's
// hidden `<trainer>_builder` module) records which keys are set. A setter exists only while its
// key is unset, so setting a key twice does not compile; `build()` requires every required key
// set, one error per missing key, with a message written for the user
// (`#[diagnostic::on_unimplemented]`). The bounds sit directly on the methods: an `IsComplete`
// blanket trait would add "required for ..." notes.
//
//   state.rs     the hidden module: `State`, `Empty`, `Set<Member><S>`, the per-key traits
//   setters.rs   one setter per key (`maybe_` for optional keys, push and family for indexed)
//   per_key.rs   `<key>_optimizer`, `_scheduler_by_*`, `_grad_clipper`, and their refusals
//   refusals.rs  the miner setters a trainer does not declare, refused with a readable error
//   build.rs     `build()`

mod build;
mod per_key;
mod refusals;
mod setters;
mod state;

use super::{member_name, Mode, Names};
use crate::model::{Key, Presence, Trainer};
use proc_macro2::TokenStream;
use quote::quote;

/// One member of the type-state: a key with a setter, or the dataset or batch size.
pub struct Member<'a> {
    /// The builder's field, also the setter's name.
    pub field: syn::Ident,
    /// `Trunk`: the state's associated type and the stem of its traits.
    pub name: syn::Ident,
    pub key: Option<&'a Key>,
    /// `build()` needs it.
    pub required: bool,
    /// Its setter may run once (every member but an indexed family, whose setter appends).
    pub once: bool,
    /// What the builder holds for it.
    pub stored_ty: TokenStream,
}

pub fn emit(trainer: &Trainer, names: &Names, mode: Mode) -> TokenStream {
    let krate = &trainer.crate_path;
    let vis = trainer.vis;
    let ident = trainer.ident;
    let builder = &names.builder;
    let module = &names.state_module;
    let members = members(trainer);

    let fields = members.iter().map(|m| {
        let (field, ty) = (&m.field, &m.stored_ty);
        quote!(#field: #ty)
    });
    let empty_fields = members.iter().map(|m| {
        let field = &m.field;
        if m.key.is_some_and(|k| k.indexed) {
            quote!(#field: ::std::vec::Vec::new())
        } else {
            quote!(#field: ::core::option::Option::None)
        }
    });
    let state = state::emit(trainer, names, &members);
    let setters = setters::emit(trainer, names, &members);
    let per_key = per_key::emit(trainer, names);
    let refusals = refusals::emit(trainer);
    let build = build::emit(trainer, names, &members, mode);
    let doc = format!(
        "Builds a [`{ident}`]: one setter per key, per-key optimizers, schedulers and clippers, \
         and the engine's parameters. `build()` compiles only once every required key is set, \
         and each key can be set once."
    );
    quote! {
        #state

        #[doc = #doc]
        #[must_use = "a builder does nothing until `.build()`"]
        #vis struct #builder<S: #module::State = #module::Empty> {
            #(#fields,)*
            __engine: #krate::engine::EngineBuilder<#ident>,
            __state: ::core::marker::PhantomData<fn() -> S>,
        }

        impl #ident {
            /// Starts a builder with no key set.
            #vis fn builder() -> #builder {
                #builder {
                    #(#empty_fields,)*
                    __engine: #krate::engine::EngineBuilder::new(),
                    __state: ::core::marker::PhantomData,
                }
            }
        }

        impl<S: #module::State> #builder<S> {
            #setters
            #per_key
            #refusals
            #krate::__engine_setters!(#ident);
            #build
        }
    }
}

fn members<'a>(trainer: &'a Trainer) -> Vec<Member<'a>> {
    let krate = &trainer.crate_path;
    let mut members: Vec<Member> = trainer
        .keys
        .iter()
        .filter(|k| k.has_setter())
        .map(|key| {
            let value_ty = &key.value_ty;
            let element = if key.optional_elements { quote!(::core::option::Option<#value_ty>) } else { quote!(#value_ty) };
            Member {
                field: key.ident.clone(),
                name: key.variant(),
                key: Some(key),
                required: key.presence == Presence::Required,
                once: !key.indexed,
                stored_ty: if key.indexed { quote!(::std::vec::Vec<#element>) } else { quote!(::core::option::Option<#element>) },
            }
        })
        .collect();
    for (field, ty) in [
        ("dataset", quote!(::std::sync::Arc<dyn #krate::data::Dataset>)),
        ("batch_size", quote!(usize)),
    ] {
        members.push(Member {
            field: syn::Ident::new(field, proc_macro2::Span::call_site()),
            name: member_name(field),
            key: None,
            required: true,
            once: true,
            stored_ty: quote!(::core::option::Option<#ty>),
        });
    }
    members
}

/// The builder with one member's field replaced and the state advanced to `Set<Member><S>`.
fn advance(names: &Names, members: &[Member], changed: &Member, value: TokenStream) -> (TokenStream, TokenStream) {
    let (builder, module) = (&names.builder, &names.state_module);
    let set = quote::format_ident!("Set{}", changed.name);
    let moved = members.iter().map(|m| {
        let field = &m.field;
        if m.field == changed.field {
            quote!(#field: #value)
        } else {
            quote!(#field: self.#field)
        }
    });
    let ty = quote!(#builder<#module::#set<S>>);
    let body = quote! {
        #builder { #(#moved,)* __engine: self.__engine, __state: ::core::marker::PhantomData }
    };
    (ty, body)
}
