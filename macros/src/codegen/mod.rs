// Emits everything a declaration stands for. One file per generated artefact:
//   keys.rs          the key enums (`<T>Key`, `<T>Loss`) that freezing and weights are typed by
//   losses.rs        the loss record the step fills (`<T>Losses`)
//   builder.rs       the type-state builder, its missing-key traits and refused miner slots
//   trainer_impl.rs  `impl TrainerKeys`, the engine's view of the keys
//   fallback.rs      what is emitted instead when the declaration has errors

mod builder;
mod fallback;
mod keys;
mod losses;
mod trainer_impl;

pub use fallback::fallback;

use crate::model::Trainer;
use crate::parse::Input;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn emit(input: &Input, trainer: &Trainer) -> TokenStream {
    let mut item = fallback::strip_key_attributes(input);
    allow_unread_inline_losses(&mut item, trainer);
    let names = Names::new(trainer);
    let keys = keys::emit(trainer, &names);
    let losses = losses::emit(trainer, &names);
    let builder = builder::emit(trainer, &names);
    let trainer_impl = trainer_impl::emit(trainer, &names);
    quote! {
        #item
        #keys
        #losses
        #builder
        #trainer_impl
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
    pub losses: syn::Ident,
    pub builder: syn::Ident,
}

impl Names {
    fn new(trainer: &Trainer) -> Names {
        let t = trainer.ident;
        Names {
            key_enum: format_ident!("{t}Key"),
            loss_enum: format_ident!("{t}Loss"),
            losses: format_ident!("{t}Losses"),
            builder: format_ident!("{t}Builder"),
        }
    }
}
