//! An experiment against its trainer's declaration: the keys it gives must be the trainer's,
//! under the right table, of the right kind of value; the keys the trainer requires must be
//! there (in the words of the compile-time error); optimizers and loss weights must name keys
//! the trainer has. The declarations' `Declared::KEYS` are the only list of keys.

use crate::diagnostic::{did_you_mean, Diagnostics};
use crate::experiment::{Experiment, Section};
use crate::registry::losses::{Loss, LOSSES};
use crate::registry::Context;
use metric_learning::declared::{family_member, Declared, KeyKind, KeySpec, Presence};
use metric_learning::prelude::*;

/// The stock trainers, by name.
pub const TRAINERS: &[&str] = &["MetricLossOnly", "TrainWithClassifier", "CascadedEmbeddings", "DeepAdversarialMetricLearning", "TwoStreamMetricLoss", "UnsupervisedEmbeddingsUsingAugmentations"];

/// A stock trainer's keys.
pub fn keys_of(trainer: &str) -> Option<&'static [KeySpec]> {
    Some(match trainer {
        "MetricLossOnly" => MetricLossOnly::KEYS,
        "TrainWithClassifier" => TrainWithClassifier::KEYS,
        "CascadedEmbeddings" => CascadedEmbeddings::KEYS,
        "DeepAdversarialMetricLearning" => DeepAdversarialMetricLearning::KEYS,
        "TwoStreamMetricLoss" => TwoStreamMetricLoss::KEYS,
        "UnsupervisedEmbeddingsUsingAugmentations" => UnsupervisedEmbeddingsUsingAugmentations::KEYS,
        _ => return None,
    })
}

/// The spec `name` stands for: the key itself, or a member of an indexed family.
pub fn spec_for<'k>(keys: &'k [KeySpec], name: &str) -> Option<&'k KeySpec> {
    keys.iter().find(|k| if k.indexed { family_member(name, k.name).is_some() || k.name == name } else { k.name == name })
}

fn section_for(kind: KeyKind) -> Option<Section> {
    match kind {
        KeyKind::Model => Some(Section::Models),
        KeyKind::Loss => Some(Section::Losses),
        KeyKind::Miner => Some(Section::Miners),
        KeyKind::Parameter => None,
    }
}

fn section_of(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Model => "models",
        KeyKind::Loss => "losses",
        KeyKind::Miner => "miners",
        KeyKind::Parameter => "params",
    }
}

