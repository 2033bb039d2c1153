// `#[trainer]` or `#[trainer(crate = path::to::metric_learning)]`.

use crate::ctxt::Ctxt;
use crate::symbol::CRATE;
use proc_macro2::TokenStream;
use syn::parse::Parser;

#[derive(Default)]
pub struct ContainerArgs {
    /// Where the runtime crate lives, for re-exports; `::metric_learning` when absent.
    pub crate_path: Option<syn::Path>,
}

impl ContainerArgs {
    pub fn parse(cx: &Ctxt, args: TokenStream) -> ContainerArgs {
        let mut parsed = ContainerArgs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident(CRATE) {
                if parsed.crate_path.is_some() {
                    return Err(meta.error("`crate` is given twice"));
                }
                parsed.crate_path = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(format_args!(
                    "unknown trainer option `{}`; the only option is `crate = path`",
                    path_text(&meta.path)
                )))
            }
        });
        if let Err(error) = parser.parse2(args) {
            cx.syn_error(error);
        }
        parsed
    }
}

pub fn path_text(path: &syn::Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}
