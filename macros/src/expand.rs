// parse -> model -> validate -> codegen, with every error collected along the way.

use crate::codegen;
use crate::ctxt::Ctxt;
use crate::model::Trainer;
use crate::parse::Input;
use crate::validate;
use proc_macro2::TokenStream;

pub fn trainer(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let Some(input) = Input::from_tokens(&cx, args, item) else {
        return match cx.check() {
            Err(errors) => codegen::fallback(None, errors),
            Ok(()) => TokenStream::new(),
        };
    };
    let trainer = Trainer::from_input(&cx, &input);
    validate::check(&cx, &input, &trainer);
    match cx.check() {
        Ok(()) => codegen::emit(&input, &trainer),
        Err(errors) => codegen::fallback(Some(&input), errors),
    }
}
