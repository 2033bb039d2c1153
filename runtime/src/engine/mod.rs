//! The engine: PML's `BaseTrainer` loop, generic over a `#[trainer]` declaration.
//!
//! - `builder.rs`   the engine's options, set through the generated builder
//! - `trainer.rs`   `Trainer<T>`: the loop, one iteration, and what hooks can read
//! - `slot.rs`      per key: parameters, optimizer, schedulers, clipper, frozen
//! - `labels.rs`    label processing: hierarchy level, `set_min_label_to_zero`
//! - `iteration.rs` what a step and a phase see

mod builder;
mod iteration;
mod labels;
mod slot;
mod trainer;

pub use builder::{EngineBuilder, EpochHook, IterationHook};
pub use iteration::{Iteration, Phase};
pub use trainer::Trainer;
