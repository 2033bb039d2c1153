//! The validation hook (PML's `HookContainer.end_of_epoch_hook` with a tester): every N epochs a
//! tester scores named splits with the trainer's models; the results go to a CSV log, the best
//! epoch of one primary metric is kept as the best checkpoint, plateau schedulers step on it, and
//! training stops after a number of validations without improvement.

use super::csv_log::{cell, CsvLog};
use super::Hook;
use crate::data::Dataset;
use crate::engine::Trainer;
use crate::evaluation::{TestResults, Tester, TesterKind};
use crate::trainer::Step;
use crate::{Error, Result};
use serde_json::{json, Value};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The log's file name, in the records' folder.
const FILE: &str = "validation.csv";

/// PML's default primary metric.
const DEFAULT_KEY: &str = "precision_at_1_level0";

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Higher is better (accuracies: precision@1, MAP@R).
    Higher,
    /// Lower is better (an error rate, a validation loss).
    Lower,
}

impl Better {
    /// Whether `value` improves on `best` (a NaN never does).
    fn improves(self, value: f64, best: Option<f64>) -> bool {
        match (self, best) {
            _ if value.is_nan() => false,
            (_, None) => true,
            (Better::Higher, Some(best)) => value > best,
            (Better::Lower, Some(best)) => value < best,
        }
    }
}

/// A tester run on named splits every `n` epochs, with the trainer's models:
///
/// - one row per query split in `<run folder>/logs/validation.csv`: `epoch,split,<each key of
///   the results>` (`precision_at_1_level0`, ...); no file when the run has no folder
/// - one line on stdout: `validation epoch 3: val precision_at_1_level0 0.8123 (best 0.8123 at
///   epoch 3)`
/// - when the primary metric improves, the trainer is asked to keep this epoch's checkpoint as
///   the best (`best.safetensors`, when checkpoints are on)
/// - plateau schedulers step on the primary metric (unless `.step_plateau_schedulers(false)`)
/// - with `.patience(n)`, training stops after `n` validations in a row without improvement
///
/// The primary metric is, unless `.primary(...)` says otherwise, `precision_at_1_level0` of the
/// last split, higher better. A checkpoint keeps the best value and epoch, the count of
/// validations without improvement and the log's rows, so a resumed run goes on as the
/// uninterrupted one would have. One per trainer (its state's key is `validation`).
///
/// ```no_run
/// # use metric_learning::prelude::*;
/// # use metric_learning::evaluation::GlobalEmbeddingSpaceTester;
/// # use metric_learning::hooks::{Better, Validation};
/// # use std::sync::Arc;
/// # fn run(trunk: Model, train: InMemoryDataset, val: InMemoryDataset) -> metric_learning::Result<()> {
/// let validation = Validation::new(GlobalEmbeddingSpaceTester::new(), vec![("val".to_string(), Arc::new(val) as Arc<dyn Dataset>)])
///     .every(2)
///     .primary("val", "mean_average_precision_at_r_level0", Better::Higher)
///     .patience(5);
/// let mut trainer = MetricLossOnly::builder()
///     .trunk(trunk)
///     .metric_loss(TripletMarginLoss::new())
///     .run_folder("runs/triplet")
///     .checkpoints(metric_learning::checkpoint::Checkpoints::new())
///     .hook(validation)
///     .dataset(train)
///     .batch_size(32)
///     .build()?;
/// trainer.train(100)?; // stops early once MAP@R stops improving
/// # Ok(()) }
/// ```
pub struct Validation<K: TesterKind> {
    tester: Tester<K>,
    splits: Vec<(String, Arc<dyn Dataset>)>,
    every: usize,
    splits_to_eval: Option<Vec<(String, Vec<String>)>>,
    primary: Option<(String, String, Better)>,
    patience: Option<usize>,
    step_plateau: bool,
    folder: Option<PathBuf>,
    /// The log's folder in use, once known (`on_start`, or the builder's); `None` without one.
    resolved: Option<PathBuf>,
    started: bool,
    /// The log, once opened; `None` without a folder.
    log: Option<CsvLog>,
    /// The log's rows from a checkpoint, applied when the log is opened.
    pending_rows: Option<usize>,
    /// The best primary value and its epoch.
    best: Option<(f64, usize)>,
    without_improvement: usize,
}

