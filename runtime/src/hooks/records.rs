//! The records hook (PML's `logging_presets` record keeper, as CSV): every iteration's losses,
//! learning rates and loss and miner statistics, one CSV file per group, and one summary line per
//! epoch on stdout. A resumed run continues the files where its checkpoint left them.

use super::csv_log::{cell, CsvLog};
use super::epoch_means::EpochMeans;
use super::Hook;
use crate::engine::Trainer;
use crate::trainer::{KeyName, TrainerKeys};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// The files of the trainer's own groups; a recorder (a loss or miner key) of one of these names
/// would write into them.
const LOSSES: &str = "losses.csv";
const LEARNING_RATES: &str = "learning_rates.csv";
const RESERVED: [&str; 3] = ["losses", "learning_rates", "validation"];

/// Logs every iteration into CSV files, one row per iteration, plain CSV with a header row
/// (`pandas.read_csv` reads them):
///
/// - `losses.csv`: `epoch,iteration,global_iteration,total_loss,<each loss>` (weighted, as
///   trained on; empty where the step computed no such loss)
/// - `learning_rates.csv`: `epoch,iteration,global_iteration,<each key with an optimizer>`
/// - `<key>.csv` for each loss and miner that records statistics, one row per statistic
///   (`tuple_miner.csv`: `epoch,iteration,global_iteration,statistic,value`; pandas'
///   `pivot_table` makes it wide), because which statistics a module records can change
///   during a run
///
/// A file's columns are those of its first row. Files are flushed at every epoch's end and
/// synced when a checkpoint is written; at every epoch's end one line goes to stdout:
/// `epoch 3: total_loss 0.1234 (metric_loss 0.1234), lr trunk 0.001`, means over the epoch.
///
/// A checkpoint keeps each file's row count; a resumed run cuts the files back to it, so that
/// they read as one uninterrupted run.
///
/// ```no_run
/// # use metric_learning::prelude::*;
/// # use metric_learning::hooks::Records;
/// # fn run(trunk: Model, train: InMemoryDataset) -> metric_learning::Result<()> {
/// let mut trainer = MetricLossOnly::builder()
///     .trunk(trunk)
///     .metric_loss(TripletMarginLoss::new())
///     .run_folder("runs/triplet")
///     .hook(Records::new()) // runs/triplet/logs/losses.csv, ...
///     .dataset(train)
///     .batch_size(32)
///     .build()?;
/// trainer.train(10)?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Records {
    /// The builder's folder, if given.
    folder: Option<PathBuf>,
    /// The folder in use, once known (`on_start`).
    resolved: Option<PathBuf>,
    /// The open logs, by file name.
    logs: BTreeMap<String, CsvLog>,
    /// Row counts from a checkpoint, applied once the folder is known.
    pending: Option<BTreeMap<String, usize>>,
    /// This epoch's losses (`total_loss` first) and learning rates, for the summary.
    losses: EpochMeans,
    learning_rates: EpochMeans,
}

impl Records {
    /// Logs into `<run folder>/logs` (the builder's `run_folder`).
    pub fn new() -> Records {
        Records::default()
    }

    /// Logs into `folder` instead (created if missing).
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Records {
        self.folder = Some(folder.into());
        self
    }

    /// The folder in use: resolved at `on_start`, or the builder's.
    fn current_folder(&self) -> Option<PathBuf> {
        self.resolved.clone().or_else(|| self.folder.clone())
    }

    /// Cuts the checkpoint's files back to its row counts and reopens them.
    fn apply_pending(&mut self) -> Result<()> {
        let Some(folder) = self.current_folder() else { return Ok(()) };
        let Some(pending) = self.pending.take() else { return Ok(()) };
        for (file, rows) in pending {
            let log = CsvLog::resume(folder.join(&file), rows)?;
            self.logs.insert(file, log);
        }
        Ok(())
    }

    /// Appends `cells` after the trainer's position to the log `file`, opening it on first use.
    fn append(&mut self, file: &str, position: &[(String, String)], cells: Vec<(String, String)>) -> Result<()> {
        let folder = self.resolved.clone().ok_or_else(|| Error::config("the records hook was not started: its folder is unknown"))?;
        let log = self.logs.entry(file.to_string()).or_insert_with(|| CsvLog::new(folder.join(file)));
        let row: Vec<(String, String)> = position.iter().cloned().chain(cells).collect();
        log.append(&row)
    }

