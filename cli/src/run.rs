//! An experiment, checked, made into a trainer of the trainer it names (through the
//! declaration's `Declared::from_values`), and trained.

use crate::check::spec_for;
use crate::experiment::{Experiment, KeyEntry, Section};
use crate::registry::losses::{Loss, LOSSES};
use crate::registry::{datasets::DATASETS, miners::MINERS, models::MODELS, optimizers::OPTIMIZERS, samplers::SAMPLERS, Context};
use metric_learning::data::InMemoryDataset;
use metric_learning::declared::{family_member, Declared, KeyValues};
use metric_learning::engine::EngineBuilder;
use metric_learning::prelude::*;
use std::sync::Arc;
use std::time::Instant;

/// What to do once the trainer is built.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop there: the models have run on one batch (`check`).
    Build,
    /// Train, then score the test set (`train`).
    Train,
}

/// What a run printed, and the test set's scores after training when it has one.
pub struct Outcome {
    pub report: String,
    pub scores: Option<KnnScores>,
}

/// The file a run folder keeps of the experiment that wrote it.
const RECORD: &str = "experiment.toml";

/// Builds (and trains) the experiment's trainer. `source` is the file's text (kept in the run
/// folder); `overwrite` lets a run folder that holds another experiment be reused.
pub fn run(experiment: &Experiment, action: Action, source: &str, overwrite: bool) -> metric_learning::Result<Outcome> {
    if action == Action::Train {
        if let Some(folder) = &experiment.run_folder {
            claim_run_folder(std::path::Path::new(folder), source, overwrite)?;
        }
    }
    let trainer = experiment.trainer.as_ref().map(|(t, _)| t.as_str()).unwrap_or_default();
    match trainer {
        "MetricLossOnly" => go::<MetricLossOnly>(experiment, action),
        "TrainWithClassifier" => go::<TrainWithClassifier>(experiment, action),
        "CascadedEmbeddings" => go::<CascadedEmbeddings>(experiment, action),
        "DeepAdversarialMetricLearning" => go::<DeepAdversarialMetricLearning>(experiment, action),
        "TwoStreamMetricLoss" => go::<TwoStreamMetricLoss>(experiment, action),
        "UnsupervisedEmbeddingsUsingAugmentations" => go::<UnsupervisedEmbeddingsUsingAugmentations>(experiment, action),
        other => Err(Error::config(format!("no trainer named `{other}`"))),
    }
}

/// Keeps the experiment's text in its run folder; refuses a folder that holds another one's
/// unless `overwrite`. Written to a temporary file and renamed, so that it is never half there.
fn claim_run_folder(folder: &std::path::Path, source: &str, overwrite: bool) -> metric_learning::Result<()> {
    let record = folder.join(RECORD);
    let file_error = |reason: String| Error::File { path: record.clone(), reason };
    if let Ok(held) = std::fs::read_to_string(&record) {
        if held != source && !overwrite {
            return Err(file_error("the run folder holds another experiment (its experiment.toml differs from this one): pass --overwrite to reuse it, or give another run_folder".into()));
        }
    }
    std::fs::create_dir_all(folder).map_err(|e| file_error(format!("cannot create the run folder: {e}")))?;
    let temporary = folder.join(format!(".{RECORD}.{}", std::process::id()));
    std::fs::write(&temporary, source).and_then(|_| std::fs::rename(&temporary, &record)).map_err(|e| file_error(format!("cannot write it: {e}")))
}

fn make<T>(module: Option<&crate::registry::Module<T>>, spec: &crate::experiment::Spec, context: &Context) -> metric_learning::Result<T> {
    let module = module.ok_or_else(|| Error::config(format!("no module named `{}`", spec.type_name)))?;
    (module.make)(&spec.params, context)
}

