//! `metric-learning`: runs the stock trainers from TOML experiment files, checked before they
//! train.
//!
//! - `diagnostic.rs` mistakes at their place in the file, "did you mean"
//! - `experiment.rs` the file read, every key, type and module checked
//! - `check.rs`      the file against its trainer's declaration
//! - `run.rs`        the trainer made from the file, built, trained
//! - `registry/`     the modules a file can name, with their parameters
//! - `list.rs`       what `list` prints

mod check;
mod diagnostic;
mod experiment;
mod list;
mod registry;
mod run;

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
    /// Trains an experiment, then scores its test set.
    Train {
        experiment: PathBuf,
        /// Overrides the file's `epochs`.
        #[arg(long)]
        epochs: Option<usize>,
        /// Overrides the file's `iterations_per_epoch`.
        #[arg(long)]
        iterations_per_epoch: Option<usize>,
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
        Command::Check { experiment } => checked(&experiment, |e| run::run(e, run::Action::Build)),
        Command::Train { experiment, epochs, iterations_per_epoch } => checked(&experiment, |e| {
            e.epochs = epochs.or(e.epochs);
            e.iterations_per_epoch = iterations_per_epoch.or(e.iterations_per_epoch);
            run::run(e, run::Action::Train)
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads and checks the file; with no mistake, hands it to `then` and prints what it returns.
fn checked(path: &PathBuf, then: impl FnOnce(&mut experiment::Experiment) -> metric_learning::Result<String>) -> Result<(), String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read the experiment: {e}", path.display()))?;
    let shown = path.display().to_string();
    let mut diagnostics = Diagnostics::new(&shown, &source);
    let mut experiment = experiment::read(&source, &mut diagnostics);
    check::against_trainer(&experiment, &mut diagnostics);
    if !diagnostics.is_empty() {
        return Err(diagnostics.to_string());
    }
    let report = then(&mut experiment).map_err(|e| format!("{shown}: {e}"))?;
    println!("{report}");
    Ok(())
}