impl<K: TesterKind> Validation<K> {
    /// Runs `tester` on `splits` (name, dataset) at the end of every epoch.
    pub fn new(tester: Tester<K>, splits: Vec<(String, Arc<dyn Dataset>)>) -> Validation<K> {
        Validation {
            tester,
            splits,
            every: 1,
            splits_to_eval: None,
            primary: None,
            patience: None,
            step_plateau: true,
            folder: None,
            resolved: None,
            started: false,
            log: None,
            pending_rows: None,
            best: None,
            without_improvement: 0,
        }
    }

    /// At the end of every `n`-th epoch (epochs `n`, `2n`, ...; 0 counts as 1).
    pub fn every(mut self, n_epochs: usize) -> Self {
        self.every = n_epochs.max(1);
        self
    }

    /// Which query splits to score against which reference splits (the tester's
    /// `test_splits`); without it, the tester's `test` and its reference set.
    pub fn splits_to_eval(mut self, splits: Vec<(String, Vec<String>)>) -> Self {
        self.splits_to_eval = Some(splits);
        self
    }

    /// The metric that decides the best epoch and the patience: a key of the results of query
    /// split `split` (`"precision_at_1_level0"`, `"AVERAGE_r_precision"`).
    pub fn primary(mut self, split: impl Into<String>, key: impl Into<String>, better: Better) -> Self {
        self.primary = Some((split.into(), key.into(), better));
        self
    }

    /// Stops training after `n` validations in a row without improvement (0 counts as 1).
    pub fn patience(mut self, n: usize) -> Self {
        self.patience = Some(n.max(1));
        self
    }

    /// Whether plateau schedulers step on the primary metric (on by default).
    pub fn step_plateau_schedulers(mut self, on: bool) -> Self {
        self.step_plateau = on;
        self
    }

    /// Logs into `folder/validation.csv` instead of `<run folder>/logs/validation.csv`.
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.folder = Some(folder.into());
        self
    }

    /// The query splits the tester scores.
    fn queries(&self) -> Vec<&str> {
        match &self.splits_to_eval {
            Some(plan) => plan.iter().map(|(query, _)| query.as_str()).collect(),
            None => self.splits.iter().map(|(name, _)| name.as_str()).collect(),
        }
    }

    /// The primary metric: the builder's, or precision@1 of the last query split.
    fn primary_metric(&self) -> Option<(String, String, Better)> {
        self.primary.clone().or_else(|| self.queries().last().map(|split| (split.to_string(), DEFAULT_KEY.to_string(), Better::Higher)))
    }

    /// Opens the log in the folder in use: the checkpoint's, cut back to its rows, or a new one
    /// (created at its first row).
    fn open_log(&mut self) -> Result<()> {
        let rows = self.pending_rows.take();
        // A run without a folder writes no log: there is nothing to continue either.
        let Some(folder) = &self.resolved else { return Ok(()) };
        self.log = Some(match rows {
            Some(rows) => CsvLog::resume(folder.join(FILE), rows)?,
            None => CsvLog::new(folder.join(FILE)),
        });
        Ok(())
    }

    /// The tester's results for `epoch`.
    fn test<T: Step>(&self, trainer: &mut Trainer<T>, epoch: usize) -> Result<TestResults> {
        let datasets: Vec<(&str, &dyn Dataset)> = self.splits.iter().map(|(name, dataset)| (name.as_str(), dataset.as_ref())).collect();
        match &self.splits_to_eval {
            None => self.tester.test(trainer, &datasets, epoch),
            Some(plan) => {
                let references: Vec<Vec<&str>> = plan.iter().map(|(_, refs)| refs.iter().map(String::as_str).collect()).collect();
                let plan: Vec<(&str, &[&str])> = plan.iter().zip(&references).map(|((query, _), refs)| (query.as_str(), refs.as_slice())).collect();
                self.tester.test_splits(trainer, &datasets, &plan, epoch)
            }
        }
    }

    /// One row per query split.
    fn log_results(&mut self, results: &TestResults) -> Result<()> {
        let Some(log) = &mut self.log else { return Ok(()) };
        for split in &results.splits {
            let mut cells = vec![("epoch".to_string(), results.epoch.to_string()), ("split".to_string(), split.split.clone())];
            cells.extend(split.keyed().into_iter().map(|(key, value)| (key, cell(value))));
            log.append(&cells)?;
        }
        log.flush()
    }
}

