use super::{with_gradients, Optimizer};
use tch::Tensor;

/// Adam (Kingma and Ba) as PyTorch computes it, with L2 weight decay added to the gradient.
pub struct Adam {
    inner: AdamState,
}

/// AdamW: Adam with weight decay applied to the parameters directly (Loshchilov and Hutter).
pub struct AdamW {
    inner: AdamState,
}

struct AdamState {
    learning_rate: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    parameters: Vec<Tensor>,
    /// First and second moments and the step count, per parameter, created at its first update.
    moments: Vec<Option<(Tensor, Tensor, i32)>>,
}

impl AdamState {
    fn new(learning_rate: f64, weight_decay: f64, decoupled: bool) -> AdamState {
        AdamState { learning_rate, betas: (0.9, 0.999), eps: 1e-8, weight_decay, decoupled, parameters: Vec::new(), moments: Vec::new() }
    }

    fn step(&mut self) {
        let (beta1, beta2) = self.betas;
        tch::no_grad(|| {
            for (i, p, mut grad) in with_gradients(&self.parameters) {
                let mut p = p.shallow_clone();
                if self.weight_decay != 0.0 {
                    if self.decoupled {
                        let _ = p.g_mul_scalar_(1.0 - self.learning_rate * self.weight_decay);
                    } else {
                        grad += &p * self.weight_decay;
                    }
                }
                let (mut m, mut v, mut t) = self.moments[i].take().unwrap_or_else(|| (p.zeros_like(), p.zeros_like(), 0));
                t += 1;
                let _ = m.lerp_(&grad, 1.0 - beta1);
                let _ = v.g_mul_scalar_(beta2).addcmul_(&(&grad * (1.0 - beta2)), &grad);
                let bias1 = 1.0 - beta1.powi(t);
                let bias2 = 1.0 - beta2.powi(t);
                let denom = (v.sqrt() / bias2.sqrt()).g_add_scalar_(self.eps);
                let _ = p.addcdiv_(&(&m * (-self.learning_rate / bias1)), &denom);
                self.moments[i] = Some((m, v, t));
            }
        });
    }
}

impl Adam {
    /// Adam at this learning rate, PyTorch's defaults otherwise (betas 0.9, 0.999; eps 1e-8).
    pub fn new(learning_rate: f64) -> Adam {
        Adam { inner: AdamState::new(learning_rate, 0.0, false) }
    }
    /// The moment decay rates.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Adam {
        self.inner.betas = (beta1, beta2);
        self
    }
    /// The denominator's stabiliser.
    pub fn eps(mut self, eps: f64) -> Adam {
        self.inner.eps = eps;
        self
    }
    /// L2 penalty added to the gradient.
    pub fn weight_decay(mut self, weight_decay: f64) -> Adam {
        self.inner.weight_decay = weight_decay;
        self
    }
}

impl AdamW {
    /// AdamW at this learning rate, PyTorch's defaults otherwise (weight decay 0.01).
    pub fn new(learning_rate: f64) -> AdamW {
        AdamW { inner: AdamState::new(learning_rate, 0.01, true) }
    }
    /// The moment decay rates.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> AdamW {
        self.inner.betas = (beta1, beta2);
        self
    }
    /// The denominator's stabiliser.
    pub fn eps(mut self, eps: f64) -> AdamW {
        self.inner.eps = eps;
        self
    }
    /// Decoupled weight decay, applied to the parameters before the update.
    pub fn weight_decay(mut self, weight_decay: f64) -> AdamW {
        self.inner.weight_decay = weight_decay;
        self
    }
}

macro_rules! adam_optimizer {
    ($ty:ty) => {
        impl Optimizer for $ty {
            fn attach(&mut self, parameters: Vec<Tensor>) {
                self.inner.moments = parameters.iter().map(|_| None).collect();
                self.inner.parameters = parameters;
            }
            fn step(&mut self) {
                self.inner.step()
            }
            fn learning_rate(&self) -> f64 {
                self.inner.learning_rate
            }
            fn set_learning_rate(&mut self, learning_rate: f64) {
                self.inner.learning_rate = learning_rate;
            }
        }
    };
}
adam_optimizer!(Adam);
adam_optimizer!(AdamW);
