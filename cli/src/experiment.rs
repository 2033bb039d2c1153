//! An experiment file read into what a run needs, every mistake collected at its place: keys
//! the file does not know (with the closest known one), values of the wrong type, modules that
//! do not exist, parameters a module does not have. What the chosen trainer requires is checked
//! in `check.rs`, against its declaration.

use crate::diagnostic::{did_you_mean, Diagnostics};
use crate::registry::{Family, Kind, Params, Value};
use std::ops::Range;
use toml_edit::{Item, TableLike};

pub use crate::registry::Spec;

/// One value of a trainer's key: a `[models.<key>]`, `[losses.<key>]` or `[miners.<key>]`.
pub struct KeyEntry {
    pub section: Section,
    pub name: String,
    pub span: Option<Range<usize>>,
    pub spec: Spec,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Section {
    Models,
    Losses,
    Miners,
}

impl Section {
    pub fn table(self) -> &'static str {
        match self {
            Section::Models => "models",
            Section::Losses => "losses",
            Section::Miners => "miners",
        }
    }
}

/// What the file says; `None` fields were absent or wrong (and reported).
#[derive(Default)]
pub struct Experiment {
    pub trainer: Option<(String, Option<Range<usize>>)>,
    pub batch_size: Option<usize>,
    pub epochs: Option<usize>,
    pub iterations_per_epoch: Option<usize>,
    pub seed: Option<u64>,
    pub run_folder: Option<String>,
    pub dataset: Option<Spec>,
    pub test: Option<Spec>,
    pub sampler: Option<Spec>,
    pub keys: Vec<KeyEntry>,
    /// Every key the file names under [models], [losses] and [miners], read or not: a key
    /// with a mistake in its table is still given (its mistake is reported, not a missing key).
    pub named: Vec<(Section, String)>,
    pub optimizers: Vec<(String, Option<Range<usize>>, Spec)>,
    pub schedulers: Vec<(String, Option<Range<usize>>, Spec)>,
    pub grad_clippers: Vec<(String, Option<Range<usize>>, Spec)>,
    /// Keys whose parameters do not train (PML's `freeze_these`).
    pub freeze: Vec<(String, Option<Range<usize>>)>,
    pub loss_weights: Vec<(String, Option<Range<usize>>, f64)>,
    /// `[params]`: the trainer's hyper-parameters as written, read against the trainer's
    /// declaration by `check.rs` (which fills `trainer_params`).
    pub params: Vec<(String, Option<Range<usize>>, Item)>,
    pub trainer_params: Vec<(String, crate::trainer_params::ParamValue)>,
    /// The loader's augmentation, in order.
    pub augmentation: Vec<Spec>,
    pub validation: Option<ValidationSpec>,
    pub checkpoints: Option<CheckpointSpec>,
    /// Loss curves and validation plots in the run folder.
    pub plots: bool,
    pub mixed_precision: Option<PrecisionSpec>,
    pub loader_workers: Option<usize>,
}

/// `[validation]`: PML's tester with its hooks (interval, patience, best checkpoint).
pub struct ValidationSpec {
    /// The split, when not the `[test]` set.
    pub dataset: Option<Spec>,
    pub every: usize,
    pub patience: Option<usize>,
    pub metrics: Vec<metric_learning::evaluation::Metric>,
    /// The metric that decides the best epoch and patience, higher better.
    pub primary: Option<metric_learning::evaluation::Metric>,
}

/// `mixed_precision = "bf16"` (or `"fp16"`), or `{ type = "bf16", even_if_emulated = true }`.
pub struct PrecisionSpec {
    pub half: bool,
    pub even_if_emulated: bool,
}

/// `[checkpoints]`: how often, how many kept.
pub struct CheckpointSpec {
    pub every_epochs: Option<usize>,
    pub every_iterations: Option<usize>,
    pub keep_last: Option<usize>,
}

