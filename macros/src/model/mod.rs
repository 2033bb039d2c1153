// The trainer as the rest of the macro sees it: keys with their kind, presence and options,
// in our domain's words rather than syn's. Building it reports option-level mistakes (an option
// a kind does not take, a missing value); rules across keys are in `validate`.

mod key;

pub use key::{Key, KeyKind, Presence};

use crate::ctxt::Ctxt;
use crate::parse::Input;

pub struct Trainer<'a> {
    pub ident: &'a syn::Ident,
    pub vis: &'a syn::Visibility,
    pub crate_path: syn::Path,
    pub keys: Vec<Key>,
    /// Fields that carry no key attribute; `validate` reports them.
    pub unmarked: Vec<&'a crate::parse::Field>,
}

impl<'a> Trainer<'a> {
    pub fn from_input(cx: &Ctxt, input: &'a Input) -> Trainer<'a> {
        let mut keys = Vec::new();
        let mut unmarked = Vec::new();
        for field in &input.fields {
            match Key::from_field(cx, field) {
                Some(key) => keys.push(key),
                None if field.key_attrs.is_empty() => unmarked.push(field),
                None => {}
            }
        }
        Trainer {
            ident: &input.item.ident,
            vis: &input.item.vis,
            crate_path: input.args.crate_path.clone().unwrap_or_else(|| syn::parse_quote!(::metric_learning)),
            keys,
            unmarked,
        }
    }

    pub fn name(&self) -> String {
        self.ident.to_string()
    }

    pub fn keys_of(&self, kind: KeyKind) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(move |k| k.kind == kind)
    }

    /// Keys the builder must have been given: the type-state tracks exactly these.
    pub fn required(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(|k| k.presence == Presence::Required && k.has_setter())
    }

    /// Models and loss modules: the keys that can own parameters, and so can be frozen and
    /// given an optimizer, schedulers and a gradient clipper.
    pub fn parameter_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(|k| k.kind == KeyKind::Model || (k.kind == KeyKind::Loss && !k.inline))
    }

    pub fn has_key(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k.ident == name)
    }

    /// "models `trunk`, `embedder` and losses `metric_loss`": what the missing-key note lists.
    pub fn requirement_summary(&self) -> String {
        let mut parts = Vec::new();
        for kind in [KeyKind::Model, KeyKind::Loss, KeyKind::Miner, KeyKind::Param] {
            let names: Vec<String> = self
                .required()
                .filter(|k| k.kind == kind)
                .map(|k| format!("`{}`", k.ident))
                .collect();
            if !names.is_empty() {
                parts.push(format!("{} {}", kind.plural(), names.join(", ")));
            }
        }
        match parts.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        }
    }
}
