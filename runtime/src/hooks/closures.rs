//! The builder's two closures as hooks (PML's `end_of_iteration_hook` and `end_of_epoch_hook`).

use super::Hook;
use crate::engine::{EpochHook, IterationHook, Trainer};
use crate::trainer::TrainerKeys;
use crate::Result;
use std::ops::ControlFlow;

/// Called after every iteration with the trainer (PML's `end_of_iteration_hook`).
pub struct IterationClosure<T: TrainerKeys>(pub IterationHook<T>);

/// Called after every epoch; `Break` stops training (PML's `end_of_epoch_hook` returning False).
pub struct EpochClosure<T: TrainerKeys>(pub EpochHook<T>);

impl<T: TrainerKeys> Hook<T> for IterationClosure<T> {
    fn name(&self) -> String {
        "end_of_iteration_hook".into()
    }
    fn on_iteration_end(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        (self.0)(trainer)
    }
}

impl<T: TrainerKeys> Hook<T> for EpochClosure<T> {
    fn name(&self) -> String {
        "end_of_epoch_hook".into()
    }
    fn on_epoch_end(&mut self, trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        (self.0)(trainer)
    }
}
