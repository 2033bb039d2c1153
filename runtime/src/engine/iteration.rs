use super::slot::KeySlot;
use crate::trainer::{KeyName, LossRecord, TrainerKeys};
use crate::Result;
use std::collections::HashMap;
use tch::{Device, Tensor};

/// What a step sees during one iteration: the loss values to fill, and the weights.
pub struct Iteration<'a, T: TrainerKeys> {
    /// The losses this iteration computes, unweighted; the engine applies the weights.
    /// [`Iteration::compute`] fills them.
    pub values: T::LossValues,
    pub(crate) weights: &'a HashMap<T::Loss, f64>,
    pub(crate) epoch: usize,
    pub(crate) iteration: usize,
    pub(crate) device: Device,
    pub(crate) seed: u64,
    /// Whether the step runs under autocast (mixed precision): the losses then run outside it.
    pub(crate) autocast: bool,
}

impl<T: TrainerKeys> Iteration<'_, T> {
    /// A seed for this iteration's own random draws (a step's noise or sampling), derived from the
    /// run's seed and the iteration: a resumed run draws what the uninterrupted one drew.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Computes `loss` with `f` and records its value, when the loss is active (PML skips a
    /// loss whose weight is not positive, and so `f` does not run then). An error from `f` is
    /// attributed to the loss unless it already names a key (a model that failed inside `f`).
    /// With mixed precision, `f` runs outside autocast: pass it embeddings through
    /// [`full_precision`](crate::precision::full_precision), as the stock trainers do.
    ///
    /// # Errors
    /// What `f` returns.
    pub fn compute(&mut self, loss: T::Loss, f: impl FnOnce() -> Result<Tensor>) -> Result<()> {
        if !self.is_active(loss) {
            return Ok(());
        }
        let value = if self.autocast { crate::precision::without_autocast(self.device, f) } else { f() };
        let value = value.map_err(|error| error.in_key(loss.name()))?;
        self.values.set(loss, value);
        Ok(())
    }

    /// The loss's current weight.
    pub fn weight(&self, loss: T::Loss) -> f64 {
        self.weights.get(&loss).copied().unwrap_or_else(|| T::default_loss_weight(loss))
    }

    /// Whether the loss counts this iteration: its weight is positive.
    pub fn is_active(&self, loss: T::Loss) -> bool {
        self.weight(loss) > 0.0
    }

    /// The 1-based epoch.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The 0-based iteration within the epoch.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// Where the batch's data and labels are.
    pub fn device(&self) -> Device {
        self.device
    }
}

/// What `Step::begin_iteration` can change before an iteration: loss weights and which keys
/// train. DeepAdversarialMetricLearning switches both by epoch; the engine then applies the
/// train/eval modes that follow, with freezing and `freeze_trunk_batchnorm`.
pub struct Phase<'a, T: TrainerKeys> {
    pub(crate) epoch: usize,
    pub(crate) weights: &'a mut HashMap<T::Loss, f64>,
    pub(crate) original_weights: &'a HashMap<T::Loss, f64>,
    pub(crate) slots: &'a mut [KeySlot<T::Key>],
}

impl<T: TrainerKeys> Phase<'_, T> {
    /// The 1-based epoch about to run.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Sets a loss's weight for this and later iterations.
    pub fn set_loss_weight(&mut self, loss: T::Loss, weight: f64) {
        self.weights.insert(loss, weight);
    }

    /// The weight the builder gave the loss (or its declared default).
    pub fn configured_weight(&self, loss: T::Loss) -> f64 {
        self.original_weights.get(&loss).copied().unwrap_or_else(|| T::default_loss_weight(loss))
    }

    /// Whether the key trains this iteration: its optimizer steps, its parameters receive
    /// gradients, and it runs in train mode. A frozen key never does.
    pub fn set_stepping(&mut self, key: T::Key, stepping: bool) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.key == key) {
            slot.stepping = stepping;
            for p in &slot.parameters {
                let _ = p.set_requires_grad(stepping && !slot.frozen);
            }
        }
    }
}
