// The type-state builder. Each required key is a type parameter that starts as `Unset` and
// becomes `Set<T>` when its setter runs; `build()` is bounded by one trait per required key,
// implemented only for `Set<T>`. A forgotten key therefore fails to compile at `.build()`, one
// error per key, with a message written for the user (`#[diagnostic::on_unimplemented]`) and
// none of the "implemented for `Set`" noise (`#[diagnostic::do_not_recommend]`). The bounds sit
// directly on `build()`; an `IsComplete`-style blanket trait would add "required for ..." notes.

use super::Names;
use crate::model::{Key, Presence, Trainer};
use crate::symbol::ENGINE_MINER_SLOTS;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One entry of the type-state: a required key, or the dataset or batch size the engine needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Key,
    Dataset,
    BatchSize,
}

struct Requirement {
    source: Source,
    field: syn::Ident,
    param: syn::Ident,
    bound: syn::Ident,
    value_ty: TokenStream,
    message: String,
    label: String,
    note: String,
}

pub fn emit(trainer: &Trainer, names: &Names) -> TokenStream {
    let krate = &trainer.crate_path;
    let vis = trainer.vis;
    let ident = trainer.ident;
    let builder = &names.builder;
    let requirements = requirements(trainer);
    let params: Vec<&syn::Ident> = requirements.iter().map(|r| &r.param).collect();

    let required_fields = requirements.iter().map(|r| {
        let (field, param) = (&r.field, &r.param);
        quote! { #field: #param }
    });
    let optional_keys: Vec<&Key> =
        trainer.keys.iter().filter(|k| k.has_setter() && k.presence != Presence::Required).collect();
    let optional_fields = optional_keys.iter().map(|key| {
        let (name, ty) = (&key.ident, &key.ty);
        match key.presence {
            Presence::Optional => quote! { #name: #ty },
            _ => quote! { #name: ::core::option::Option<#ty> },
        }
    });
    let unset_required = requirements.iter().map(|r| {
        let field = &r.field;
        quote! { #field: #krate::builder::Unset }
    });
    let unset_optional = optional_keys.iter().map(|key| {
        let name = &key.ident;
        quote! { #name: ::core::option::Option::None }
    });

    let key_setters = trainer.keys.iter().filter(|k| k.has_setter()).map(|key| key_setter(trainer, names, key, &requirements));
    let engine_setters = requirements.iter().filter(|r| r.source != Source::Key).map(|r| engine_setter(trainer, names, r, &requirements));
    let per_key = trainer.parameter_keys().map(|key| per_key_setters(trainer, names, key));
    let refused = refused_miner_slots(trainer);
    let build = build(trainer, &requirements);
    let traits = requirements.iter().map(|r| requirement_trait(trainer, r));
    let refusal_traits = refusal_traits(trainer);

    let doc = format!(
        "Builds a [`{ident}`]: one setter per key, per-key optimizers, schedulers and clippers, \
         and the engine's parameters. `build()` compiles only once every required key is set."
    );
    quote! {
        #[doc = #doc]
        #[must_use = "a builder does nothing until `.build()`"]
        #vis struct #builder<#(#params = #krate::builder::Unset),*> {
            #(#required_fields,)*
            #(#optional_fields,)*
            __engine: #krate::engine::EngineBuilder<#ident>,
        }

        impl #ident {
            /// Starts a builder with no key set.
            #vis fn builder() -> #builder {
                #builder {
                    #(#unset_required,)*
                    #(#unset_optional,)*
                    __engine: #krate::engine::EngineBuilder::new(),
                }
            }
        }

        impl<#(#params),*> #builder<#(#params),*> {
            #(#key_setters)*
            #(#engine_setters)*
            #(#per_key)*
            #refused
            #krate::__engine_setters!(#ident);
            #build
        }

        #(#traits)*
        #refusal_traits
    }
}

