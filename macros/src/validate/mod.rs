// Rules across keys, each one a function with the mistake it catches. They only report; the
// model is left as is, and codegen runs only when no rule fired.

pub mod suggest;

use crate::ctxt::Ctxt;
use crate::model::{Key, KeyKind, Presence, Trainer};
use crate::parse::Input;
use crate::symbol::{EMBEDDINGS, ENGINE_MINER_SLOTS, KEY_KINDS, SUBSET_BATCH, TRUNK};

/// Builder methods that every trainer has; a key of the same name would shadow one of them.
const BUILDER_METHODS: &[&str] = &[
    "build", "builder", "dataset", "batch_size", "maybe_dataset", "sampler", "iterations_per_epoch", "data_device",
    "dtype", "collate", "data_and_label_getter", "label_hierarchy_level", "dataset_labels",
    "set_min_label_to_zero", "dataloader_num_workers", "freeze", "freeze_trunk_batchnorm",
    "loss_weight", "end_of_iteration_hook", "end_of_epoch_hook", "seed", "progress_bar",
];

pub fn check(cx: &Ctxt, input: &Input, trainer: &Trainer) {
    check_not_generic(cx, input);
    check_unmarked_fields(cx, trainer);
    check_builder_collisions(cx, trainer);
    check_engine_miner_slots(cx, trainer);
    check_inline_losses(cx, trainer);
    check_roles(cx, trainer);
    match trainer.pipeline {
        Some(_) => check_pipeline(cx, trainer),
        None => check_no_pipeline_options(cx, trainer),
    }
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

/// A key named `tuple_miner` or `subset_batch_miner` fills the builder method every trainer
/// has under that name, so it must be a miner.
fn check_engine_miner_slots(cx: &Ctxt, trainer: &Trainer) {
    for key in &trainer.keys {
        let name = key.ident.to_string();
        if ENGINE_MINER_SLOTS.contains(&name.as_str()) && key.kind != KeyKind::Miner {
            cx.error_spanned_by(
                &key.attr_kind,
                format_args!("`{name}` is a miner slot; declare it `#[miner(optional)]`, not as a {}", key.kind.word()),
            );
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

/// A role names one key; two models both marked `trunk` would leave the engine guessing which
/// one's batch norm `freeze_trunk_batchnorm` freezes.
fn check_roles(cx: &Ctxt, trainer: &Trainer) {
    for role in [TRUNK, SUBSET_BATCH] {
        let marked: Vec<&Key> = trainer.keys.iter().filter(|k| k.role.as_ref().is_some_and(|r| r == role)).collect();
        for extra in marked.iter().skip(1) {
            let first = &marked[0].ident;
            cx.error_spanned_by(extra.role.as_ref(), format_args!("`{first}` is already the `{role}`; a trainer has one"));
        }
    }
    if let Some(miner) = trainer.subset_batch_miner().filter(|k| k.indexed) {
        cx.error_spanned_by(&miner.ident, format_args!("`{}` is the subset-batch miner, which the engine runs once per batch; it cannot be indexed", miner.ident));
    }
}

/// A pipeline trainer's step is generated from names: each must be a declared key of the right
/// kind, or the generated code would fail with errors inside code the user never wrote.
///
///     #[trainer(embeddings = trunk -> embeder)]        // did you mean `embedder`?
///     #[loss(on = clasifier, miner = tuple_minr)]      // did you mean `classifier`? `tuple_miner`?
fn check_pipeline(cx: &Ctxt, trainer: &Trainer) {
    let Some(chain) = trainer.pipeline else { return };
    let models: Vec<String> = trainer.keys_of(KeyKind::Model).map(|k| k.ident.to_string()).collect();
    for name in &chain.models {
        match trainer.key(name) {
            Some(key) if key.kind != KeyKind::Model => cx.error_spanned_by(
                name,
                format_args!("`{name}` is a {}; the embeddings are made by models", key.kind.word()),
            ),
            Some(key) if key.indexed || key.presence == Presence::Optional => cx.error_spanned_by(
                name,
                format_args!("`{name}` makes the embeddings, so it must always have a value: give it a default (`optional = Model::identity()`) and no index"),
            ),
            Some(_) => {}
            None => unknown_name(cx, name, "model", &models),
        }
    }
    let mut inputs = vec![EMBEDDINGS.to_string()];
    inputs.extend(models.iter().filter(|m| !chain.models.iter().any(|c| c == m.as_str())).cloned());
    let miners: Vec<String> = trainer.keys_of(KeyKind::Miner).map(|k| k.ident.to_string()).collect();
    for key in trainer.keys.iter().filter(|k| k.indexed && k.kind != KeyKind::Param) {
        cx.error_spanned_by(&key.ident, format_args!("`{}` is indexed; a pipeline trainer's step cannot be generated for a family of keys: write `impl Step` and drop `embeddings = ...`", key.ident));
    }
    for loss in trainer.keys_of(KeyKind::Loss) {
        if loss.inline {
            cx.error_spanned_by(&loss.ident, format_args!("inline loss `{}` needs a step that computes it: write `impl Step` and drop `embeddings = ...`", loss.ident));
            continue;
        }
        match &loss.on {
            None => cx.error_spanned_by(
                &loss.attr_kind,
                format_args!("loss `{}` needs an input in a pipeline trainer: `#[loss(on = embeddings)]` or `#[loss(on = <model>)]`", loss.ident),
            ),
            Some(on) if on == EMBEDDINGS => {}
            Some(on) if chain.models.iter().any(|m| m == on) => cx.error_spanned_by(
                on,
                format_args!("`{on}` is part of the embeddings (`{}`); a loss takes `on = embeddings` or another model's output", chain_text(trainer)),
            ),
            Some(on) => match trainer.key(on) {
                Some(key) if key.kind == KeyKind::Model => {}
                Some(key) => cx.error_spanned_by(on, format_args!("`{on}` is a {}; a loss takes `on = embeddings` or a model", key.kind.word())),
                None => unknown_name(cx, on, "model (or `embeddings`)", &inputs),
            },
        }
        if let Some(miner) = &loss.miner {
            match trainer.key(miner) {
                Some(key) if key.kind != KeyKind::Miner => {
                    cx.error_spanned_by(miner, format_args!("`{miner}` is a {}, not a miner", key.kind.word()))
                }
                Some(key) if trainer.subset_batch_miner().is_some_and(|s| s.ident == key.ident) => cx.error_spanned_by(
                    miner,
                    format_args!("`{miner}` is the subset-batch miner, which chooses samples, not tuples; name a tuple miner"),
                ),
                Some(_) => {}
                None => unknown_name(cx, miner, "miner", &miners),
            }
            if loss.on.as_ref().is_some_and(|on| on != EMBEDDINGS) {
                cx.error_spanned_by(miner, format_args!("a miner chooses tuples of embeddings; loss `{}` is on a model's output", loss.ident));
            }
        }
    }
}

/// `on` and `miner` describe a generated step; without `embeddings = ...` there is none, and
/// the options would silently do nothing.
fn check_no_pipeline_options(cx: &Ctxt, trainer: &Trainer) {
    for loss in trainer.keys_of(KeyKind::Loss) {
        if let Some(name) = loss.on.as_ref().or(loss.miner.as_ref()) {
            cx.error_spanned_by(
                name,
                format_args!("`on` and `miner` wire a generated step; declare the embeddings with `#[trainer(embeddings = trunk -> embedder)]`, or drop them and write `impl Step`"),
            );
        }
    }
}

fn unknown_name(cx: &Ctxt, name: &syn::Ident, what: &str, candidates: &[String]) {
    let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let hint = suggest::did_you_mean(&name.to_string(), &refs)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| format!("; declared: {}", suggest::list(&refs)));
    cx.error_spanned_by(name, format_args!("no {what} named `{name}`{hint}"));
}

fn chain_text(trainer: &Trainer) -> String {
    trainer.pipeline.map(|c| c.models.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(" -> ")).unwrap_or_default()
}
