// One key: a model, a loss, a miner or a hyper-parameter of the trainer.

use crate::ctxt::Ctxt;
use crate::parse::{Field, KeyAttr};
use crate::symbol::{DEFAULT, INDEXED, INLINE, LOSS, MINER, MODEL, OPTIONAL, PARAM, WEIGHT};
use crate::validate::suggest;

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
            KeyKind::Model => &[OPTIONAL, INDEXED],
            KeyKind::Loss => &[OPTIONAL, INDEXED, WEIGHT, INLINE],
            KeyKind::Miner => &[OPTIONAL, INDEXED],
            KeyKind::Param => &[DEFAULT],
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

pub struct Key {
    pub ident: syn::Ident,
    pub kind: KeyKind,
    pub presence: Presence,
    /// The field's declared type.
    pub ty: syn::Type,
    /// What the setter takes: `T` of an `Option<T>` field, the element of an indexed `Vec<T>`.
    pub value_ty: syn::Type,
    /// A family `name_0, name_1, ...` held in a `Vec`, such as CascadedEmbeddings' per-stage losses.
    pub indexed: bool,
    /// A loss computed in the step without a module (DAML's `g_hard_loss`): no setter, no field value.
    pub inline: bool,
    /// The default loss weight, `1.0` when not given.
    pub weight: Option<syn::Expr>,
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
        let mut indexed = false;
        let mut inline = false;
        let mut weight = None;
        for option in &attr.options {
            let name = option.name.to_string();
            if !kind.options().contains(&name.as_str()) {
                let hint = suggest::did_you_mean(&name, kind.options())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("; a {} takes {}", kind.word(), suggest::list(kind.options())));
                cx.error_spanned_by(&option.name, format_args!("unknown {} option `{name}`{hint}", kind.word()));
                continue;
            }
            match (name.as_str(), &option.value) {
                (OPTIONAL, None) => presence = Presence::Optional,
                (OPTIONAL | DEFAULT, Some(value)) => presence = Presence::Default(value.clone()),
                (INDEXED, None) => indexed = true,
                (INLINE, None) => inline = true,
                (WEIGHT, Some(value)) => weight = Some(value.clone()),
                (WEIGHT | DEFAULT, None) => cx.error_spanned_by(
                    &option.name,
                    format_args!("`{name}` needs a value, as in `{name} = 1.0`"),
                ),
                (_, Some(value)) => {
                    cx.error_spanned_by(value, format_args!("`{name}` takes no value; write just `{name}`"))
                }
                (_, None) => unreachable!("every option of `KeyKind::options` has an arm above"),
            }
        }
        let value_ty = setter_type(cx, field, &presence, indexed);
        Key {
            ident: field.ident.clone(),
            kind,
            presence,
            ty: field.ty.clone(),
            value_ty,
            indexed,
            inline,
            weight,
            attr_kind: attr.kind.clone(),
        }
    }

    /// Inline losses are computed by the step itself, so the builder has nothing to take.
    pub fn has_setter(&self) -> bool {
        !self.inline
    }

    /// `MetricLoss` for `metric_loss`: the variant name in the generated key enums.
    pub fn variant(&self) -> syn::Ident {
        let camel: String = self
            .ident
            .to_string()
            .split('_')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect();
        syn::Ident::new(&camel, self.ident.span())
    }
}

/// An optional key without a default is an `Option<T>` field, and an indexed one a `Vec<T>`;
/// the setter takes the `T`.
fn setter_type(cx: &Ctxt, field: &Field, presence: &Presence, indexed: bool) -> syn::Type {
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
    if indexed {
        match generic_argument(&ty, "Vec") {
            Some(inner) => ty = inner,
            None => cx.error_spanned_by(
                &field.ty,
                format_args!("indexed key `{}` holds one value per index, so its type must be `Vec<...>`", field.ident),
            ),
        }
    }
    ty
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
