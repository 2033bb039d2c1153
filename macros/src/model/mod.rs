// The trainer as the rest of the macro sees it: keys with their kind, presence, options and
// roles, in our domain's words rather than syn's. Building it reports option-level mistakes (an
// option a kind does not take, one given twice, a missing value); rules across keys are in
// `validate`.

mod key;

pub use key::{camel_case, Key, KeyKind, Presence, SetterInput};

use crate::ctxt::Ctxt;
use crate::parse::{EmbeddingChain, Input};
use crate::symbol::{SUBSET_BATCH, SUBSET_BATCH_MINER, TRUNK};

pub struct Trainer<'a> {
    pub ident: &'a syn::Ident,
    pub vis: &'a syn::Visibility,
    pub crate_path: syn::Path,
    pub keys: Vec<Key>,
    /// The models that make the embeddings, when the macro writes the step.
    pub pipeline: Option<&'a EmbeddingChain>,
    /// Fields that carry no key attribute; `validate` reports them.
    pub unmarked: Vec<&'a crate::parse::Field>,
}

impl<'a> Trainer<'a> {
    pub fn from_input(cx: &Ctxt, input: &'a Input) -> Trainer<'a> {
        let mut keys: Vec<Key> = Vec::new();
        let mut unmarked = Vec::new();
        for field in &input.fields {
            match Key::from_field(cx, field) {
                // A second key of one name is reported by `validate`; the model keeps the first,
                // so that stand-in items stay consistent with the re-emitted struct.
                Some(key) if keys.iter().any(|k| k.ident == key.ident) => {
                    cx.error_spanned_by(
                        &key.ident,
                        format_args!("duplicate key `{}`: `{}` already declares it", key.ident, input.item.ident),
                    );
                }
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
            pipeline: input.args.embeddings.as_ref(),
            unmarked,
        }
    }

    pub fn name(&self) -> String {
        self.ident.to_string()
    }

    pub fn keys_of(&self, kind: KeyKind) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(move |k| k.kind == kind)
    }

    pub fn key(&self, name: &syn::Ident) -> Option<&Key> {
        self.keys.iter().find(|k| &k.ident == name)
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

    /// The model whose batch norm `freeze_trunk_batchnorm` freezes: the one marked
    /// `#[model(trunk)]`, else the model named `trunk` (PML's name).
    pub fn trunk(&self) -> Option<&Key> {
        self.role(KeyKind::Model, TRUNK, TRUNK)
    }

    /// The miner the engine runs on the whole batch: `#[miner(subset_batch)]`, else the miner
    /// named `subset_batch_miner`.
    pub fn subset_batch_miner(&self) -> Option<&Key> {
        self.role(KeyKind::Miner, SUBSET_BATCH, SUBSET_BATCH_MINER)
    }

    fn role(&self, kind: KeyKind, role: &str, default_name: &str) -> Option<&Key> {
        let of_kind = || self.keys_of(kind);
        of_kind().find(|k| k.role.as_ref().is_some_and(|r| r == role)).or_else(|| of_kind().find(|k| k.ident == default_name))
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