    fn flush(&mut self) -> Result<()> {
        self.logs.values_mut().try_for_each(CsvLog::flush)
    }

    /// `epoch 3: total_loss 0.1234 (metric_loss 0.1234), lr trunk 0.001`.
    fn summary(&self, epoch: usize) -> Option<String> {
        let losses = self.losses.means();
        let (_, total) = losses.iter().find(|(name, _)| name == "total_loss")?;
        let mut line = format!("epoch {epoch}: total_loss {total:.4}");
        let parts: Vec<String> = losses.iter().filter(|(name, _)| name != "total_loss").map(|(name, v)| format!("{name} {v:.4}")).collect();
        if !parts.is_empty() {
            line += &format!(" ({})", parts.join(", "));
        }
        let rates: Vec<String> = self.learning_rates.means().iter().map(|(key, lr)| format!("{key} {}", significant(*lr, 4))).collect();
        if !rates.is_empty() {
            line += &format!(", lr {}", rates.join(", "));
        }
        Some(line)
    }
}

/// `x` to `digits` significant digits, without trailing zeros: `0.001`, `0.0001235`, `12.5`.
fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

impl<T: TrainerKeys> Hook<T> for Records {
    fn name(&self) -> String {
        "records".into()
    }

    fn on_start(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        if self.resolved.is_none() {
            let folder = self.folder.clone().or_else(|| trainer.run_folder().map(|run| run.join("logs"))).ok_or_else(|| {
                Error::config(
                    "the records hook writes CSV files into a folder: give the builder a `run_folder(...)` (they go to \
                     <run folder>/logs) or the hook a `.folder(...)`; found neither",
                )
            })?;
            std::fs::create_dir_all(&folder)
                .map_err(|e| Error::File { path: folder.clone(), reason: format!("cannot create the records folder: {e}") })?;
            self.resolved = Some(folder);
        }
        self.apply_pending()
    }

