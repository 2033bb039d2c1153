// Rules across keys, each one a function with the mistake it catches. They only report; the
// model is left as is, and codegen runs only when no rule fired.

pub mod suggest;

use crate::ctxt::Ctxt;
use crate::model::{KeyKind, Presence, Trainer};
use crate::parse::Input;
use crate::symbol::{ENGINE_MINER_SLOTS, KEY_KINDS, SUBSET_BATCH_MINER};
use std::collections::HashMap;

/// Builder methods that every trainer has; a key of the same name would shadow one of them.
const BUILDER_METHODS: &[&str] = &[
    "build", "builder", "dataset", "batch_size", "sampler", "iterations_per_epoch", "data_device",
    "dtype", "collate", "data_and_label_getter", "label_hierarchy_level", "dataset_labels",
    "set_min_label_to_zero", "dataloader_num_workers", "freeze", "freeze_trunk_batchnorm",
    "loss_weight", "end_of_iteration_hook", "end_of_epoch_hook", "seed", "progress_bar",
];

pub fn check(cx: &Ctxt, input: &Input, trainer: &Trainer) {
    check_not_generic(cx, input);
    check_unmarked_fields(cx, trainer);
    check_duplicate_keys(cx, trainer);
    check_builder_collisions(cx, trainer);
    check_engine_miner_slots(cx, trainer);
    check_inline_losses(cx, trainer);
}

/// The builder names concrete types in its type-state; a generic trainer would need every
/// setter to thread the parameters through. Not supported yet, so say so at the generics.
fn check_not_generic(cx: &Ctxt, input: &Input) {
    let generics = &input.item.generics;
    if !generics.params.is_empty() {
        cx.error_spanned_by(generics, "a trainer cannot be generic; name concrete types in its keys");
    }
}

/// Every field is a key: a field with no kind is almost always a misspelt attribute
/// (`#[modle] trunk: Model`), which would otherwise surface as "cannot find attribute".
fn check_unmarked_fields(cx: &Ctxt, trainer: &Trainer) {
    for field in &trainer.unmarked {
        let misspelt = field.other_attrs.iter().find_map(|attr| {
            let ident = attr.path().get_ident()?;
            suggest::did_you_mean(&ident.to_string(), KEY_KINDS).map(|kind| (ident, kind))
        });
        match misspelt {
            Some((ident, kind)) => cx.error_spanned_by(
                ident,
                format_args!("unknown key kind `{ident}`; did you mean `{kind}`?"),
            ),
            None => cx.error_spanned_by(
                &field.ident,
                format_args!(
                    "field `{}` is not a key; mark it `#[model]`, `#[loss]`, `#[miner]` or `#[param]`",
                    field.ident
                ),
            ),
        }
    }
}

/// Rust rejects two fields of one name too, but only after our expansion has generated two
/// setters, two enum variants and so on; catching it here gives one error at the second name.
fn check_duplicate_keys(cx: &Ctxt, trainer: &Trainer) {
    let mut seen: HashMap<String, KeyKind> = HashMap::new();
    for key in &trainer.keys {
        let name = key.ident.to_string();
        match seen.get(&name) {
            Some(first) => cx.error_spanned_by(
                &key.ident,
                format_args!("duplicate key `{name}`: `{}` already declares it as a {}", trainer.name(), first.word()),
            ),
            None => {
                seen.insert(name, key.kind);
            }
        }
    }
}

/// `#[param] dataset: ...` would generate a second `dataset(...)` setter on the builder.
fn check_builder_collisions(cx: &Ctxt, trainer: &Trainer) {
    for key in &trainer.keys {
        let name = key.ident.to_string();
        if BUILDER_METHODS.contains(&name.as_str()) {
            cx.error_spanned_by(
                &key.ident,
                format_args!("key `{name}` collides with the builder's own `{name}(...)`; choose another name"),
            );
        }
    }
}

/// A key named `tuple_miner` or `subset_batch_miner` fills the slot the builder would otherwise
/// refuse, so it must be a miner. The engine runs `subset_batch_miner` itself, on the whole
/// batch, so that one cannot be a family (CascadedEmbeddings' per-stage `tuple_miner` can).
fn check_engine_miner_slots(cx: &Ctxt, trainer: &Trainer) {
    for key in &trainer.keys {
        let name = key.ident.to_string();
        if !ENGINE_MINER_SLOTS.contains(&name.as_str()) {
            continue;
        }
        if key.kind != KeyKind::Miner {
            cx.error_spanned_by(
                &key.attr_kind,
                format_args!("`{name}` is a miner slot; declare it `#[miner(optional)]`, not as a {}", key.kind.word()),
            );
        } else if key.indexed && name == SUBSET_BATCH_MINER {
            cx.error_spanned_by(&key.attr_kind, format_args!("`{name}` is the engine's single slot; it cannot be indexed"));
        }
    }
}

/// An inline loss has no module to set, so it can have no default value or optional marker
/// that would mean anything.
fn check_inline_losses(cx: &Ctxt, trainer: &Trainer) {
    for key in trainer.keys.iter().filter(|k| k.inline) {
        if key.presence != Presence::Required {
            cx.error_spanned_by(
                &key.ident,
                format_args!("inline loss `{}` is computed by the step, so it cannot be optional", key.ident),
            );
        }
        if key.indexed {
            cx.error_spanned_by(&key.ident, format_args!("inline loss `{}` cannot be indexed", key.ident));
        }
    }
}
