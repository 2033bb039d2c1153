// parse -> model -> validate -> codegen, with every error collected along the way.
//
// On a declaration error the errors are emitted together with stand-in items (the builder, the
// key enums and the trait impls, from the keys that did parse), as clap's dummies and
// thiserror's fallback do: the user's `impl Step` and builder calls still type-check, so one
// mistake is one error rather than ten "cannot find type" cascades.

use crate::codegen::{self, Mode};
use crate::ctxt::Ctxt;
use crate::model::Trainer;
use crate::parse::Input;
use crate::validate;
use proc_macro2::TokenStream;

pub fn trainer(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let Some(input) = Input::from_tokens(&cx, args, item) else {
        return match cx.check() {
            Err(errors) => errors.to_compile_error(),
            Ok(()) => TokenStream::new(),
        };
    };
    let trainer = Trainer::from_input(&cx, &input);
    validate::check(&cx, &input, &trainer);
    match cx.check() {
        Ok(()) => codegen::emit(&input, &trainer, Mode::Real),
        Err(errors) => {
            let errors = errors.to_compile_error();
            let items = if input.can_stand_in() {
                codegen::emit(&input, &trainer, Mode::StandIn)
            } else {
                codegen::fallback_struct(&input)
            };
            quote::quote! { #items #errors }
        }
    }
}
