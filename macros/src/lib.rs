//! The `#[trainer]` attribute macro of `metric-learning`. Use it through the runtime crate
//! (`metric_learning::trainer`); the full guide, with all six stock trainers written in this
//! DSL, is in [`trainer`].
//!
//! The crate is laid out as its pipeline: `parse` (syntax only) -> `model` (keys, in our
//! words) -> `validate` (rules across keys) -> `codegen` (one file per generated item), with
//! every error collected in `ctxt` and reported together.

mod codegen;
mod ctxt;
mod expand;
mod model;
mod parse;
mod symbol;
mod validate;

#[doc = include_str!("../DSL.md")]
#[proc_macro_attribute]
pub fn trainer(args: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::trainer(args.into(), item.into()).into()
}
