//! The two hooks of PML's `BaseTrainer`, as closures the builder takes.

use super::trainer::Trainer;
use crate::data::Batch;
use crate::Result;
use std::ops::ControlFlow;

/// Called after every iteration with the trainer (PML's `end_of_iteration_hook`).
pub type IterationHook<T> = Box<dyn FnMut(&mut Trainer<T>) -> Result<()>>;
/// Called after every epoch; `ControlFlow::Break(())` stops training (PML's `end_of_epoch_hook`
/// returning `False`).
pub type EpochHook<T> = Box<dyn FnMut(&mut Trainer<T>) -> Result<ControlFlow<()>>>;
/// Rewrites each batch before label processing (PML's `data_and_label_getter`).
pub type BatchGetter = Box<dyn FnMut(Batch) -> Result<Batch>>;

/// The hooks a trainer was built with.
pub(crate) struct Hooks<T: crate::trainer::TrainerKeys> {
    pub end_of_iteration: Option<IterationHook<T>>,
    pub end_of_epoch: Option<EpochHook<T>>,
    pub data_and_label_getter: Option<BatchGetter>,
}
