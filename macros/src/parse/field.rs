// One field: its key attributes (`#[model(...)]`, `#[loss(...)]`, ...) split from the attributes
// that belong to the user (doc comments, `#[allow]`, and anything else), which are kept as is.

use crate::ctxt::Ctxt;
use crate::symbol::KEY_KINDS;
use syn::spanned::Spanned;

pub struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    /// Attributes naming a key kind. More than one is an error found in `model`.
    pub key_attrs: Vec<KeyAttr>,
    /// Every other attribute, re-emitted unchanged.
    pub other_attrs: Vec<syn::Attribute>,
}

/// `#[loss(weight = 0.5)]`: the kind as written and its options.
pub struct KeyAttr {
    pub kind: syn::Ident,
    pub options: Vec<KeyOption>,
}

/// `optional`, `weight = 0.5`, `optional = Model::identity()`.
pub struct KeyOption {
    pub name: syn::Ident,
    pub value: Option<syn::Expr>,
}

impl Field {
    pub fn parse(cx: &Ctxt, field: &syn::Field) -> Field {
        let mut key_attrs = Vec::new();
        let mut other_attrs = Vec::new();
        for attr in &field.attrs {
            match attr.path().get_ident().filter(|id| KEY_KINDS.contains(&id.to_string().as_str())) {
                Some(kind) => key_attrs.push(KeyAttr { kind: kind.clone(), options: parse_options(cx, attr) }),
                None => other_attrs.push(attr.clone()),
            }
        }
        Field {
            // Named fields always have an ident; `Input` only parses named fields.
            ident: field.ident.clone().unwrap_or_else(|| syn::Ident::new("_", field.span())),
            ty: field.ty.clone(),
            key_attrs,
            other_attrs,
        }
    }
}

fn parse_options(cx: &Ctxt, attr: &syn::Attribute) -> Vec<KeyOption> {
    let mut options = Vec::new();
    if let syn::Meta::Path(_) = attr.meta {
        return options;
    }
    let result = attr.parse_nested_meta(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error("expected an option name such as `optional` or `weight = 1.0`"));
        };
        let value = if meta.input.peek(syn::Token![=]) { Some(meta.value()?.parse()?) } else { None };
        options.push(KeyOption { name, value });
        Ok(())
    });
    if let Err(error) = result {
        cx.syn_error(error);
    }
    options
}
