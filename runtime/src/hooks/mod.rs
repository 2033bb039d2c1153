//! Hooks: code the training loop calls at its events (start, end of each iteration, end of each
//! epoch, end), several per trainer, in the order they were added. Each may keep state that a
//! checkpoint saves and a resumed run restores, so that logs continue where they stopped.
//!
//! Ready-made: [`ProgressBar`] (on by default), [`Records`] (CSV logs and an epoch summary),
//! [`Plots`] (PNG curves), [`Validation`] (a tester every N epochs, best metric and patience);
//! the builder's `end_of_iteration_hook` and `end_of_epoch_hook` closures are hooks too.

mod closures;
mod csv_log;
mod epoch_means;
mod plots;
mod progress;
mod records;
mod validation;

pub use closures::{EpochClosure, IterationClosure};
pub use plots::{save_curves, Plots};
pub use progress::ProgressBar;
pub use records::Records;
pub use validation::{Better, Validation};

use crate::engine::Trainer;
use crate::trainer::TrainerKeys;
use crate::Result;
use std::ops::ControlFlow;

/// Something the training loop calls at its events. Every method has a default that does
/// nothing, so a hook implements only the events it needs.
pub trait Hook<T: TrainerKeys> {
    /// A name unique among the trainer's hooks (`records`, `validation`): the key of its state
    /// in a checkpoint.
    fn name(&self) -> String;

    /// Before the first iteration of each `train` call (also after a resume).
    ///
    /// # Errors
    /// Stops training with the error.
    fn on_start(&mut self, _trainer: &mut Trainer<T>) -> Result<()> {
        Ok(())
    }

    /// After every iteration (its losses are in `trainer.losses()`), before the schedulers by
    /// iteration step.
    ///
    /// # Errors
    /// Stops training with the error.
    fn on_iteration_end(&mut self, _trainer: &mut Trainer<T>) -> Result<()> {
        Ok(())
    }

    /// After every epoch, after the schedulers by epoch; `Break` stops training (early
    /// stopping). Every hook sees the event even when an earlier one breaks.
    ///
    /// # Errors
    /// Stops training with the error.
    fn on_epoch_end(&mut self, _trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        Ok(ControlFlow::Continue(()))
    }

    /// After the last epoch of a `train` call, or the one a hook stopped at.
    ///
    /// # Errors
    /// Returned by `train` (the training itself is done).
    fn on_end(&mut self, _trainer: &mut Trainer<T>) -> Result<()> {
        Ok(())
    }

    /// What a checkpoint keeps of the hook (best metric, patience counter, log position). Called
    /// when a checkpoint is written: a hook that logs flushes its files here, so that the log
    /// position it returns is what is on disk.
    ///
    /// # Errors
    /// Fails the checkpoint (and training) with the error.
    fn state(&mut self) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }

    /// Restores what [`state`](Hook::state) returned, when a run resumes.
    ///
    /// # Errors
    /// When the state is not one this hook wrote.
    fn load_state(&mut self, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}