const TOP_LEVEL: &[&str] = &[
    "trainer",
    "batch_size",
    "epochs",
    "iterations_per_epoch",
    "seed",
    "run_folder",
    "dataset",
    "test",
    "sampler",
    "models",
    "losses",
    "miners",
    "optimizers",
    "schedulers",
    "grad_clippers",
    "freeze",
    "loss_weights",
    "params",
    "augmentation",
    "validation",
    "checkpoints",
    "plots",
    "mixed_precision",
    "dataloader_num_workers",
    "sweep",
];

/// Reads `source`; every mistake goes into `diagnostics`.
pub fn read(source: &str, diagnostics: &mut Diagnostics) -> Experiment {
    let document = match toml_edit::ImDocument::parse(source) {
        Ok(document) => document,
        Err(error) => {
            diagnostics.error(error.span(), format!("not valid TOML: {}", error.message()));
            return Experiment::default();
        }
    };
    let root = document.as_table();
    let mut experiment = Experiment::default();
    for (key, item) in root.iter() {
        let span = root.key(key).and_then(|k| k.span());
        match key {
            "trainer" => experiment.trainer = text(item, key, diagnostics).map(|t| (t, item.span())),
            "batch_size" => experiment.batch_size = positive(item, key, diagnostics),
            "epochs" => experiment.epochs = positive(item, key, diagnostics),
            "iterations_per_epoch" => experiment.iterations_per_epoch = positive(item, key, diagnostics),
            "seed" => experiment.seed = whole(item, key, diagnostics).and_then(|s| u64::try_from(s).ok()),
            "run_folder" => experiment.run_folder = text(item, key, diagnostics),
            "dataset" => experiment.dataset = table(item, key, diagnostics).and_then(|t| spec(t, item.span(), key, &crate::registry::datasets::DATASETS, diagnostics)),
            "test" => experiment.test = table(item, key, diagnostics).and_then(|t| spec(t, item.span(), key, &crate::registry::datasets::DATASETS, diagnostics)),
            "sampler" => experiment.sampler = table(item, key, diagnostics).and_then(|t| spec(t, item.span(), key, &crate::registry::samplers::SAMPLERS, diagnostics)),
            "models" | "losses" | "miners" => {
                let section = match key {
                    "models" => Section::Models,
                    "losses" => Section::Losses,
                    _ => Section::Miners,
                };
                let Some(entries) = table(item, key, diagnostics) else { continue };
                for (name, entry) in entries.iter() {
                    let place = entries.key(name).and_then(|k| k.span());
                    experiment.named.push((section, name.to_string()));
                    let Some(body) = table(entry, &format!("{key}.{name}"), diagnostics) else { continue };
                    let what = format!("{key}.{name}");
                    let made = match section {
                        Section::Models => spec(body, place.clone(), &what, &crate::registry::models::MODELS, diagnostics),
                        Section::Losses => spec(body, place.clone(), &what, &crate::registry::losses::LOSSES, diagnostics),
                        Section::Miners => spec(body, place.clone(), &what, &crate::registry::miners::MINERS, diagnostics),
                    };
                    if let Some(spec) = made {
                        experiment.keys.push(KeyEntry { section, name: name.to_string(), span: place, spec });
                    }
                }
            }
            "optimizers" => experiment.optimizers = per_key(item, key, &crate::registry::optimizers::OPTIMIZERS, diagnostics),
            "schedulers" => experiment.schedulers = per_key(item, key, &crate::registry::schedulers::SCHEDULERS, diagnostics),
            "grad_clippers" => experiment.grad_clippers = per_key(item, key, &crate::registry::clippers::CLIPPERS, diagnostics),
            "freeze" => match item.as_array() {
                Some(names) => {
                    for name in names.iter() {
                        match name.as_str() {
                            Some(text) => experiment.freeze.push((text.to_string(), name.span())),
                            None => diagnostics.error(name.span(), format!("`freeze` lists keys by name, found {} `{}`", name.type_name(), name.to_string().trim())),
                        }
                    }
                }
                None => diagnostics.error(item.span(), format!("`freeze` must be a list of keys ([\"trunk\"]), found {}", describe(item))),
            },
            "params" => {
                let Some(entries) = table(item, key, diagnostics) else { continue };
                experiment.params = entries.iter().map(|(name, value)| (name.to_string(), entries.key(name).and_then(|k| k.span()), value.clone())).collect();
            }
            "augmentation" => experiment.augmentation = transforms(item, key, diagnostics).unwrap_or_default(),
            "validation" => experiment.validation = table(item, key, diagnostics).and_then(|t| validation(t, diagnostics)),
            "checkpoints" => experiment.checkpoints = table(item, key, diagnostics).and_then(|t| checkpoints(t, diagnostics)),
            "plots" => experiment.plots = flag(item, key, diagnostics),
            "mixed_precision" => experiment.mixed_precision = precision(item, diagnostics),
            "dataloader_num_workers" => experiment.loader_workers = whole(item, key, diagnostics).and_then(|n| non_negative(n, item, key, diagnostics)),
            // Read by `sweep.rs`, which makes the variations before this file is read.
            "sweep" => {}
            "loss_weights" => {
                let Some(entries) = table(item, key, diagnostics) else { continue };
                for (name, weight) in entries.iter() {
                    let place = entries.key(name).and_then(|k| k.span());
                    if let Some(value) = number(weight, &format!("loss_weights.{name}"), diagnostics) {
                        experiment.loss_weights.push((name.to_string(), place, value));
                    }
                }
            }
            other => diagnostics.error(span, format!("unknown key `{other}`{}", did_you_mean(other, TOP_LEVEL.iter().copied()))),
        }
    }
    for (required, missing) in [("trainer", experiment.trainer.is_none()), ("batch_size", experiment.batch_size.is_none()), ("epochs", experiment.epochs.is_none()), ("dataset", experiment.dataset.is_none())] {
        if missing && !root.contains_key(required) {
            diagnostics.error(None, format!("`{required}` is missing (the file must give it)"));
        }
    }
    experiment
}

