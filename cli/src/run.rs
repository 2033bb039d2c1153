//! An experiment, checked, made into a trainer of the trainer it names (through the
//! declaration's `Declared::from_values`), then built (`check`), trained (`train`, `resume`)
//! or scored from a checkpoint (`eval`).

use crate::check::spec_for;
use crate::experiment::{CheckpointSpec, Experiment, KeyEntry, Section, ValidationSpec};
use crate::registry::datasets::{Data, DATASETS};
use crate::registry::losses::{triplet_margin, Loss, LOSSES};
use crate::registry::{clippers::CLIPPERS, miners::MINERS, models::MODELS, optimizers::OPTIMIZERS, samplers::SAMPLERS, schedulers::SCHEDULERS, transforms::TRANSFORMS, Context};
use metric_learning::checkpoint::Checkpoints;
use metric_learning::data::InMemoryDataset;
use metric_learning::declared::{family_member, Declared, KeyValues};
use metric_learning::engine::EngineBuilder;
use metric_learning::evaluation::{AccuracyCalculator, GlobalEmbeddingSpace, GlobalEmbeddingSpaceTester, Metric, K};
use metric_learning::hooks::{Better, Plots, Records, Validation};
use metric_learning::precision::MixedPrecision;
use metric_learning::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What to do once the trainer is built.
pub enum Action {
    /// Stop there: the models have run on one sample (`check`).
    Build,
    /// Train (from the checkpoint, when resuming), then score the test set.
    Train { resume: Option<PathBuf> },
    /// Load the checkpoint's weights and score this set with the accuracy calculator.
    Eval { checkpoint: PathBuf, data: Data },
}

/// What a run printed, and the test set's scores after training when it has one.
pub struct Outcome {
    pub report: String,
    pub scores: Option<KnnScores>,
}

/// The file a run folder keeps of the experiment that wrote it.
pub const RECORD: &str = "experiment.toml";