fn requirements(trainer: &Trainer) -> Vec<Requirement> {
    let t = trainer.name();
    let summary = trainer.requirement_summary();
    let mut list: Vec<Requirement> = trainer
        .required()
        .map(|key| {
            let ty = &key.ty;
            let name = &key.ident;
            Requirement {
                source: Source::Key,
                field: name.clone(),
                param: format_ident!("__{}", key.variant()),
                bound: format_ident!("{t}Needs{}", key.variant()),
                value_ty: quote!(#ty),
                message: format!("trainer `{t}` is missing its required {} `{name}`", key.kind.word()),
                label: format!("`{name}` was never set"),
                note: format!("call `.{name}(...)` before `.build()`; `{t}` requires {summary}"),
            }
        })
        .collect();
    let krate = &trainer.crate_path;
    for (source, field, what, ty) in [
        (Source::Dataset, "dataset", "dataset", quote!(::std::sync::Arc<dyn #krate::data::Dataset>)),
        (Source::BatchSize, "batch_size", "batch size", quote!(usize)),
    ] {
        let camel = camel_case(field);
        list.push(Requirement {
            source,
            field: format_ident!("__{field}"),
            param: format_ident!("__{camel}"),
            bound: format_ident!("{t}Needs{camel}"),
            value_ty: ty,
            message: format!("trainer `{t}` has no {what}"),
            label: format!("`{field}` was never set"),
            note: format!("call `.{field}(...)` before `.build()`; every trainer needs a dataset and a batch size"),
        });
    }
    list
}

/// The builder type with one type parameter replaced by `Set<T>`.
fn builder_with(names: &Names, requirements: &[Requirement], replaced: &syn::Ident, krate: &syn::Path) -> TokenStream {
    let builder = &names.builder;
    let args = requirements.iter().map(|r| {
        if &r.param == replaced {
            let ty = &r.value_ty;
            quote!(#krate::builder::Set<#ty>)
        } else {
            let p = &r.param;
            quote!(#p)
        }
    });
    quote!(#builder<#(#args),*>)
}

/// Every field moved into a new builder, with `changed` given a new value.
fn rebuild(names: &Names, trainer: &Trainer, requirements: &[Requirement], changed: &syn::Ident, value: TokenStream) -> TokenStream {
    let builder = &names.builder;
    let moved = requirements
        .iter()
        .map(|r| &r.field)
        .chain(trainer.keys.iter().filter(|k| k.has_setter() && k.presence != Presence::Required).map(|k| &k.ident))
        .filter(|f| *f != changed)
        .map(|f| quote!(#f: self.#f));
    quote! { #builder { #changed: #value, #(#moved,)* __engine: self.__engine } }
}

fn key_setter(trainer: &Trainer, names: &Names, key: &Key, requirements: &[Requirement]) -> TokenStream {
    let krate = &trainer.crate_path;
    let name = &key.ident;
    let value_ty = &key.value_ty;
    let (arg_ty, convert) = if key.indexed {
        (
            quote!(impl ::core::iter::IntoIterator<Item = #value_ty>),
            quote!(::core::iter::Iterator::collect::<::std::vec::Vec<#value_ty>>(::core::iter::IntoIterator::into_iter(#name))),
        )
    } else if key.kind == crate::model::KeyKind::Param {
        // The exact type, so that a literal infers it (`.epochs(1)` for a `usize`), which
        // `impl Into<usize>` would not.
        (quote!(#value_ty), quote!(#name))
    } else {
        (quote!(impl ::core::convert::Into<#value_ty>), quote!(::core::convert::Into::into(#name)))
    };
    let doc = match (&key.presence, key.indexed) {
        (_, true) => format!("Sets the {} `{name}_<i>`, one value per index.", key.kind.word()),
        (Presence::Required, _) => format!("Sets the required {} `{name}`.", key.kind.word()),
        _ => format!("Sets the optional {} `{name}`.", key.kind.word()),
    };
    match key.presence {
        Presence::Required => {
            let param = format_ident!("__{}", key.variant());
            let returns = builder_with(names, requirements, &param, krate);
            let body = rebuild(names, trainer, requirements, name, quote!(#krate::builder::Set(#convert)));
            quote! {
                #[doc = #doc]
                pub fn #name(self, #name: #arg_ty) -> #returns { #body }
            }
        }
        _ => quote! {
            #[doc = #doc]
            pub fn #name(mut self, #name: #arg_ty) -> Self {
                self.#name = ::core::option::Option::Some(#convert);
                self
            }
        },
    }
}

fn engine_setter(trainer: &Trainer, names: &Names, r: &Requirement, requirements: &[Requirement]) -> TokenStream {
    let krate = &trainer.crate_path;
    let returns = builder_with(names, requirements, &r.param, krate);
    if r.source == Source::Dataset {
        let body = rebuild(names, trainer, requirements, &r.field, quote!(#krate::builder::Set(::std::sync::Arc::new(dataset))));
        quote! {
            /// The training data; required.
            pub fn dataset(self, dataset: impl #krate::data::Dataset + 'static) -> #returns { #body }
        }
    } else {
        let body = rebuild(names, trainer, requirements, &r.field, quote!(#krate::builder::Set(batch_size)));
        quote! {
            /// Samples per iteration; required. The loader drops the last incomplete batch, as PML's does.
            pub fn batch_size(self, batch_size: usize) -> #returns { #body }
        }
    }
}

/// `trunk_optimizer`, `trunk_scheduler_by_epoch`, `trunk_grad_clipper`, ...: PML's key suffixes,
/// as methods, so a misspelt one does not compile.
fn per_key_setters(trainer: &Trainer, names: &Names, key: &Key) -> TokenStream {
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
    let schedulers = [("iteration", "Iteration"), ("epoch", "Epoch"), ("plateau", "Plateau")].map(|(suffix, step)| {
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

/// A trainer without `subset_batch_miner` (or `tuple_miner`) still gets the method, bounded by a
/// trait nothing implements, so that setting it fails with "does not accept" instead of
/// "no method named ... found for struct `...Builder<Set<Model>, Unset, ...>`".
fn refused_miner_slots(trainer: &Trainer) -> TokenStream {
    let methods = refused_slots(trainer).map(|(slot, refusal)| {
        let method = format_ident!("{slot}");
        quote! {
            #[doc(hidden)]
            pub fn #method<M: #refusal>(self, miner: M) -> Self {
                let _ = miner;
                self
            }
        }
    });
    quote! { #(#methods)* }
}

/// The traits `refused_miner_slots` bounds its methods by; implemented by nothing.
fn refusal_traits(trainer: &Trainer) -> TokenStream {
    let t = trainer.name();
    let vis = trainer.vis;
    let traits = refused_slots(trainer).map(|(slot, refusal)| {
        let message = format!("trainer `{t}` does not accept a `{slot}`");
        let label = format!("`{t}` has no `{slot}` slot");
        let note = format!("`{t}` declares no `#[miner] {slot}`; remove this call or use a trainer that declares one");
        quote! {
            #[doc(hidden)]
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            #vis trait #refusal {}
        }
    });
    quote! { #(#traits)* }
}

/// The engine's miner slots this trainer does not declare, with the name of their refusal trait.
fn refused_slots<'a>(trainer: &'a Trainer) -> impl Iterator<Item = (&'static str, syn::Ident)> + 'a {
    ENGINE_MINER_SLOTS.iter().filter(|slot| !trainer.has_key(slot)).map(move |slot| {
        (*slot, format_ident!("{}Refuses{}", trainer.ident, camel_case(slot)))
    })
}

fn camel_case(snake: &str) -> String {
    snake.split('_').filter(|p| !p.is_empty()).map(|p| p[..1].to_uppercase() + &p[1..]).collect()
}

fn build(trainer: &Trainer, requirements: &[Requirement]) -> TokenStream {
    let krate = &trainer.crate_path;
    let ident = trainer.ident;
    let bounds = requirements.iter().map(|r| {
        let (param, bound) = (&r.param, &r.bound);
        quote!(#param: #bound)
    });
    let fields = trainer.keys.iter().map(|key| {
        let name = &key.ident;
        if key.inline {
            return quote!(#name: ::core::default::Default::default());
        }
        match &key.presence {
            Presence::Required => {
                let bound = requirements.iter().find(|r| &r.field == name).map(|r| &r.bound);
                quote!(#name: #bound::into_value(self.#name))
            }
            Presence::Optional => quote!(#name: self.#name),
            Presence::Default(default) => quote!(#name: self.#name.unwrap_or_else(|| #default)),
        }
    });
    let bound_of = |source: Source| requirements.iter().find(|r| r.source == source).map(|r| &r.bound);
    let (dataset_bound, batch_bound) = (bound_of(Source::Dataset), bound_of(Source::BatchSize));
    quote! {
        /// Checks what only run time can check (the dataset against the batch size and the
        /// sampler, the trainer's own rules), then returns the trainer, ready for `train`.
        ///
        /// # Errors
        /// When such a check fails; the error says what was expected and what was found.
        pub fn build(self) -> #krate::Result<#krate::engine::Trainer<#ident>>
        where
            #(#bounds,)*
        {
            let keys = #ident { #(#fields,)* };
            let dataset = #dataset_bound::into_value(self.__dataset);
            let batch_size = #batch_bound::into_value(self.__batch_size);
            self.__engine.build(keys, dataset, batch_size)
        }
    }
}

fn requirement_trait(trainer: &Trainer, r: &Requirement) -> TokenStream {
    let krate = &trainer.crate_path;
    let vis = trainer.vis;
    let (bound, ty) = (&r.bound, &r.value_ty);
    let (message, label, note) = (&r.message, &r.label, &r.note);
    quote! {
        #[doc(hidden)]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        #vis trait #bound {
            #[doc(hidden)]
            fn into_value(self) -> #ty;
        }

        #[diagnostic::do_not_recommend]
        impl #bound for #krate::builder::Set<#ty> {
            fn into_value(self) -> #ty { self.0 }
        }
    }
}