/// `[optimizers.<key>]`-like tables: one module per trainer key.
fn per_key<T>(item: &Item, key: &str, family: &Family<T>, diagnostics: &mut Diagnostics) -> Vec<(String, Option<Range<usize>>, Spec)> {
    let Some(entries) = table(item, key, diagnostics) else { return Vec::new() };
    let mut found = Vec::new();
    for (name, entry) in entries.iter() {
        let place = entries.key(name).and_then(|k| k.span());
        let what = format!("{key}.{name}");
        let Some(body) = table(entry, &what, diagnostics) else { continue };
        if let Some(spec) = spec(body, place.clone(), &what, family, diagnostics) {
            found.push((name.to_string(), place, spec));
        }
    }
    found
}

/// An array of transform tables (`[{ type = "RandomCrop", size = [64, 64] }, ...]`).
pub fn transforms(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<Vec<Spec>> {
    let found = match item {
        Item::ArrayOfTables(tables) => tables.iter().enumerate().map(|(i, t)| spec(t, t.span(), &format!("{what}[{i}]"), &crate::registry::transforms::TRANSFORMS, diagnostics)).collect(),
        _ => match item.as_array() {
            Some(array) => array
                .iter()
                .enumerate()
                .map(|(i, v)| match v.as_inline_table() {
                    Some(t) => spec(t, v.span(), &format!("{what}[{i}]"), &crate::registry::transforms::TRANSFORMS, diagnostics),
                    None => {
                        diagnostics.error(v.span(), format!("`{what}[{i}]` must be a table naming a transform, found {} `{}`", v.type_name(), v.to_string().trim()));
                        None
                    }
                })
                .collect(),
            None => {
                diagnostics.error(item.span(), format!("`{what}` must be a list of transforms ([{{ type = \"RandomCrop\", size = [64, 64] }}, ...]), found {}", describe(item)));
                return None;
            }
        },
    };
    found
}

const VALIDATION: &[&str] = &["dataset", "every", "patience", "metrics", "primary"];

fn validation(body: &dyn TableLike, diagnostics: &mut Diagnostics) -> Option<ValidationSpec> {
    use metric_learning::evaluation::Metric;
    let mut found = ValidationSpec { dataset: None, every: 1, patience: None, metrics: Vec::new(), primary: None };
    let metric = |item: &Item, what: &str, diagnostics: &mut Diagnostics| -> Option<Metric> {
        let name = text(item, what, diagnostics)?;
        match Metric::parse_all(&[name.as_str()]) {
            Ok(mut metrics) => metrics.pop(),
            Err(error) => {
                diagnostics.error(item.span(), format!("`{what}`: {error}"));
                None
            }
        }
    };
    for (key, item) in body.iter() {
        let what = format!("validation.{key}");
        match key {
            "dataset" => found.dataset = table(item, &what, diagnostics).and_then(|t| spec(t, item.span(), &what, &crate::registry::datasets::DATASETS, diagnostics)),
            "every" => found.every = positive(item, &what, diagnostics).unwrap_or(1),
            "patience" => found.patience = positive(item, &what, diagnostics),
            "primary" => found.primary = metric(item, &what, diagnostics),
            "metrics" => match item.as_array() {
                Some(names) => found.metrics = names.iter().filter_map(|v| metric(&Item::Value(v.clone()), &what, diagnostics)).collect(),
                None => diagnostics.error(item.span(), format!("`{what}` must be a list of metric names, found {}", describe(item))),
            },
            other => diagnostics.error(body.key(other).and_then(|k| k.span()), format!("unknown key `validation.{other}`{}", did_you_mean(other, VALIDATION.iter().copied()))),
        }
    }
    Some(found)
}

const CHECKPOINTS: &[&str] = &["every_epochs", "every_iterations", "keep_last"];

fn checkpoints(body: &dyn TableLike, diagnostics: &mut Diagnostics) -> Option<CheckpointSpec> {
    let mut found = CheckpointSpec { every_epochs: None, every_iterations: None, keep_last: None };
    for (key, item) in body.iter() {
        let what = format!("checkpoints.{key}");
        match key {
            "every_epochs" => found.every_epochs = positive(item, &what, diagnostics),
            "every_iterations" => found.every_iterations = positive(item, &what, diagnostics),
            "keep_last" => found.keep_last = positive(item, &what, diagnostics),
            other => diagnostics.error(body.key(other).and_then(|k| k.span()), format!("unknown key `checkpoints.{other}`{}", did_you_mean(other, CHECKPOINTS.iter().copied()))),
        }
    }
    Some(found)
}

fn precision(item: &Item, diagnostics: &mut Diagnostics) -> Option<PrecisionSpec> {
    let expected = "\"bf16\", \"fp16\" or { type = \"bf16\", even_if_emulated = true }";
    let (kind, even_if_emulated) = match item.as_table_like() {
        Some(body) => {
            let mut emulated = false;
            for (key, value) in body.iter() {
                match key {
                    "type" => {}
                    "even_if_emulated" => emulated = flag(value, "mixed_precision.even_if_emulated", diagnostics),
                    other => diagnostics.error(body.key(other).and_then(|k| k.span()), format!("`mixed_precision` has no `{other}`: it takes `type` and `even_if_emulated`")),
                }
            }
            (body.get("type").and_then(|t| t.as_str()).map(str::to_string), emulated)
        }
        None => (item.as_str().map(str::to_string), false),
    };
    match kind.as_deref() {
        Some("bf16") => Some(PrecisionSpec { half: false, even_if_emulated }),
        Some("fp16") => Some(PrecisionSpec { half: true, even_if_emulated }),
        _ => {
            diagnostics.error(item.span(), format!("`mixed_precision` must be {expected}, found {}", describe(item)));
            None
        }
    }
}

fn flag(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> bool {
    let found = item.as_bool();
    if found.is_none() {
        diagnostics.error(item.span(), format!("`{what}` must be true or false, found {}", describe(item)));
    }
    found.unwrap_or(false)
}

fn non_negative(n: i64, item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<usize> {
    if n < 0 {
        diagnostics.error(item.span(), format!("`{what}` must be 0 or more, found {n}"));
        return None;
    }
    Some(n as usize)
}

/// `type = "..."` and the parameters of the module it names, each checked.
pub fn spec<T>(body: &dyn TableLike, span: Option<Range<usize>>, what: &str, family: &Family<T>, diagnostics: &mut Diagnostics) -> Option<Spec> {
    let Some(type_item) = body.get("type") else {
        diagnostics.error(span, format!("`{what}` has no `type`: name the {} ({})", family.word, family.names().collect::<Vec<_>>().join(", ")));
        return None;
    };
    let type_span = type_item.span();
    let name = text(type_item, &format!("{what}.type"), diagnostics)?;
    let Some(module) = family.find(&name) else {
        if let Some(other) = crate::registry::kind_of(&name) {
            diagnostics.error(type_span, format!("`{what}` takes a {}, and `{name}` is a {other}", family.word));
            return None;
        }
        let known = family.names().collect::<Vec<_>>();
        let hint = did_you_mean(&name, known.iter().copied());
        let hint = if hint.is_empty() { format!("; the {}s are {}", family.word, known.join(", ")) } else { hint };
        diagnostics.error(type_span, format!("`{what}`: no {} named `{name}`{hint}", family.word));
        return None;
    };
    let mut params = Params::default();
    let mut ok = true;
    for (key, item) in body.iter() {
        if key == "type" {
            continue;
        }
        let place = body.get_key_value(key).and_then(|(k, _)| k.span());
        let Some(param) = module.params.iter().chain(family.common).find(|p| p.name == key) else {
            let names = module.params.iter().chain(family.common).map(|p| p.name);
            let hint = did_you_mean(key, names.clone());
            let hint = if hint.is_empty() {
                let all: Vec<&str> = names.collect();
                if all.is_empty() { format!("; {} takes none", module.name) } else { format!("; its parameters are {}", all.join(", ")) }
            } else {
                hint
            };
            diagnostics.error(place, format!("`{what}`: {} has no parameter `{key}`{hint}", module.name));
            ok = false;
            continue;
        };
        let inner = format!("{what}.{key}");
        let parsed = match param.kind {
            // A nested module reports its own mistakes.
            Kind::Distance | Kind::Reducer | Kind::Regularizer | Kind::Loss | Kind::Miner => item.as_table_like().map(|table| {
                use crate::registry::{distances::DISTANCES, losses::LOSSES, miners::MINERS, reducers::REDUCERS, regularizers::REGULARIZERS};
                let made = match param.kind {
                    Kind::Distance => spec(table, place.clone(), &inner, &DISTANCES, diagnostics),
                    Kind::Reducer => spec(table, place.clone(), &inner, &REDUCERS, diagnostics),
                    Kind::Regularizer => spec(table, place.clone(), &inner, &REGULARIZERS, diagnostics),
                    Kind::Loss => spec(table, place.clone(), &inner, &LOSSES, diagnostics),
                    _ => spec(table, place.clone(), &inner, &MINERS, diagnostics),
                };
                made.map(|s| Value::Module(Box::new(s)))
            }),
            Kind::NamedLosses | Kind::NamedMiners => item.as_table_like().map(|table| {
                use crate::registry::{losses::LOSSES, miners::MINERS};
                let mut modules = Vec::new();
                let mut all = true;
                for (name, entry) in table.iter() {
                    let what = format!("{inner}.{name}");
                    let place = table.key(name).and_then(|k| k.span());
                    let Some(body) = entry.as_table_like() else {
                        diagnostics.error(entry.span().or(place), format!("`{what}` must be a table naming a module, found {}", describe(entry)));
                        all = false;
                        continue;
                    };
                    let made = if param.kind == Kind::NamedLosses { spec(body, place, &what, &LOSSES, diagnostics) } else { spec(body, place, &what, &MINERS, diagnostics) };
                    match made {
                        Some(made) => modules.push((name.to_string(), made)),
                        None => all = false,
                    }
                }
                all.then_some(Value::Named(modules))
            }),
            Kind::NamedNumbers => item.as_table_like().map(|table| {
                let numbers: Vec<(String, Option<f64>)> = table.iter().map(|(name, v)| (name.to_string(), number(v, &format!("{inner}.{name}"), diagnostics))).collect();
                numbers.iter().all(|(_, v)| v.is_some()).then(|| Value::Numbers(numbers.into_iter().map(|(n, v)| (n, v.unwrap_or_default())).collect()))
            }),
            kind => value(item, kind).map(Some),
        };
        match parsed {
            Some(Some(v)) => params.set(param.name, v),
            Some(None) => ok = false,
            None => {
                diagnostics.error(item.span().or(place), format!("`{inner}` must be {}, found {}", param.kind.word(), describe(item)));
                ok = false;
            }
        }
    }
    for param in module.params.iter().filter(|p| matches!(p.default, crate::registry::Default::Required)) {
        if !body.contains_key(param.name) {
            diagnostics.error(span.clone(), format!("`{what}`: {} needs `{}` ({})", module.name, param.name, param.kind.word()));
            ok = false;
        }
    }
    ok.then(|| Spec { type_name: module.name, type_span, params: params.with_defaults(module.params).with_defaults(family.common) })
}

fn value(item: &Item, kind: Kind) -> Option<Value> {
    let v = item.as_value()?;
    match kind {
        Kind::Float => v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).map(Value::Float),
        Kind::Int => v.as_integer().map(Value::Int),
        Kind::Bool => v.as_bool().map(Value::Bool),
        Kind::Text => v.as_str().map(|s| Value::Text(s.to_string())),
        Kind::IntList => v.as_array()?.iter().map(|e| e.as_integer()).collect::<Option<Vec<i64>>>().map(Value::IntList),
        Kind::FloatList => v.as_array()?.iter().map(|e| e.as_float().or_else(|| e.as_integer().map(|i| i as f64))).collect::<Option<Vec<f64>>>().map(Value::FloatList),
        Kind::Distance | Kind::Reducer | Kind::Regularizer | Kind::Loss | Kind::Miner | Kind::NamedLosses | Kind::NamedMiners | Kind::NamedNumbers => None,
    }
}

/// What a value is, for "found ...".
pub fn describe(item: &Item) -> String {
    match item.as_value() {
        Some(v) => format!("{} `{}`", v.type_name(), v.to_string().trim()),
        None => item.type_name().to_string(),
    }
}

fn table<'i>(item: &'i Item, what: &str, diagnostics: &mut Diagnostics) -> Option<&'i dyn TableLike> {
    let found = item.as_table_like();
    if found.is_none() {
        diagnostics.error(item.span(), format!("`{what}` must be a table, found {}", describe(item)));
    }
    found
}

pub fn text(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<String> {
    let found = item.as_str().map(str::to_string);
    if found.is_none() {
        diagnostics.error(item.span(), format!("`{what}` must be a string, found {}", describe(item)));
    }
    found
}

pub fn whole(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<i64> {
    let found = item.as_integer();
    if found.is_none() {
        diagnostics.error(item.span(), format!("`{what}` must be a whole number, found {}", describe(item)));
    }
    found
}

fn positive(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<usize> {
    let n = whole(item, what, diagnostics)?;
    if n < 1 {
        diagnostics.error(item.span(), format!("`{what}` must be at least 1, found {n}"));
        return None;
    }
    Some(n as usize)
}

pub fn number(item: &Item, what: &str, diagnostics: &mut Diagnostics) -> Option<f64> {
    let found = item.as_float().or_else(|| item.as_integer().map(|i| i as f64));
    if found.is_none() {
        diagnostics.error(item.span(), format!("`{what}` must be a number, found {}", describe(item)));
    }
    found
}
