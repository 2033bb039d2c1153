// One key: a model, a loss, a miner or a hyper-parameter of the trainer.

use crate::ctxt::Ctxt;
use crate::parse::{Field, KeyAttr, KeyOption};
use crate::symbol::{DEFAULT, INDEXED, INLINE, INTO, LOSS, MINER, MINER_OPTION, MODEL, ON, OPTIONAL, PARAM, SUBSET_BATCH, TRUNK, WEIGHT};
use crate::validate::suggest;
use std::collections::HashSet;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyKind {
    Model,
    Loss,
    Miner,
    Param,
}

impl KeyKind {
    fn from_ident(ident: &syn::Ident) -> Option<KeyKind> {
        Some(match ident.to_string().as_str() {
            MODEL => KeyKind::Model,
            LOSS => KeyKind::Loss,
            MINER => KeyKind::Miner,
            PARAM => KeyKind::Param,
            _ => return None,
        })
    }

    /// "model", as the user's error messages say it.
    pub fn word(self) -> &'static str {
        match self {
            KeyKind::Model => "model",
            KeyKind::Loss => "loss",
            KeyKind::Miner => "miner",
            KeyKind::Param => "parameter",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            KeyKind::Model => "models",
            KeyKind::Loss => "losses",
            KeyKind::Miner => "miners",
            KeyKind::Param => "parameters",
        }
    }

    /// The options each kind accepts; anything else is an error with a suggestion.
    fn options(self) -> &'static [&'static str] {
        match self {
            KeyKind::Model => &[OPTIONAL, INDEXED, INTO, TRUNK],
            KeyKind::Loss => &[OPTIONAL, INDEXED, WEIGHT, INLINE, INTO, ON, MINER_OPTION],
            KeyKind::Miner => &[OPTIONAL, INDEXED, INTO, SUBSET_BATCH],
            KeyKind::Param => &[DEFAULT, INTO],
        }
    }
}

#[derive(Clone, PartialEq, Debug)]
pub enum Presence {
    /// Must be set on the builder; a missing one is a compile error at `.build()`.
    Required,
    /// May be left unset; the field is an `Option<T>` and stays `None`.
    Optional,
    /// May be left unset; the field then takes this value.
    Default(syn::Expr),
}

/// What a setter takes for one value of the key.
#[derive(Clone)]
pub enum SetterInput {
    /// Exactly the value type: a wrong type reads "expected `X`, found `Y`".
    Exact,
    /// `impl Into<T>`, where the declaration opts in with `into`.
    Into,
    /// A field of type `Box<dyn Bounds>`: the setter takes any `impl Bounds` and boxes it.
    Boxed(syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>),
}

pub struct Key {
    pub ident: syn::Ident,
    pub kind: KeyKind,
    pub presence: Presence,
    /// One value of the key: `T` of an `Option<T>` field, the element of an indexed `Vec<T>`.
    pub value_ty: syn::Type,
    /// An indexed key whose elements are `Option<T>` (a stage without a miner): the setter
    /// wraps what it is given in `Some`.
    pub optional_elements: bool,
    pub input: SetterInput,
    /// A family `name_0, name_1, ...` held in a `Vec`, such as CascadedEmbeddings' per-stage losses.
    pub indexed: bool,
    /// A loss computed in the step without a module (DAML's `g_hard_loss`): no setter, no field value.
    pub inline: bool,
    /// The default loss weight, `1.0` when not given.
    pub weight: Option<syn::Expr>,
    /// A pipeline loss's input: `embeddings` or a model key.
    pub on: Option<syn::Ident>,
    /// A pipeline loss's miner.
    pub miner: Option<syn::Ident>,
    /// `#[model(trunk)]` / `#[miner(subset_batch)]`: the role is given by the declaration.
    pub role: Option<syn::Ident>,
    /// The field's doc comment, copied onto its setter.
    pub docs: Vec<syn::Attribute>,
    /// The attribute as written, for spans.
    pub attr_kind: syn::Ident,
}

impl Key {
    /// `None` when the field is not a key (reported by `validate`) or its attribute is malformed
    /// (reported here).
    pub fn from_field(cx: &Ctxt, field: &Field) -> Option<Key> {
        let (attr, rest) = field.key_attrs.split_first()?;
        for extra in rest {
            cx.error_spanned_by(
                &extra.kind,
                format_args!(
                    "field `{}` is already a {}; a key has exactly one kind",
                    field.ident,
                    KeyKind::from_ident(&attr.kind).map_or("key", KeyKind::word)
                ),
            );
        }
        let kind = KeyKind::from_ident(&attr.kind)?;
        Some(Self::from_attr(cx, field, attr, kind))
    }

