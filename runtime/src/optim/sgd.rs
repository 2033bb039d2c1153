use super::{with_gradients, Optimizer, OptimizerState};
use tch::Tensor;

/// Stochastic gradient descent with PyTorch's momentum, Nesterov and (coupled) weight decay.
pub struct Sgd {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    parameters: Vec<Tensor>,
    velocity: Vec<Option<Tensor>>,
}

impl Sgd {
    /// Plain SGD at this learning rate.
    pub fn new(learning_rate: f64) -> Sgd {
        Sgd { learning_rate, momentum: 0.0, nesterov: false, weight_decay: 0.0, parameters: Vec::new(), velocity: Vec::new() }
    }
    /// Heavy-ball momentum (PyTorch's `momentum`, no dampening).
    pub fn momentum(mut self, momentum: f64) -> Sgd {
        self.momentum = momentum;
        self
    }
    /// Nesterov momentum; needs `momentum > 0`.
    pub fn nesterov(mut self, nesterov: bool) -> Sgd {
        self.nesterov = nesterov;
        self
    }
    /// L2 penalty added to the gradient.
    pub fn weight_decay(mut self, weight_decay: f64) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Sgd {
    fn attach(&mut self, parameters: Vec<Tensor>) {
        self.velocity = parameters.iter().map(|_| None).collect();
        self.parameters = parameters;
    }

    fn step(&mut self) {
        tch::no_grad(|| {
            for (i, p, mut grad) in with_gradients(&self.parameters) {
                if self.weight_decay != 0.0 {
                    grad += p * self.weight_decay;
                }
                if self.momentum != 0.0 {
                    let velocity = match self.velocity[i].take() {
                        None => grad.copy(),
                        Some(mut v) => {
                            let _ = v.g_mul_scalar_(self.momentum).g_add_(&grad);
                            v
                        }
                    };
                    grad = if self.nesterov { grad + &velocity * self.momentum } else { velocity.shallow_clone() };
                    self.velocity[i] = Some(velocity);
                }
                let _ = p.shallow_clone().g_add_(&(grad * -self.learning_rate));
            }
        });
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn state(&self) -> OptimizerState {
        let tensors = self.velocity.iter().enumerate().filter_map(|(i, v)| Some((format!("momentum_buffer.{i}"), v.as_ref()?.shallow_clone()))).collect();
        OptimizerState { tensors, numbers: vec![("lr".into(), self.learning_rate)] }
    }

    fn load_state(&mut self, state: OptimizerState) -> crate::Result<()> {
        let lr = state.number("lr").ok_or_else(|| crate::Error::data("SGD state without `lr`"))?;
        let per = state.per_parameter(&self.parameters, &["momentum_buffer"])?;
        self.velocity = per.into_iter().map(|mut tensors| tensors.pop().map(|(_, t)| t)).collect();
        self.learning_rate = lr;
        Ok(())
    }
}
