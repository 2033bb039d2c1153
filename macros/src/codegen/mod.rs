// Emits everything a declaration stands for. One file per generated artefact:
//   keys.rs          the key enums (`<T>Key`, `<T>Loss`) that freezing and weights are typed by
//   loss_values.rs   the loss values one iteration computes (`<T>LossValues`)
//   builder/         the type-state builder: its state module, setters and `build()`
//   trainer_impl.rs  `impl TrainerKeys`, the engine's view of the keys and their roles
//   step.rs          `impl Step` for a pipeline trainer (`#[trainer(embeddings = ...)]`)
//   declared.rs      `impl Declared`: the keys as data, and the keys' struct from values by name
//   fallback.rs      the struct re-emitted without our attributes
//
// In `Mode::StandIn` (the declaration has errors) the same items are emitted from the keys that
// parsed, with bodies that never run, so that the errors reported are the declaration's own.

mod builder;
mod declared;
mod fallback;
mod keys;
mod loss_values;
mod step;
mod trainer_impl;

pub use fallback::fallback_struct;

use crate::model::{camel_case, Trainer};
use crate::parse::Input;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A valid declaration: the real items.
    Real,
    /// A declaration with errors: items with the right names and types, whose bodies never run
    /// (the crate does not compile anyway).
    StandIn,
}

pub fn emit(input: &Input, trainer: &Trainer, mode: Mode) -> TokenStream {
    let mut item = fallback::strip_key_attributes(input);
    allow_unread_inline_losses(&mut item, trainer);
    let names = Names::new(trainer);
    let keys = keys::emit(trainer, &names);
    let loss_values = loss_values::emit(trainer, &names);
    let builder = builder::emit(trainer, &names, mode);
    let trainer_impl = trainer_impl::emit(trainer, &names);
    let step = step::emit(trainer, &names, mode);
    // A declaration with errors does not compile anyway; its keys by name would only add errors.
    let declared = if mode == Mode::Real { declared::emit(trainer, &names) } else { TokenStream::new() };
    quote! {
        #item
        #keys
        #loss_values
        #builder
        #trainer_impl
        #step
        #declared
    }
}

/// An inline loss's field only names the loss; nothing reads its value, and the user should not
/// get a dead-code warning for declaring it.
fn allow_unread_inline_losses(item: &mut syn::ItemStruct, trainer: &Trainer) {
    let syn::Fields::Named(named) = &mut item.fields else { return };
    for field in named.named.iter_mut() {
        if trainer.keys.iter().any(|k| k.inline && field.ident.as_ref() == Some(&k.ident)) {
            field.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
        }
    }
}

/// The names of generated items, derived once from the trainer's name.
pub struct Names {
    pub key_enum: syn::Ident,
    pub loss_enum: syn::Ident,
    pub loss_values: syn::Ident,
    pub builder: syn::Ident,
    /// The hidden module with the builder's type-state (`metric_loss_only_builder`).
    pub state_module: syn::Ident,
}

impl Names {
    fn new(trainer: &Trainer) -> Names {
        let t = trainer.ident;
        Names {
            key_enum: format_ident!("{t}Key"),
            loss_enum: format_ident!("{t}Loss"),
            loss_values: format_ident!("{t}LossValues"),
            builder: format_ident!("{t}Builder"),
            state_module: format_ident!("{}_builder", snake_case(&t.to_string())),
        }
    }
}

/// `metric_loss_only` for `MetricLossOnly`.
fn snake_case(camel: &str) -> String {
    let mut snake = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// `BatchSize` for `batch_size`.
fn member_name(snake: &str) -> syn::Ident {
    format_ident!("{}", camel_case(snake))
}