/// Builds (and trains, or scores) the experiment's trainer. `source` is the file's text (kept
/// in the run folder); `overwrite` lets a run folder that holds another experiment be reused.
pub fn run(experiment: &Experiment, action: Action, source: &str, overwrite: bool) -> metric_learning::Result<Outcome> {
    if matches!(action, Action::Train { .. }) {
        if let Some(folder) = &experiment.run_folder {
            claim_run_folder(Path::new(folder), source, overwrite)?;
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
fn claim_run_folder(folder: &Path, source: &str, overwrite: bool) -> metric_learning::Result<()> {
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

/// The file's values for the trainer's keys, by name.
fn key_values<T: Declared>(experiment: &Experiment, context: &Context) -> metric_learning::Result<KeyValues> {
    let mut values = KeyValues::new();
    let mut entries: Vec<&KeyEntry> = experiment.keys.iter().collect();
    // An indexed family's members go in by index.
    entries.sort_by_key(|e| spec_for(T::KEYS, &e.name).and_then(|s| family_member(&e.name, s.name)).unwrap_or(0));
    for entry in entries {
        let declared = spec_for(T::KEYS, &entry.name);
        let name = declared.map_or(entry.name.as_str(), |s| s.name);
        match entry.section {
            Section::Models => values.insert(name, MODELS.make(&entry.spec, context)?),
            // A key declared with the concrete type (DAML's `g_adv_loss`) takes that type.
            Section::Losses if declared.is_some_and(|s| s.value_type == "TripletMarginLoss") => {
                if entry.spec.type_name != "TripletMarginLoss" {
                    return Err(Error::config(format!("`{name}` of `{}` takes a TripletMarginLoss, found `{}`", T::NAME, entry.spec.type_name)));
                }
                values.insert(name, triplet_margin(&entry.spec.params, context)?)
            }
            Section::Losses => match LOSSES.make(&entry.spec, context)? {
                Loss::Metric(loss) => values.insert(name, loss),
                Loss::Classifier(loss) => values.insert(name, loss),
            },
            Section::Miners => values.insert(name, MINERS.make(&entry.spec, context)?),
        }
    }
    for (name, value) in &experiment.trainer_params {
        value.insert(name, &mut values, context)?;
    }
    Ok(values)
}

/// The model or loss key `name` of trainer `T`.
fn key<T: Declared>(name: &str) -> metric_learning::Result<T::Key> {
    T::key_named(name).ok_or_else(|| Error::config(format!("`{name}` is not a model or loss of `{}`", T::NAME)))
}

/// Everything the file says besides the keys: per-key optimizers, schedulers and clippers,
/// freezing, loss weights, the sampler and the loader, the precision, the run folder's
/// checkpoints and hooks, validation.
fn engine<T: Declared + Step>(experiment: &Experiment, context: &Context, test: Option<&Arc<InMemoryDataset>>) -> metric_learning::Result<EngineBuilder<T>> {
    let mut engine = EngineBuilder::<T>::new();
    for (name, _, spec) in &experiment.optimizers {
        engine = engine.optimizer(key::<T>(name)?, OPTIMIZERS.make(spec, context)?);
    }
    for (name, _, spec) in &experiment.schedulers {
        let (step, scheduler) = SCHEDULERS.make(spec, context)?;
        engine = engine.scheduler(key::<T>(name)?, step, scheduler);
    }
    for (name, _, spec) in &experiment.grad_clippers {
        engine = engine.grad_clipper(key::<T>(name)?, CLIPPERS.make(spec, context)?);
    }
    engine = engine.freeze(experiment.freeze.iter().map(|(name, _)| key::<T>(name)).collect::<metric_learning::Result<Vec<_>>>()?);
    for (name, _, weight) in &experiment.loss_weights {
        let loss = T::loss_named(name).ok_or_else(|| Error::config(format!("`{name}` is not a loss of `{}`", T::NAME)))?;
        engine = engine.loss_weight(loss, *weight);
    }
    if let Some(spec) = &experiment.sampler {
        engine = engine.sampler(SAMPLERS.make(spec, context)?);
    }
    if !experiment.augmentation.is_empty() {
        let transforms = experiment.augmentation.iter().map(|spec| TRANSFORMS.make(spec, context)).collect::<metric_learning::Result<Vec<_>>>()?;
        engine = engine.augmentation(Arc::new(metric_learning::transforms::Compose(transforms)));
    }
    if let Some(workers) = experiment.loader_workers {
        engine = engine.dataloader_num_workers(workers);
    }
    if let Some(n) = experiment.iterations_per_epoch {
        engine = engine.iterations_per_epoch(n);
    }
    if let Some(seed) = experiment.seed {
        engine = engine.seed(seed);
    }
    if let Some(spec) = &experiment.mixed_precision {
        let precision = if spec.half { MixedPrecision::fp16() } else { MixedPrecision::bf16() };
        engine = engine.mixed_precision(if spec.even_if_emulated { precision.even_if_emulated() } else { precision });
    }
    if let Some(folder) = &experiment.run_folder {
        engine = engine.run_folder(folder.into()).checkpoints(checkpoints(experiment.checkpoints.as_ref())).hook(Box::new(Records::new()));
        if experiment.plots {
            engine = engine.hook(Box::new(Plots::new()));
        }
    }
    if let Some(spec) = &experiment.validation {
        engine = engine.hook(Box::new(validation(spec, test, context)?));
    }
    Ok(engine)
}

/// A checkpoint every epoch unless `[checkpoints]` says otherwise.
fn checkpoints(spec: Option<&CheckpointSpec>) -> Checkpoints {
    let mut checkpoints = Checkpoints::new().every_epochs(1);
    let Some(spec) = spec else { return checkpoints };
    if let Some(n) = spec.every_iterations {
        checkpoints = checkpoints.every_iterations(n);
    }
    if let Some(n) = spec.every_epochs {
        checkpoints = checkpoints.every_epochs(n);
    }
    if let Some(k) = spec.keep_last {
        checkpoints = checkpoints.keep_last(k);
    }
    checkpoints
}

/// PML's tester on the `[validation]` set (the `[test]` set unless it names one), its primary
/// metric deciding the best epoch and patience.
fn validation(spec: &ValidationSpec, test: Option<&Arc<InMemoryDataset>>, context: &Context) -> metric_learning::Result<Validation<GlobalEmbeddingSpace>> {
    let split = match &spec.dataset {
        Some(dataset) => DATASETS.make(dataset, context)?.in_memory()?,
        None => test.cloned().ok_or_else(|| Error::config("[validation] has no `dataset`, and the experiment no [test] set to validate on"))?,
    };
    let metrics = if spec.metrics.is_empty() { vec![Metric::PrecisionAt1, Metric::RPrecision, Metric::MeanAveragePrecisionAtR] } else { spec.metrics.clone() };
    let primary = spec.primary.unwrap_or(metrics[0]);
    if !metrics.contains(&primary) {
        return Err(Error::config(format!("[validation]: the primary metric `{primary}` is not among its metrics")));
    }
    let tester = GlobalEmbeddingSpaceTester::new().batch_size(1000).accuracy_calculator(AccuracyCalculator::new().include(metrics).k(K::MaxBinCount));
    let validation = Validation::new(tester, vec![("val".to_string(), split as Arc<dyn Dataset>)]).every(spec.every).primary("val", format!("{primary}_level0"), Better::Higher);
    Ok(match spec.patience {
        Some(patience) => validation.patience(patience),
        None => validation,
    })
}

fn go<T: Declared + Step>(experiment: &Experiment, action: Action) -> metric_learning::Result<Outcome> {
    let missing = |what: &str| Error::config(format!("the experiment has no {what}"));
    // libtorch's generator draws the models' first weights: seeded first, as the demo does.
    if let Some(seed) = experiment.seed {
        tch::manual_seed(seed as i64);
    }
    let dataset_spec = experiment.dataset.as_ref().ok_or_else(|| missing("dataset"))?;
    let dataset = DATASETS.make(dataset_spec, &Context::EMPTY)?;
    if dataset.normalizes() {
        return Err(Error::config("[dataset]: `mean` and `std` normalise a set that is scored ([test], [validation]); the training images' normalisation goes in `augmentation` (a Normalize transform)"));
    }
    let (labels, label_rows) = (dataset.labels(), dataset.label_rows());
    let context = Context { labels: &labels, label_rows: &label_rows };
    let keys = T::from_values(key_values::<T>(experiment, &context)?)?;
    let test = match &experiment.test {
        Some(spec) => Some(DATASETS.make(spec, &context)?.in_memory()?),
        None => None,
    };
    let engine = engine::<T>(experiment, &context, test.as_ref())?;
    let batch_size = experiment.batch_size.ok_or_else(|| missing("batch_size"))?;
    let training = matches!(action, Action::Train { .. });
    let mut trainer = engine.progress_bar(training).build(keys, dataset.shared(), batch_size)?;
    let summary = format!("{}: {} iterations per epoch of {batch_size}", T::NAME, trainer.iterations_per_epoch());
    let resume = match action {
        Action::Build => return Ok(Outcome { report: format!("ok: {summary}; the models ran on one sample"), scores: None }),
        Action::Eval { checkpoint, data } => return evaluate(&mut trainer, &checkpoint, &data),
        Action::Train { resume } => resume,
    };
    let epochs = experiment.epochs.ok_or_else(|| missing("epochs"))?;
    train(&mut trainer, test.as_deref(), resume.as_deref(), epochs)
}

/// Precision@1, R-precision and MAP@R of the test set's embeddings.
fn scores<T: Step>(trainer: &mut Trainer<T>, test: Option<&InMemoryDataset>) -> metric_learning::Result<Option<KnnScores>> {
    let Some(test) = test else { return Ok(None) };
    let labels = test.all_labels().int_column(0).unwrap_or_default();
    Ok(Some(knn_scores(&trainer.embed(test.data(), 1000)?, &labels)?))
}

/// Trains to `epochs` (from `resume`, when given), scoring the test set before and after.
fn train<T: Step>(trainer: &mut Trainer<T>, test: Option<&InMemoryDataset>, resume: Option<&Path>, epochs: usize) -> metric_learning::Result<Outcome> {
    let mut report = String::new();
    if let Some(checkpoint) = resume {
        trainer.resume(checkpoint)?;
        report += &format!("resumed from {} (epoch {} done)\n", checkpoint.display(), trainer.epoch());
    }
    let before = scores(trainer, test)?;
    let (started, done) = (Instant::now(), trainer.epoch());
    trainer.train_to(epochs)?;
    let trained = trainer.epoch() - done;
    report += &format!("trained {trained} epochs ({} iterations) in {:.1} s", trained * trainer.iterations_per_epoch(), started.elapsed().as_secs_f64());
    let after = scores(trainer, test)?;
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

/// The checkpoint's models on `data`, every metric of the accuracy calculator (each sample a
/// query against the rest, as PML's `get_accuracy(query, query_labels)`).
fn evaluate<T: Step>(trainer: &mut Trainer<T>, checkpoint: &Path, data: &Data) -> metric_learning::Result<Outcome> {
    trainer.resume(checkpoint)?;
    let set = data.in_memory()?;
    let embeddings = trainer.embed(set.data(), 1000)?;
    let labels = Tensor::from_slice(&set.all_labels().int_column(0).ok_or_else(|| Error::data("eval needs whole-number labels"))?);
    let accuracies = AccuracyCalculator::new().k(K::MaxBinCount).get_accuracy(&embeddings, &labels)?;
    let report = format!("{} after epoch {} of {}, on {} samples:\n{accuracies}", T::NAME, trainer.epoch(), checkpoint.display(), set.len());
    Ok(Outcome { report, scores: None })
}