    fn on_iteration_end(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        let position = vec![
            ("epoch".to_string(), trainer.epoch().to_string()),
            ("iteration".to_string(), trainer.iteration().to_string()),
            ("global_iteration".to_string(), trainer.global_iteration().to_string()),
        ];

        // Every loss key is a column from the first row, computed or not this iteration, so that
        // a loss a phase leaves out at first (DAML) does not change the columns later.
        let computed = trainer.losses();
        let total = trainer.total_loss();
        self.losses.add("total_loss", total);
        let mut losses = vec![("total_loss".to_string(), cell(total))];
        for loss in trainer.keys().loss_keys() {
            let value = computed.iter().find(|(l, _)| *l == loss).map(|(_, v)| *v);
            if let Some(value) = value {
                self.losses.add(&loss.name(), value);
            }
            losses.push((loss.name(), value.map(cell).unwrap_or_default()));
        }
        self.append(LOSSES, &position, losses)?;

        let rates = trainer.learning_rates();
        for (key, lr) in &rates {
            self.learning_rates.add(key, *lr);
        }
        if !rates.is_empty() {
            self.append(LEARNING_RATES, &position, rates.into_iter().map(|(key, lr)| (key, cell(lr))).collect())?;
        }

        for (recorder, records) in trainer.records() {
            if RESERVED.contains(&recorder.as_str()) {
                return Err(Error::config(format!(
                    "the records hook writes key `{recorder}`'s statistics to {recorder}.csv, a file it writes itself: rename the key"
                )));
            }
            // One row per statistic (`statistic,value`): which statistics a module records can
            // change during a run (a loss a DAML phase starts computing adds its counts), and
            // the columns must not.
            for record in records {
                let cells = vec![("statistic".to_string(), record.name.to_string()), ("value".to_string(), cell(record.value))];
                self.append(&format!("{recorder}.csv"), &position, cells)?;
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        self.flush()?;
        if let Some(line) = self.summary(trainer.epoch()) {
            println!("{line}");
        }
        self.losses.clear();
        self.learning_rates.clear();
        Ok(ControlFlow::Continue(()))
    }

    fn on_end(&mut self, _trainer: &mut Trainer<T>) -> Result<()> {
        self.flush()
    }

    /// `{"rows": {"losses.csv": 120, ...}, "losses": ..., "learning_rates": ...}`: each file's
    /// rows, synced to the disk, and this epoch's running sums.
    fn state(&mut self) -> Result<Value> {
        self.logs.values_mut().try_for_each(CsvLog::sync)?;
        let mut rows: BTreeMap<String, usize> = self.logs.iter().map(|(file, log)| (file.clone(), log.rows())).collect();
        // Restored but not yet reopened (a checkpoint before any training): still the run's.
        if let Some(pending) = &self.pending {
            rows.extend(pending.iter().map(|(file, n)| (file.clone(), *n)));
        }
        let rows: Map<String, Value> = rows.into_iter().map(|(file, n)| (file, json!(n))).collect();
        Ok(json!({ "rows": rows, "losses": self.losses.state(), "learning_rates": self.learning_rates.state() }))
    }

    /// Cuts each file back to the rows the checkpoint counted and reopens it for appending (at
    /// once when the hook has a `.folder(...)`, else when training starts and the run folder is
    /// known).
    fn load_state(&mut self, state: &Value) -> Result<()> {
        if state.is_null() {
            return Ok(());
        }
        let rows = state["rows"].as_object().ok_or_else(|| Error::data(format!("expected {{\"rows\": {{file: count}}, ...}}, found {state}")))?;
        let mut pending = BTreeMap::new();
        for (file, n) in rows {
            let n = n.as_u64().ok_or_else(|| Error::data(format!("expected a row count for {file}, found {n}")))?;
            pending.insert(file.clone(), n as usize);
        }
        let losses = EpochMeans::from_state(&state["losses"])?;
        let learning_rates = EpochMeans::from_state(&state["learning_rates"])?;
        self.logs.clear();
        self.pending = Some(pending);
        self.losses = losses;
        self.learning_rates = learning_rates;
        self.apply_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("ml-records-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `load_state` alone, as a resume calls it: the trainer type does not matter to it.
    fn load(records: &mut Records, state: &Value) -> Result<()> {
        <Records as Hook<crate::trainers::MetricLossOnly>>::load_state(records, state)
    }

    #[test]
    fn load_state_cuts_the_rows_after_the_checkpoint() {
        let dir = temp_dir();
        let header = "epoch,iteration,global_iteration,total_loss,metric_loss\n";
        let rows: Vec<String> = (0..5).map(|i| format!("1,{i},{i},0.{i},0.{i}\n")).collect();
        std::fs::write(dir.join(LOSSES), format!("{header}{}", rows.concat())).unwrap();
        std::fs::write(dir.join("tuple_miner.csv"), "epoch,iteration,global_iteration,num_pos_pairs\n1,0,0,4\n1,1,1,6\n").unwrap();
        let mut records = Records::new().folder(&dir);
        let state = json!({ "rows": { LOSSES: 3, "tuple_miner.csv": 2 }, "losses": [], "learning_rates": [] });
        load(&mut records, &state).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(LOSSES)).unwrap(), format!("{header}{}", rows[..3].concat()));
        assert_eq!(std::fs::read_to_string(dir.join("tuple_miner.csv")).unwrap().lines().count(), 3);
        // What it reports is what it restored.
        let saved = <Records as Hook<crate::trainers::MetricLossOnly>>::state(&mut records).unwrap();
        assert_eq!(saved["rows"], state["rows"]);

        // A file shorter than the checkpoint says is named.
        let mut records = Records::new().folder(&dir);
        let error = load(&mut records, &json!({ "rows": { LOSSES: 9 }, "losses": [], "learning_rates": [] })).unwrap_err();
        assert!(matches!(&error, Error::File { path, .. } if path.ends_with(LOSSES)), "{error}");
        assert!(error.to_string().contains("only 3"), "{error}");
        assert!(load(&mut Records::new().folder(&dir), &json!({ "rows": 3 })).is_err());
        assert!(load(&mut Records::new(), &Value::Null).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_summary_line() {
        let mut records = Records::new();
        for (total, rate) in [(0.2, 0.001), (0.1, 0.001)] {
            records.losses.add("total_loss", total);
            records.losses.add("metric_loss", total);
            records.learning_rates.add("trunk", rate);
        }
        assert_eq!(records.summary(3).unwrap(), "epoch 3: total_loss 0.1500 (metric_loss 0.1500), lr trunk 0.001");
        assert_eq!(significant(0.000123456, 4), "0.0001235");
        assert_eq!(significant(12.5, 4), "12.5");
        assert_eq!(significant(1000.0, 4), "1000");
        assert_eq!(significant(0.0, 4), "0");
    }
}
