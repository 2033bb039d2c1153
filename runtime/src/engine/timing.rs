//! Where a trainer's time goes: how much of its iterations it spent waiting for the loader.

use std::time::Duration;

/// Time spent in training iterations since the trainer was built, and the part of it spent
/// waiting for batches (the loader's fetch, or the wait for its workers, and the copy to the
/// data device). A loader that keeps the model fed makes the wait a small fraction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IterationTimes {
    /// Time in iterations: batch, forward, backward, optimizer steps.
    pub total: Duration,
    /// The part of `total` spent waiting for batches.
    pub waiting_for_data: Duration,
}

impl IterationTimes {
    /// The part of the iterations' time spent waiting for data, in [0, 1] (0 before any).
    pub fn fraction_waiting(&self) -> f64 {
        if self.total.is_zero() { 0.0 } else { self.waiting_for_data.as_secs_f64() / self.total.as_secs_f64() }
    }
}