pub fn against_trainer(experiment: &mut Experiment, diagnostics: &mut Diagnostics) {
    let Some((trainer, trainer_span)) = &experiment.trainer else { return };
    let Some(keys) = keys_of(trainer) else {
        let hint = did_you_mean(trainer, TRAINERS.iter().copied());
        let hint = if hint.is_empty() { format!("; the trainers are {}", TRAINERS.join(", ")) } else { hint };
        diagnostics.error(trainer_span.clone(), format!("no trainer named `{trainer}`{hint}"));
        return;
    };
    let names: Vec<&str> = keys.iter().filter(|k| !k.inline).map(|k| k.name).collect();
    for entry in &experiment.keys {
        let Some(spec) = spec_for(keys, &entry.name) else {
            diagnostics.error(entry.span.clone(), format!("trainer `{trainer}` has no key `{}`{}", entry.name, did_you_mean(&entry.name, names.iter().copied())));
            continue;
        };
        let Some(expected) = section_for(spec.kind) else {
            diagnostics.error(entry.span.clone(), format!("`{}` is a parameter of `{trainer}`: it goes under [params], not [{}]", entry.name, entry.section.table()));
            continue;
        };
        if expected != entry.section {
            diagnostics.error(
                entry.span.clone(),
                format!("`{}` is a {} of `{trainer}`: it goes under [{}.{}], not [{}]", entry.name, spec.kind.word(), section_of(spec.kind), entry.name, entry.section.table()),
            );
            continue;
        }
        if let Some(problem) = value_kind_problem(spec, &entry.spec) {
            diagnostics.error(entry.spec.type_span.clone(), format!("`{}` of `{trainer}` {problem}", entry.name));
        }
    }
    // An indexed family's members fill its stages in order: a gap would shift the rest.
    for family in keys.iter().filter(|k| k.indexed) {
        let mut members: Vec<(usize, &crate::experiment::KeyEntry)> = experiment.keys.iter().filter_map(|e| family_member(&e.name, family.name).map(|i| (i, e))).collect();
        members.sort_by_key(|(i, _)| *i);
        for (expected, (index, entry)) in members.iter().enumerate() {
            if *index != expected {
                diagnostics.error(entry.span.clone(), format!("`{}` is given without `{}_{expected}`: the members of `{}` go from `{}_0` on, without gaps", entry.name, family.name, family.name, family.name));
                break;
            }
        }
    }
    let parameters: Vec<&str> = keys.iter().filter(|k| k.kind == KeyKind::Parameter).map(|k| k.name).collect();
    let mut read = Vec::new();
    for (name, span, item) in &experiment.params {
        match keys.iter().find(|k| k.name == name) {
            Some(spec) if spec.kind == KeyKind::Parameter => {
                if let Some(value) = crate::trainer_params::read(spec, item, diagnostics) {
                    read.push((name.clone(), value));
                }
            }
            Some(spec) => diagnostics.error(span.clone(), format!("`{name}` is a {} of `{trainer}`: it goes under [{}.{name}], not [params]", spec.kind.word(), section_of(spec.kind))),
            None => {
                let hint = did_you_mean(name, parameters.iter().copied());
                let hint = if !hint.is_empty() || parameters.is_empty() { hint } else { format!("; its parameters are {}", parameters.join(", ")) };
                diagnostics.error(span.clone(), format!("trainer `{trainer}` has no parameter `{name}`{hint}"));
            }
        }
    }
    experiment.trainer_params = read;
    for spec in keys.iter().filter(|k| k.presence == Presence::Required && !k.inline) {
        let given = match spec.kind {
            KeyKind::Parameter => experiment.params.iter().any(|(name, _, _)| name == spec.name),
            // Under its own table: a key under another one is not given.
            _ => experiment.named.iter().any(|(section, name)| Some(*section) == section_for(spec.kind) && spec_for(keys, name).is_some_and(|s| s.name == spec.name)),
        };
        if !given {
            let place = if spec.kind == KeyKind::Parameter { format!("[params] {} = ...", spec.name) } else { format!("[{}.{}]", section_of(spec.kind), spec.name) };
            diagnostics.error(trainer_span.clone(), format!("trainer `{trainer}` is missing its required {} `{}` (give it under {place})", spec.kind.word(), spec.name));
        }
    }
    let modules: Vec<&str> = keys.iter().filter(|k| matches!(k.kind, KeyKind::Model | KeyKind::Loss) && !k.inline).map(|k| k.name).collect();
    for (name, span) in &experiment.freeze {
        if !spec_for(keys, name).is_some_and(|s| matches!(s.kind, KeyKind::Model | KeyKind::Loss)) {
            diagnostics.error(span.clone(), format!("`freeze` names `{name}`, which is not a model or loss of `{trainer}`{}", did_you_mean(name, modules.iter().copied())));
        }
    }
    for (what, entries) in [("an optimizer", &experiment.optimizers), ("a scheduler", &experiment.schedulers), ("a gradient clipper", &experiment.grad_clippers)] {
        for (name, span, _) in entries {
            if !spec_for(keys, name).is_some_and(|s| matches!(s.kind, KeyKind::Model | KeyKind::Loss)) {
                diagnostics.error(span.clone(), format!("{what} for `{name}`, which is not a model or loss of `{trainer}`{}", did_you_mean(name, modules.iter().copied())));
            } else if !experiment.keys.iter().any(|e| &e.name == name) && spec_for(keys, name).is_some_and(|s| s.presence != Presence::Defaulted) {
                diagnostics.error(span.clone(), format!("{what} for `{name}`, which the file does not give"));
            }
        }
    }
    let losses: Vec<&str> = keys.iter().filter(|k| k.kind == KeyKind::Loss).map(|k| k.name).collect();
    for (name, span, _) in &experiment.loss_weights {
        if !spec_for(keys, name).is_some_and(|s| s.kind == KeyKind::Loss) {
            diagnostics.error(span.clone(), format!("a weight for `{name}`, which is not a loss of `{trainer}`{}", did_you_mean(name, losses.iter().copied())));
        }
    }
}

/// Why a module of this type cannot fill the key, from the key's declared type.
fn value_kind_problem(spec: &KeySpec, given: &crate::experiment::Spec) -> Option<String> {
    let type_name = given.type_name;
    match spec.kind {
        KeyKind::Loss if spec.value_type == "TripletMarginLoss" => (type_name != "TripletMarginLoss").then(|| format!("takes a TripletMarginLoss (it is declared so), and `{type_name}` is another loss")),
        KeyKind::Loss => {
            let module = LOSSES.find(type_name)?;
            let made = (module.make)(&given.params, &Context::EMPTY).ok()?;
            let wants_classifier = spec.value_type.contains("ClassifierLoss");
            let is_classifier = matches!(made, Loss::Classifier(_));
            (wants_classifier != is_classifier).then(|| format!("takes {}, and `{type_name}` is {}", if wants_classifier { "a classifier loss (Box<dyn ClassifierLoss>)" } else { "a metric loss (Box<dyn MetricLoss>)" }, made.word()))
        }
        KeyKind::Miner if !spec.value_type.contains("TupleMiner") => Some(format!("takes a `{}`; files can name tuple miners only", spec.value_type)),
        _ => None,
    }
}
