use super::{with_gradients, Optimizer, OptimizerState};
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

impl AdamState {
    fn state(&self) -> OptimizerState {
        let mut state = OptimizerState { tensors: Vec::new(), numbers: vec![("lr".into(), self.learning_rate)] };
        for (i, moments) in self.moments.iter().enumerate() {
            if let Some((m, v, t)) = moments {
                state.tensors.push((format!("exp_avg.{i}"), m.shallow_clone()));
                state.tensors.push((format!("exp_avg_sq.{i}"), v.shallow_clone()));
                state.numbers.push((format!("step.{i}"), f64::from(*t)));
            }
        }
        state
    }

    fn load_state(&mut self, state: OptimizerState) -> crate::Result<()> {
        let lr = state.number("lr").ok_or_else(|| crate::Error::data("Adam state without `lr`"))?;
        let steps: Vec<Option<f64>> = (0..self.parameters.len()).map(|i| state.number(&format!("step.{i}"))).collect();
        let per = state.per_parameter(&self.parameters, &["exp_avg", "exp_avg_sq"])?;
        let mut moments = Vec::new();
        for (i, (tensors, step)) in per.into_iter().zip(steps).enumerate() {
            let find = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.shallow_clone());
            moments.push(match (find("exp_avg"), find("exp_avg_sq"), step) {
                (Some(m), Some(v), Some(t)) => Some((m, v, t as i32)),
                (None, None, None) => None,
                _ => return Err(crate::Error::data(format!("Adam state of parameter {i}: expected exp_avg, exp_avg_sq and step together"))),
            });
        }
        self.moments = moments;
        self.learning_rate = lr;
        Ok(())
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
            fn state(&self) -> OptimizerState {
                self.inner.state()
            }
            fn load_state(&mut self, state: OptimizerState) -> crate::Result<()> {
                self.inner.load_state(state)
            }
        }
    };
}
adam_optimizer!(Adam);
adam_optimizer!(AdamW);