impl<K: TesterKind> Validation<K> {
    /// `validation.png`: every metric of every split per validation, read back from the log
    /// (which a resumed run has cut back to its checkpoint, so the curves are the run's).
    fn draw_history(&self, plots: &Path) -> Result<()> {
        let Some(folder) = &self.resolved else { return Ok(()) };
        let path = folder.join(FILE);
        let invalid = |reason: String| Error::File { path: path.clone(), reason };
        let mut reader = csv::Reader::from_path(&path).map_err(|e| invalid(e.to_string()))?;
        let columns: Vec<String> = reader.headers().map_err(|e| invalid(e.to_string()))?.iter().map(String::from).collect();
        let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| invalid(e.to_string()))?;
            let (Some(epoch), Some(split)) = (record.get(0).and_then(|e| e.parse::<f64>().ok()), record.get(1)) else { continue };
            for (column, value) in columns.iter().zip(record.iter()).skip(2) {
                let Ok(value) = value.parse::<f64>() else { continue };
                let name = format!("{split} {column}");
                match curves.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, points)) => points.push((epoch, value)),
                    None => curves.push((name, vec![(epoch, value)])),
                }
            }
        }
        if curves.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(plots).map_err(|e| Error::File { path: plots.to_path_buf(), reason: format!("cannot create the plots folder: {e}") })?;
        let font = crate::evaluation::plot::font();
        super::plots::draw_curves(&plots.join("validation.png"), "Validation", "metric", &curves, font)
    }
}

/// The primary value in `results`, or an error listing what there is.
fn primary_value(results: &TestResults, split: &str, key: &str) -> Result<f64> {
    let Some(accuracies) = results.split(split) else {
        let found: Vec<&str> = results.splits.iter().map(|s| s.split.as_str()).collect();
        return Err(Error::config(format!(
            "validation's primary metric is on split `{split}`, which the tester did not score; it scored {}",
            found.join(", ")
        )));
    };
    let keyed = accuracies.keyed();
    keyed.iter().find(|(k, _)| k == key).map(|(_, v)| *v).ok_or_else(|| {
        let keys: Vec<&str> = keyed.iter().map(|(k, _)| k.as_str()).collect();
        Error::config(format!("validation's primary metric `{key}` is not among split `{split}`'s results, which are: {}", keys.join(", ")))
    })
}

impl<T: Step, K: TesterKind> Hook<T> for Validation<K> {
    fn name(&self) -> String {
        "validation".into()
    }

