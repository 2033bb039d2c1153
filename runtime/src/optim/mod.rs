//! Optimizers, learning-rate schedulers and gradient clippers the runtime owns, because tch's
//! own optimizers cannot report their learning rate nor save their state.

mod adam;
mod clip;
mod schedulers;
mod sgd;

pub use adam::{Adam, AdamW};
pub use clip::{ClipGradNorm, ClipGradValue, GradClipper};
pub(crate) use clip::gradients;
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
    /// Everything a resumed run needs to step as this one would: the learning rate, moments,
    /// step counts (PyTorch's state names: `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`,
    /// suffixed with the parameter's position).
    fn state(&self) -> OptimizerState;
    /// Restores what [`state`](Optimizer::state) returned.
    ///
    /// # Errors
    /// When a tensor's name, position or shape does not fit the attached parameters.
    fn load_state(&mut self, state: OptimizerState) -> crate::Result<()>;
}

/// An optimizer's state: tensors (moments) and numbers (learning rate, step counts), by name.
#[derive(Debug, Default)]
pub struct OptimizerState {
    /// `exp_avg.0`, `momentum_buffer.3`, ...
    pub tensors: Vec<(String, Tensor)>,
    /// `lr`, `step.0`, ...
    pub numbers: Vec<(String, f64)>,
}

impl OptimizerState {
    /// A number by name.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.numbers.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Splits `<state>.<position>` names, checking each position and shape against the
    /// parameters: per parameter position, its tensors by state name.
    pub(crate) fn per_parameter(self, parameters: &[Tensor], names: &[&str]) -> crate::Result<Vec<Vec<(String, Tensor)>>> {
        let mut per: Vec<Vec<(String, Tensor)>> = parameters.iter().map(|_| Vec::new()).collect();
        for (name, tensor) in self.tensors {
            let parsed = name.split_once('.').and_then(|(state, i)| Some((state, i.parse::<usize>().ok()?)));
            let Some((state, i)) = parsed.filter(|(state, i)| names.contains(state) && *i < parameters.len()) else {
                return Err(crate::Error::data(format!(
                    "optimizer state `{name}`: expected one of {names:?} followed by a parameter position below {}",
                    parameters.len()
                )));
            };
            if tensor.size() != parameters[i].size() {
                return Err(crate::Error::mismatch(
                    format!("optimizer state `{name}`"),
                    format!("the shape of parameter {i}, {:?}", parameters[i].size()),
                    format!("{:?}", tensor.size()),
                ));
            }
            per[i].push((state.to_string(), tensor));
        }
        Ok(per)
    }
}

/// Every parameter with a gradient, paired with the gradient; under `no_grad` the update
/// itself is not recorded by autograd.
fn with_gradients(parameters: &[Tensor]) -> impl Iterator<Item = (usize, &Tensor, Tensor)> {
    parameters.iter().enumerate().filter_map(|(i, p)| {
        let grad = p.grad();
        grad.defined().then_some((i, p, grad))
    })
}

#[cfg(test)]
mod tests {
    //! One parameter on f(p) = p^2 / 2 (gradient p), from p = 1; expected values are PyTorch's
    //! update rules worked by hand.

    use super::*;

    fn run(mut optimizer: impl Optimizer, steps: usize) -> Vec<f64> {
        let p = Tensor::from_slice(&[1.0f64]).set_requires_grad(true);
        optimizer.attach(vec![p.shallow_clone()]);
        let mut values = Vec::new();
        for _ in 0..steps {
            let mut q = p.shallow_clone();
            q.zero_grad();
            (&p * &p * 0.5).sum(tch::Kind::Double).backward();
            optimizer.step();
            values.push(p.double_value(&[0]));
        }
        values
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn sgd_with_momentum_and_nesterov() {
        assert_close(&run(Sgd::new(0.1), 2), &[0.9, 0.81]);
        // v1 = 1, p1 = 0.9; v2 = 0.9 * 1 + 0.9 = 1.8, p2 = 0.9 - 0.18.
        assert_close(&run(Sgd::new(0.1).momentum(0.9), 2), &[0.9, 0.72]);
        // Nesterov: the step uses g + 0.9 v: 1 + 0.9 = 1.9.
        assert_close(&run(Sgd::new(0.1).momentum(0.9).nesterov(true), 1), &[0.81]);
        // Weight decay adds 0.5 p to the gradient: 1.5.
        assert_close(&run(Sgd::new(0.1).weight_decay(0.5), 1), &[0.85]);
    }

    #[test]
    fn adam_and_adamw() {
        // Step 1 moves by lr whatever the gradient's size; step 2: m = 0.18, v = 0.001809,
        // bias-corrected 0.947368 / sqrt(0.904952).
        assert_close(&run(Adam::new(0.1), 2), &[0.9, 0.800412]);
        // AdamW shrinks p by lr * wd before the same update: 1 * (1 - 0.01) - 0.1.
        assert_close(&run(AdamW::new(0.1).weight_decay(0.1), 1), &[0.89]);
    }

    #[test]
    fn learning_rate_is_readable_and_settable() {
        let mut adam = Adam::new(0.1);
        adam.set_learning_rate(0.05);
        assert_eq!(adam.learning_rate(), 0.05);
        assert_close(&run(adam, 1), &[0.95]);
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let p = Tensor::from_slice(&[3.0f64, 4.0]).set_requires_grad(true);
        (&p * &p * 0.5).sum(tch::Kind::Double).backward();
        let norm = ClipGradNorm::new(1.0).clip(&[p.shallow_clone()]);
        assert!((norm - 5.0).abs() < 1e-9);
        assert_close(&Vec::<f64>::try_from(p.grad()).unwrap(), &[0.6, 0.8]);
        let _ = ClipGradValue::new(0.7).clip(&[p.shallow_clone()]);
        assert_close(&Vec::<f64>::try_from(p.grad()).unwrap(), &[0.6, 0.7]);
        let nothing = Tensor::from_slice(&[1.0f64]).set_requires_grad(true);
        assert_eq!(ClipGradNorm::new(1.0).clip(&[nothing]), 0.0, "no gradient, nothing to clip");
    }
}
