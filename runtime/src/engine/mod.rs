//! The engine: PML's `BaseTrainer` loop, generic over a `#[trainer]` declaration.
//!
//! - `builder.rs`   the engine's options, set through the generated builder, checked in `build()`
//! - `trainer.rs`   `Trainer<T>`: the loop, one iteration, and what hooks can read
//! - `hooks.rs`     the hook closures
//! - `slot.rs`      per key: parameters, optimizer, schedulers, clipper, frozen
//! - `labels.rs`    label processing: hierarchy level, `set_min_label_to_zero`
//! - `iteration.rs` what a step and a phase see

mod builder;
mod hooks;
mod iteration;
mod labels;
mod slot;
mod trainer;

pub use builder::EngineBuilder;
pub use hooks::{BatchGetter, EpochHook, IterationHook};
pub use iteration::{Iteration, Phase};
pub use trainer::Trainer;
