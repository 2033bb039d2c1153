//! `metric-learning list`: the trainers' keys from their declarations, and the registry's
//! modules with their parameters and defaults.

use crate::check::{keys_of, TRAINERS};
use crate::registry::{clippers::CLIPPERS, regularizers::REGULARIZERS, datasets::DATASETS, distances::DISTANCES, losses::LOSSES, miners::MINERS, models::MODELS, optimizers::OPTIMIZERS, reducers::REDUCERS, samplers::SAMPLERS, schedulers::SCHEDULERS, transforms::TRANSFORMS, Family, Module};
use metric_learning::declared::{KeyKind, Presence};
use std::fmt::Write;

pub fn everything() -> String {
    let mut out = String::from("trainers (keys from their declarations):\n");
    for trainer in TRAINERS {
        let _ = writeln!(out, "  {trainer}");
        for key in keys_of(trainer).unwrap_or_default().iter().filter(|k| !k.inline) {
            let presence = match key.presence {
                Presence::Required => "required",
                Presence::Optional => "optional",
                Presence::Defaulted => "has a default",
            };
            let family = if key.indexed { format!("{}_<index>", key.name) } else { key.name.to_string() };
            let table = match key.kind {
                KeyKind::Model => "models",
                KeyKind::Loss => "losses",
                KeyKind::Miner => "miners",
                KeyKind::Parameter => "parameter",
            };
            let default = key.default.map(|d| format!(" = {d}")).unwrap_or_default();
            let _ = writeln!(out, "    {family:28} {table:10} {presence:14} {}{default}", key.value_type);
        }
    }
    section(&mut out, &MODELS);
    section(&mut out, &LOSSES);
    section(&mut out, &MINERS);
    section(&mut out, &OPTIMIZERS);
    section(&mut out, &SAMPLERS);
    section(&mut out, &DATASETS);
    section(&mut out, &DISTANCES);
    section(&mut out, &REDUCERS);
    section(&mut out, &SCHEDULERS);
    section(&mut out, &TRANSFORMS);
    section(&mut out, &CLIPPERS);
    section(&mut out, &REGULARIZERS);
    out
}

fn section<T>(out: &mut String, family: &Family<T>) {
    let plural = if family.word.ends_with('s') { "es" } else { "s" };
    let _ = writeln!(out, "{}{plural}:", family.word);
    for Module { name, params, .. } in family.modules {
        let described: Vec<String> = params.iter().map(|p| format!("{} = {}", p.name, p.default.describe())).collect();
        let _ = writeln!(out, "  {name}({})", described.join(", "));
    }
    if !family.common.is_empty() {
        let described: Vec<String> = family.common.iter().map(|p| format!("{} = {}", p.name, p.default.describe())).collect();
        let _ = writeln!(out, "  and every metric {} takes: {}", family.word, described.join(", "));
    }
}
