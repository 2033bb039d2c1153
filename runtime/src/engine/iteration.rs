use super::slot::KeySlot;
use crate::trainer::TrainerKeys;
use std::collections::HashMap;
use tch::Device;

/// What a step sees during one iteration: the loss record to fill, and the weights.
pub struct Iteration<'a, T: TrainerKeys> {
    /// The losses this iteration computes, unweighted; the engine applies the weights.
    pub losses: T::Losses,
    pub(crate) weights: &'a HashMap<T::Loss, f64>,
    pub(crate) epoch: usize,
    pub(crate) iteration: usize,
    pub(crate) device: Device,
}

impl<T: TrainerKeys> Iteration<'_, T> {
    /// The loss's current weight.
    pub fn weight(&self, loss: T::Loss) -> f64 {
        self.weights.get(&loss).copied().unwrap_or_else(|| T::default_loss_weight(loss))
    }

    /// Whether the loss counts this iteration: PML's trainers skip a loss whose weight is not
    /// positive, and so should a step.
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

/// What `Step::begin_iteration` can change before an iteration: loss weights and which keys'
/// optimizers step. DeepAdversarialMetricLearning switches both by epoch.
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

    /// Whether the key's optimizer steps (a frozen key's never does) and whether its
    /// parameters receive gradients.
    pub fn set_stepping(&mut self, key: T::Key, stepping: bool) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.key == key) {
            slot.stepping = stepping;
            for p in &slot.parameters {
                let _ = p.set_requires_grad(stepping && !slot.frozen);
            }
        }
    }
}
