//! Optimizers, learning-rate schedulers and gradient clippers the runtime owns, because tch's
//! own optimizers cannot report their learning rate nor save their state.

mod adam;
mod clip;
mod schedulers;
mod sgd;

pub use adam::{Adam, AdamW};
pub use clip::{ClipGradNorm, ClipGradValue, GradClipper};
pub use schedulers::{CosineAnnealingLr, ExponentialLr, LinearLr, LrScheduler, MultiStepLr, PlateauMode, ReduceLrOnPlateau, StepLr, StepType};
pub use sgd::Sgd;

use tch::Tensor;

/// Updates one key's parameters from their gradients. A single parameter group per key:
/// PML's per-key optimizers need no more.
pub trait Optimizer: Send {
    /// Takes the parameters it will update; the engine calls it once, in `build()`.
    fn attach(&mut self, parameters: Vec<Tensor>);
    /// Applies one update from the current gradients. Parameters without a gradient are skipped.
    fn step(&mut self);
    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f64;
    /// Changes the learning rate (schedulers do this).
    fn set_learning_rate(&mut self, learning_rate: f64);
}

/// Every parameter with a gradient, paired with the gradient; under `no_grad` the update
/// itself is not recorded by autograd.
fn with_gradients(parameters: &[Tensor]) -> impl Iterator<Item = (usize, &Tensor, Tensor)> {
    parameters.iter().enumerate().filter_map(|(i, p)| {
        let grad = p.grad();
        grad.defined().then_some((i, p, grad))
    })
}