    fn on_start(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        if self.started {
            return Ok(());
        }
        if self.splits.is_empty() {
            return Err(Error::config("validation needs at least one split to test: Validation::new(tester, splits) was given none"));
        }
        if let Some((split, _, _)) = &self.primary {
            let queries = self.queries();
            if !queries.contains(&split.as_str()) {
                return Err(Error::config(format!(
                    "validation's primary metric is on split `{split}`, which is not among the query splits: {}",
                    queries.join(", ")
                )));
            }
        }
        self.resolved = self.folder.clone().or_else(|| trainer.run_folder().map(|run| run.join("logs")));
        if let Some(folder) = &self.resolved {
            std::fs::create_dir_all(folder).map_err(|e| Error::File { path: folder.clone(), reason: format!("cannot create the log folder: {e}") })?;
        }
        self.started = true;
        // A checkpoint restored with the builder's folder has opened the log already.
        if self.log.is_none() {
            self.open_log()?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        let epoch = trainer.epoch();
        if !epoch.is_multiple_of(self.every) {
            return Ok(ControlFlow::Continue(()));
        }
        let Some((split, key, better)) = self.primary_metric() else { return Ok(ControlFlow::Continue(())) };
        let results = self.test(trainer, epoch)?;
        self.log_results(&results)?;
        if let Some(run) = trainer.run_folder() {
            self.draw_history(&run.join("plots"))?;
        }
        let value = primary_value(&results, &split, &key)?;

        if better.improves(value, self.best.map(|(best, _)| best)) {
            self.best = Some((value, epoch));
            self.without_improvement = 0;
            trainer.request_best_checkpoint();
        } else {
            self.without_improvement += 1;
        }
        if self.step_plateau {
            trainer.step_plateau_schedulers(value);
        }
        let best = match self.best {
            Some((best, at)) => format!("best {best:.4} at epoch {at}"),
            None => "no best yet".to_string(),
        };
        println!("validation epoch {epoch}: {split} {key} {value:.4} ({best})");
        if let Some(patience) = self.patience {
            if self.without_improvement >= patience {
                println!(
                    "validation epoch {epoch}: stopping early: {split} {key} has not improved in {} validation(s), the patience ({best})",
                    self.without_improvement
                );
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn on_end(&mut self, _trainer: &mut Trainer<T>) -> Result<()> {
        self.log.as_mut().map_or(Ok(()), CsvLog::flush)
    }

    /// `{"best": <bits> | null, "best_epoch": n | null, "without_improvement": n, "rows": n |
    /// null}`; the log synced to the disk first.
    fn state(&mut self) -> Result<Value> {
        if let Some(log) = &mut self.log {
            log.sync()?;
        }
        let rows = self.pending_rows.or_else(|| self.log.as_ref().map(CsvLog::rows));
        Ok(json!({
            "best": self.best.map(|(best, _)| best.to_bits()),
            "best_epoch": self.best.map(|(_, epoch)| epoch),
            "without_improvement": self.without_improvement,
            "rows": rows,
        }))
    }

    /// Restores the best, the patience count and the log (cut back to the checkpoint's rows: at
    /// once when the hook has a `.folder(...)` or has started, else when training starts).
    fn load_state(&mut self, state: &Value) -> Result<()> {
        if state.is_null() {
            return Ok(());
        }
        let bad = || Error::data(format!("expected {{\"best\", \"best_epoch\", \"without_improvement\", \"rows\"}}, found {state}"));
        let best = match (&state["best"], &state["best_epoch"]) {
            (Value::Null, Value::Null) => None,
            (bits, epoch) => Some((f64::from_bits(bits.as_u64().ok_or_else(bad)?), epoch.as_u64().ok_or_else(bad)? as usize)),
        };
        let without_improvement = state["without_improvement"].as_u64().ok_or_else(bad)? as usize;
        let rows = match &state["rows"] {
            Value::Null => None,
            rows => Some(rows.as_u64().ok_or_else(bad)? as usize),
        };
        self.best = best;
        self.without_improvement = without_improvement;
        self.pending_rows = rows;
        // The folder is known once started, or from the builder: then the log reopens now, so
        // that a log shorter than the checkpoint fails the resume itself.
        if !self.started && self.folder.is_some() {
            self.resolved = self.folder.clone();
        }
        if self.started || self.folder.is_some() {
            self.log = None;
            self.open_log()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_values_improve() {
        assert!(Better::Higher.improves(0.5, None));
        assert!(Better::Higher.improves(0.6, Some(0.5)));
        assert!(!Better::Higher.improves(0.5, Some(0.5)), "equal is no improvement");
        assert!(Better::Lower.improves(0.4, Some(0.5)));
        assert!(!Better::Lower.improves(0.6, Some(0.5)));
        assert!(!Better::Higher.improves(f64::NAN, None), "a NaN never improves");
    }
}