fn go<T: Declared + Step>(experiment: &Experiment, action: Action) -> metric_learning::Result<Outcome> {
    let missing = |what: &str| Error::config(format!("the experiment has no {what}"));
    // libtorch's generator draws the models' first weights: seeded first, as the demo does.
    if let Some(seed) = experiment.seed {
        tch::manual_seed(seed as i64);
    }
    let dataset_spec = experiment.dataset.as_ref().ok_or_else(|| missing("dataset"))?;
    let dataset: InMemoryDataset = make(DATASETS.find(dataset_spec.type_name), dataset_spec, &Context { labels: &[] })?;
    let labels = dataset.all_labels().int_column(0).unwrap_or_default();
    let context = Context { labels: &labels };

    let mut values = KeyValues::new();
    let mut entries: Vec<&KeyEntry> = experiment.keys.iter().collect();
    // An indexed family's members go in by index.
    entries.sort_by_key(|e| spec_for(T::KEYS, &e.name).and_then(|s| family_member(&e.name, s.name)).unwrap_or(0));
    for entry in entries {
        let name = spec_for(T::KEYS, &entry.name).map_or(entry.name.as_str(), |s| s.name);
        match entry.section {
            Section::Models => values.insert(name, make(MODELS.find(entry.spec.type_name), &entry.spec, &context)?),
            Section::Losses => match make(LOSSES.find(entry.spec.type_name), &entry.spec, &context)? {
                Loss::Metric(loss) => values.insert(name, loss),
                Loss::Classifier(loss) => values.insert(name, loss),
            },
            Section::Miners => values.insert(name, make(MINERS.find(entry.spec.type_name), &entry.spec, &context)?),
        }
    }
    let keys = T::from_values(values)?;
    let mut engine = EngineBuilder::<T>::new();
    for (name, _, spec) in &experiment.optimizers {
        let key = T::key_named(name).ok_or_else(|| Error::config(format!("`{name}` is not a model or loss of `{}`", T::NAME)))?;
        engine = engine.optimizer(key, make(OPTIMIZERS.find(spec.type_name), spec, &context)?);
    }
    for (name, _, weight) in &experiment.loss_weights {
        let loss = T::loss_named(name).ok_or_else(|| Error::config(format!("`{name}` is not a loss of `{}`", T::NAME)))?;
        engine = engine.loss_weight(loss, *weight);
    }
    if let Some(spec) = &experiment.sampler {
        engine = engine.sampler(make(SAMPLERS.find(spec.type_name), spec, &context)?);
    }
    if let Some(n) = experiment.iterations_per_epoch {
        engine = engine.iterations_per_epoch(n);
    }
    if let Some(seed) = experiment.seed {
        engine = engine.seed(seed);
    }
    if let Some(folder) = &experiment.run_folder {
        engine = engine.run_folder(folder.into()).checkpoints(metric_learning::checkpoint::Checkpoints::new().every_epochs(1));
        engine = engine.hook(Box::new(metric_learning::hooks::Records::new()));
    }
    let batch_size = experiment.batch_size.ok_or_else(|| missing("batch_size"))?;
    let mut trainer = engine.progress_bar(action == Action::Train).build(keys, Arc::new(dataset), batch_size)?;
    let summary = format!("{}: {} iterations per epoch of {batch_size}", T::NAME, trainer.iterations_per_epoch());
    if action == Action::Build {
        return Ok(Outcome { report: format!("ok: {summary}; the models ran on one sample"), scores: None });
    }
    let test = match &experiment.test {
        Some(spec) => Some(make(DATASETS.find(spec.type_name), spec, &context)?),
        None => None,
    };
    let scores = |trainer: &mut Trainer<T>, test: &Option<InMemoryDataset>| -> metric_learning::Result<Option<KnnScores>> {
        let Some(test) = test else { return Ok(None) };
        let labels = test.all_labels().int_column(0).unwrap_or_default();
        Ok(Some(knn_scores(&trainer.embed(test.data(), 1000)?, &labels)?))
    };
    let before = scores(&mut trainer, &test)?;
    let epochs = experiment.epochs.ok_or_else(|| missing("epochs"))?;
    let started = Instant::now();
    trainer.train_to(epochs)?;
    let mut report = format!("trained {epochs} epochs ({} iterations) in {:.1} s", epochs * trainer.iterations_per_epoch(), started.elapsed().as_secs_f64());
    let after = scores(&mut trainer, &test)?;
    if let (Some(before), Some(after)) = (before, &after) {
        report += &format!(
            "\n{}: precision_at_1 {:.3} -> {:.3}, r_precision {:.3} -> {:.3}, map_at_r {:.3} -> {:.3}",
            T::NAME,
            before.precision_at_1,
            after.precision_at_1,
            before.r_precision,
            after.r_precision,
            before.map_at_r,
            after.map_at_r
        );
    }
    Ok(Outcome { report, scores: after })
}
