//! `metric-learning`: runs the stock trainers from TOML experiment files, checked before they
//! train.
//!
//! - `diagnostic.rs` mistakes at their place in the file, "did you mean"
//! - `experiment.rs` the file read, every key, type and module checked
//! - `check.rs`      the file against its trainer's declaration
//! - `run.rs`        the trainer made from the file, built, trained
//! - `from_run.rs`   `resume` and `eval`, from a run folder's experiment and checkpoints
//! - `sweep.rs`      `--set` and `[sweep]`: variations of the file, and their table
//! - `trainer_params.rs` `[params]`: the trainer's hyper-parameters, by their declared types
//! - `registry/`     the modules a file can name, with their parameters
//! - `list.rs`       what `list` prints

mod check;
mod diagnostic;
mod experiment;
mod from_run;
mod list;
mod registry;
mod run;
mod sweep;
mod trainer_params;

use clap::{Parser, Subcommand};
use diagnostic::Diagnostics;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs metric-learning's stock trainers from TOML experiment files.
#[derive(Parser)]
#[command(name = "metric-learning", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks an experiment without training: its keys, types and modules, the trainer's
    /// required keys, then the models on one sample of the data.
    Check { experiment: PathBuf },
    /// Trains an experiment, then scores its test set; with `--set`, each variation in turn.
    Train {
        experiment: PathBuf,
        /// `PATH=V1,V2,...`: trains one variation per value (every combination of several),
        /// into sibling run folders, and ends with a table of their scores.
        #[arg(long = "set", value_name = "PATH=VALUES")]
        settings: Vec<String>,
        /// Reuses a run folder that holds another experiment.
        #[arg(long)]
        overwrite: bool,
        /// Overrides the file's `epochs`.
        #[arg(long)]
        epochs: Option<usize>,
        /// Overrides the file's `iterations_per_epoch`.
        #[arg(long)]
        iterations_per_epoch: Option<usize>,
    },
    /// Trains a run on from its latest checkpoint (the run folder keeps its experiment).
    Resume {
        run_folder: PathBuf,
        /// Trains to this many epochs instead of the file's `epochs`.
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Scores a checkpoint's models with the accuracy calculator (every metric).
    Eval {
        /// A checkpoint file in a run folder's `checkpoints/`, or a run folder (its latest).
        checkpoint: PathBuf,
        /// `test`, `validation` or `dataset` (the experiment's sets), or a dataset table:
        /// `{ type = "ImageFolder", root = "photos/val", height = 64, width = 64 }`.
        #[arg(long, default_value = "test")]
        data: String,
    },
    /// Lists the trainers with their keys, and the modules a file can name with their
    /// parameters and defaults.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::List => {
            print!("{}", list::everything());
            Ok(())
        }
        Command::Check { experiment } => read_source(&experiment).and_then(|source| {
            checked(&experiment.display().to_string(), &source, |e| run::run(e, run::Action::Build, &source, false)).map(|_| ())
        }),
        Command::Resume { run_folder, epochs } => from_run::resume(&run_folder, epochs),
        Command::Eval { checkpoint, data } => from_run::eval(&checkpoint, &data),
        Command::Train { experiment, settings, overwrite, epochs, iterations_per_epoch } => train(&experiment, &settings, overwrite, epochs, iterations_per_epoch),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn read_source(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read the experiment: {e}", path.display()))
}

/// Each variation of the file (the file itself without `--set` or `[sweep]`), trained in turn;
/// with a sweep, a table of their scores at the end.
fn train(path: &PathBuf, settings: &[String], overwrite: bool, epochs: Option<usize>, iterations: Option<usize>) -> Result<(), String> {
    let source = read_source(path)?;
    let mut sweep = sweep::in_file(&source).map_err(|e| format!("{}: {e}", path.display()))?;
    for setting in settings {
        sweep.push(sweep::Setting::parse(setting)?);
    }
    let variations = sweep::variations(&source, &sweep).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for variation in &variations {
        let shown = if sweep.is_empty() { path.display().to_string() } else { format!("{} ({})", path.display(), variation.label) };
        if !sweep.is_empty() {
            println!("== {}", variation.label);
        }
        let mut folder = None;
        let outcome = checked(&shown, &variation.text, |e| {
            e.epochs = epochs.or(e.epochs);
            e.iterations_per_epoch = iterations.or(e.iterations_per_epoch);
            if !sweep.is_empty() {
                e.run_folder = e.run_folder.as_deref().map(|base| sweep::run_folder(base, &variation.label));
            }
            folder = e.run_folder.clone();
            run::run(e, run::Action::Train { resume: None }, &variation.text, overwrite)
        })?;
        rows.push((variation.label.clone(), outcome.scores, folder.as_deref().and_then(sweep::best_validation)));
    }
    if !sweep.is_empty() {
        print!("{}", sweep::table(&path.display().to_string(), &rows));
        // Next to the variations' run folders.
        if let Some(base) = variations.first().and_then(|v| sweep_base(&v.text)) {
            let png = format!("{}-sweep.png", base.trim_end_matches('/'));
            sweep::plot(&png, &rows).map_err(|e| format!("{png}: {e}"))?;
            println!("plot of the table: {png}");
        }
    }
    Ok(())
}

/// The `run_folder` a variation's text gives, if any.
fn sweep_base(text: &str) -> Option<String> {
    text.parse::<toml_edit::DocumentMut>().ok()?.get("run_folder")?.as_str().map(str::to_string)
}

/// Reads and checks `source`; with no mistake, hands it to `then` and prints its report.
fn checked(shown: &str, source: &str, then: impl FnOnce(&mut experiment::Experiment) -> metric_learning::Result<run::Outcome>) -> Result<run::Outcome, String> {
    let mut diagnostics = Diagnostics::new(shown, source);
    let mut experiment = experiment::read(source, &mut diagnostics);
    check::against_trainer(&mut experiment, &mut diagnostics);
    if !diagnostics.is_empty() {
        return Err(diagnostics.to_string());
    }
    let outcome = then(&mut experiment).map_err(|e| format!("{shown}: {e}"))?;
    println!("{}", outcome.report);
    Ok(outcome)
}