    fn from_attr(cx: &Ctxt, field: &Field, attr: &KeyAttr, kind: KeyKind) -> Key {
        let mut presence = Presence::Required;
        let (mut indexed, mut inline, mut into) = (false, false, false);
        let (mut weight, mut on, mut miner, mut role) = (None, None, None, None);
        let mut seen = HashSet::new();
        for option in &attr.options {
            let name = option.name.to_string();
            if !kind.options().contains(&name.as_str()) {
                let hint = suggest::did_you_mean(&name, kind.options())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("; a {} takes {}", kind.word(), suggest::list(kind.options())));
                cx.error_spanned_by(&option.name, format_args!("unknown {} option `{name}`{hint}", kind.word()));
                continue;
            }
            // serde's rule: an option given twice is a mistake, not "the last one wins".
            if !seen.insert(name.clone()) {
                cx.error_spanned_by(&option.name, format_args!("duplicate {} option `{name}`", kind.word()));
                continue;
            }
            match (name.as_str(), &option.value) {
                (OPTIONAL, None) => presence = Presence::Optional,
                (OPTIONAL | DEFAULT, Some(value)) => presence = Presence::Default(value.clone()),
                (INDEXED, None) => indexed = true,
                (INLINE, None) => inline = true,
                (INTO, None) => into = true,
                (TRUNK | SUBSET_BATCH, None) => role = Some(option.name.clone()),
                (WEIGHT, Some(value)) => weight = Some(value.clone()),
                (ON, Some(_)) => on = ident_value(cx, option, "a model key or `embeddings`"),
                (MINER_OPTION, Some(_)) => miner = ident_value(cx, option, "a miner key"),
                (WEIGHT | DEFAULT | ON | MINER_OPTION, None) => {
                    let example = match name.as_str() {
                        ON => "on = embeddings",
                        MINER_OPTION => "miner = tuple_miner",
                        _ => "weight = 1.0",
                    };
                    cx.error_spanned_by(&option.name, format_args!("`{name}` needs a value, as in `{example}`"))
                }
                (_, Some(value)) => {
                    cx.error_spanned_by(value, format_args!("`{name}` takes no value; write just `{name}`"))
                }
                (_, None) => unreachable!("every option of `KeyKind::options` has an arm above"),
            }
        }
        let (value_ty, optional_elements) = value_type(cx, field, &presence, indexed);
        let input = if into { SetterInput::Into } else { boxed_bounds(&value_ty).map_or(SetterInput::Exact, SetterInput::Boxed) };
        let docs = field.other_attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        Key {
            ident: field.ident.clone(),
            kind,
            presence,
            value_ty,
            optional_elements,
            input,
            indexed,
            inline,
            weight,
            on,
            miner,
            role,
            docs,
            attr_kind: attr.kind.clone(),
        }
    }

    /// Inline losses are computed by the step itself, so the builder has nothing to take.
    pub fn has_setter(&self) -> bool {
        !self.inline
    }

    /// `MetricLoss` for `metric_loss`: the variant name in the generated key enums.
    pub fn variant(&self) -> syn::Ident {
        syn::Ident::new(&camel_case(&self.ident.to_string()), self.ident.span())
    }
}

pub fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn ident_value(cx: &Ctxt, option: &KeyOption, what: &str) -> Option<syn::Ident> {
    let ident = match &option.value {
        Some(syn::Expr::Path(path)) => path.path.get_ident().cloned(),
        _ => None,
    };
    if ident.is_none() {
        cx.error_spanned_by(&option.value, format_args!("`{}` takes a name: {what}", option.name));
    }
    ident
}

/// An optional key without a default is an `Option<T>` field, and an indexed one a `Vec<T>`;
/// a setter takes one `T` (and the `U` of an indexed `Vec<Option<U>>`).
fn value_type(cx: &Ctxt, field: &Field, presence: &Presence, indexed: bool) -> (syn::Type, bool) {
    let mut ty = field.ty.clone();
    if *presence == Presence::Optional {
        match generic_argument(&ty, "Option") {
            Some(inner) => ty = inner,
            None => cx.error_spanned_by(
                &field.ty,
                format_args!(
                    "optional key `{}` has no default, so its type must be `Option<...>`; \
                     or give a default with `optional = <expr>`",
                    field.ident
                ),
            ),
        }
    }
    let mut optional_elements = false;
    if indexed {
        match generic_argument(&ty, "Vec") {
            Some(inner) => ty = inner,
            None => cx.error_spanned_by(
                &field.ty,
                format_args!("indexed key `{}` holds one value per index, so its type must be `Vec<...>`", field.ident),
            ),
        }
        if let Some(inner) = generic_argument(&ty, "Option") {
            ty = inner;
            optional_elements = true;
        }
    }
    (ty, optional_elements)
}

/// The bounds of `Box<dyn Bounds>`.
fn boxed_bounds(ty: &syn::Type) -> Option<syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>> {
    match generic_argument(ty, "Box")? {
        syn::Type::TraitObject(object) => Some(object.bounds),
        _ => None,
    }
}

fn generic_argument(ty: &syn::Type, wrapper: &str) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner.clone()),
        _ => None,
    }
}
