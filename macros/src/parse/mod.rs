// Syntax only: turns the attribute's arguments and the struct into plain data, keeping every
// token's span. Nothing here judges meaning; that is `model` and `validate`. Errors go into the
// `Ctxt` and parsing carries on, so that one run reports everything (serde's contract).

mod container;
mod field;

pub use container::ContainerArgs;
pub use container::EmbeddingChain;
pub use field::{Field, KeyAttr, KeyOption};

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;

/// The `#[trainer(...)]` item as written.
pub struct Input {
    pub args: ContainerArgs,
    pub item: syn::ItemStruct,
    pub fields: Vec<Field>,
}

impl Input {
    /// `None` only when the item is not a struct at all; the error is then in `cx`.
    pub fn from_tokens(cx: &Ctxt, args: TokenStream, item: TokenStream) -> Option<Input> {
        let item: syn::ItemStruct = match syn::parse2(item) {
            Ok(item) => item,
            Err(error) => {
                cx.syn_error(syn::Error::new(
                    error.span(),
                    "`#[trainer]` goes on a struct whose named fields are the trainer's keys",
                ));
                return None;
            }
        };
        let args = ContainerArgs::parse(cx, args);
        let fields = match &item.fields {
            syn::Fields::Named(named) => named.named.iter().map(|f| Field::parse(cx, f)).collect(),
            other => {
                cx.error_spanned_by(
                    other,
                    "a trainer's keys are named fields: write `struct Name { #[model] trunk: Model, ... }`",
                );
                Vec::new()
            }
        };
        Some(Input { args, item, fields })
    }
}

impl Input {
    /// Whether stand-in items can be generated after an error: only for the shape codegen
    /// handles (named fields, no generics); otherwise the struct alone is re-emitted.
    pub fn can_stand_in(&self) -> bool {
        matches!(self.item.fields, syn::Fields::Named(_)) && self.item.generics.params.is_empty()
    }
}
