// `#[trainer]`, `#[trainer(embeddings = trunk -> embedder)]`, `#[trainer(crate = path)]`.

use crate::ctxt::Ctxt;
use crate::symbol::{CONTAINER_OPTIONS, CRATE, EMBEDDINGS};
use crate::validate::suggest;
use proc_macro2::TokenStream;
use syn::parse::Parser;

#[derive(Default)]
pub struct ContainerArgs {
    /// Where the runtime crate lives, for re-exports; `::metric_learning` when absent.
    pub crate_path: Option<syn::Path>,
    /// The models that make the embeddings, in order: present on a pipeline trainer, whose
    /// step the macro writes.
    pub embeddings: Option<EmbeddingChain>,
}

/// `embeddings = trunk -> embedder`, as written.
pub struct EmbeddingChain {
    pub models: Vec<syn::Ident>,
}

impl ContainerArgs {
    pub fn parse(cx: &Ctxt, args: TokenStream) -> ContainerArgs {
        let mut parsed = ContainerArgs::default();
        let parser = syn::meta::parser(|meta| {
            let word = meta.path.get_ident().cloned();
            if meta.path.is_ident(CRATE) {
                if parsed.crate_path.is_some() {
                    return Err(meta.error("duplicate trainer option `crate`"));
                }
                parsed.crate_path = Some(meta.value()?.parse()?);
                Ok(())
            } else if word.is_some_and(|w| w == EMBEDDINGS) {
                if parsed.embeddings.is_some() {
                    return Err(meta.error("duplicate trainer option `embeddings`"));
                }
                let input = meta.value()?;
                let mut models = vec![input.parse::<syn::Ident>()?];
                while input.peek(syn::Token![->]) {
                    input.parse::<syn::Token![->]>()?;
                    models.push(input.parse()?);
                }
                parsed.embeddings = Some(EmbeddingChain { models });
                Ok(())
            } else {
                let written = path_text(&meta.path);
                let hint = suggest::did_you_mean(&written, CONTAINER_OPTIONS)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("a trainer takes {}", suggest::list(CONTAINER_OPTIONS)));
                Err(meta.error(format_args!("unknown trainer option `{written}`; {hint}")))
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
