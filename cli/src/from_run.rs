//! `resume` and `eval`: commands that start from a run folder, which keeps the experiment
//! that wrote it (`experiment.toml`) and its checkpoints.

use crate::diagnostic::Diagnostics;
use crate::experiment::{self, Experiment};
use crate::registry::{datasets::DATASETS, Context};
use crate::run::{self, Action, RECORD};
use metric_learning::checkpoint;
use std::path::{Path, PathBuf};

/// The run folder's experiment, read and checked as `check` does.
fn recorded(run_folder: &Path) -> Result<(String, String), String> {
    let record = run_folder.join(RECORD);
    let source = std::fs::read_to_string(&record).map_err(|e| format!("{}: cannot read the run's experiment ({e}); is {} a run folder?", record.display(), run_folder.display()))?;
    Ok((record.display().to_string(), source))
}

/// The latest checkpoint of a run folder.
fn latest(run_folder: &Path) -> Result<PathBuf, String> {
    let folder = run_folder.join("checkpoints");
    if !folder.is_dir() {
        return Err(format!("{}: no checkpoint to start from", folder.display()));
    }
    checkpoint::latest(&folder).map_err(|e| e.to_string())?.ok_or_else(|| format!("{}: no checkpoint to start from", folder.display()))
}

/// Trains the run on from its latest checkpoint, to the file's `epochs` (or `epochs`).
pub fn resume(run_folder: &Path, epochs: Option<usize>) -> Result<(), String> {
    let (shown, source) = recorded(run_folder)?;
    let checkpoint = latest(run_folder)?;
    crate::checked(&shown, &source, |e| {
        e.run_folder = Some(run_folder.display().to_string());
        e.epochs = epochs.or(e.epochs);
        run::run(e, Action::Train { resume: Some(checkpoint) }, &source, false)
    })
    .map(|_| ())
}

/// Scores a checkpoint's models on a set: `data` names one of the experiment's sets (`test`,
/// `validation`, `dataset`), or is a dataset table (`{ type = "FashionMNIST", split = "test" }`).
pub fn eval(target: &Path, data: &str) -> Result<(), String> {
    let (run_folder, checkpoint) = if target.is_dir() {
        (target.to_path_buf(), latest(target)?)
    } else {
        // <run folder>/checkpoints/<file>
        let folder = target.parent().and_then(Path::parent).ok_or_else(|| format!("{}: not a checkpoint in a run folder", target.display()))?;
        (folder.to_path_buf(), target.to_path_buf())
    };
    let (shown, source) = recorded(&run_folder)?;
    crate::checked(&shown, &source, |e| {
        // The same hooks as the run's, so that the checkpoint's state fits; nothing trains,
        // so nothing is written.
        e.run_folder = Some(run_folder.display().to_string());
        let data = eval_data(e, data)?;
        run::run(e, Action::Eval { checkpoint, data }, &source, false)
    })
    .map(|_| ())
}

fn eval_data(e: &Experiment, data: &str) -> metric_learning::Result<crate::registry::datasets::Data> {
    let named = match data {
        "test" => Some(e.test.as_ref()),
        "validation" => Some(e.validation.as_ref().and_then(|v| v.dataset.as_ref())),
        "dataset" | "train" => Some(e.dataset.as_ref()),
        _ => None,
    };
    let context = Context::EMPTY;
    if let Some(spec) = named {
        let spec = spec.ok_or_else(|| metric_learning::Error::config(format!("--data {data}: the experiment has no such set")))?;
        return DATASETS.make(spec, &context);
    }
    let text = format!("data = {data}");
    let mut diagnostics = Diagnostics::new("--data", &text);
    let document = toml_edit::ImDocument::parse(text.as_str()).map_err(|e| metric_learning::Error::config(format!("--data: expected test, validation, dataset or a dataset table ({{ type = \"FashionMNIST\", split = \"test\" }}): {}", e.message())))?;
    let spec = document.get("data").and_then(|item| item.as_table_like()).and_then(|table| experiment::spec(table, None, "--data", &DATASETS, &mut diagnostics));
    match spec {
        Some(spec) if diagnostics.is_empty() => DATASETS.make(&spec, &context),
        _ if !diagnostics.is_empty() => Err(metric_learning::Error::config(diagnostics.to_string())),
        _ => Err(metric_learning::Error::config("--data: expected test, validation, dataset or a dataset table ({ type = \"FashionMNIST\", split = \"test\" })")),
    }
}
