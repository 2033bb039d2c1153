//! The engine: PML's `BaseTrainer` loop, generic over a `#[trainer]` declaration.
//!
//! - `builder.rs`   the engine's options, set through the generated builder, checked in `build()`
//! - `trainer.rs`   `Trainer<T>`: the loop, one iteration, the hooks and what they can read
//! - `checkpointing.rs` saving a whole run and resuming it
//! - `data_parallel.rs` what changes when the run is one of several processes
//! - `slot.rs`      per key: parameters, optimizer, schedulers, clipper, frozen
//! - `labels.rs`    label processing: hierarchy level, `set_min_label_to_zero`
//! - `iteration.rs` what a step and a phase see
//! - `timing.rs`    how much of the iterations' time went to waiting for data

mod builder;
mod checkpointing;
mod data_parallel;
mod iteration;
mod labels;
mod slot;
mod timing;
mod trainer;

pub use builder::EngineBuilder;
pub use iteration::{Iteration, Phase};
pub use timing::IterationTimes;
pub use trainer::{BatchGetter, EpochHook, IterationHook, Trainer};
