use tch::Tensor;

/// Changes one key's gradients after the backward pass and before its optimizer steps.
pub trait GradClipper: Send {
    /// Clips the gradients of `parameters` in place; returns the total norm before clipping
    /// (0 when no parameter has a gradient), for logging.
    fn clip(&mut self, parameters: &[Tensor]) -> f64;
}

/// The parameters' gradients, where they have one.
pub(crate) fn gradients(parameters: &[Tensor]) -> Vec<Tensor> {
    parameters.iter().map(Tensor::grad).filter(Tensor::defined).collect()
}

/// Rescales the gradients so that their global `p`-norm is at most `max_norm`
/// (PyTorch's `clip_grad_norm_`; `p = f64::INFINITY` for the largest absolute value).
#[derive(Clone, Debug)]
pub struct ClipGradNorm {
    max_norm: f64,
    norm_type: f64,
}

impl ClipGradNorm {
    /// Clip the global L2 norm to `max_norm`.
    pub fn new(max_norm: f64) -> ClipGradNorm {
        ClipGradNorm { max_norm, norm_type: 2.0 }
    }
    /// Use another norm (`f64::INFINITY` for the max norm).
    pub fn norm_type(mut self, norm_type: f64) -> ClipGradNorm {
        self.norm_type = norm_type;
        self
    }
}

impl GradClipper for ClipGradNorm {
    fn clip(&mut self, parameters: &[Tensor]) -> f64 {
        let grads = gradients(parameters);
        if grads.is_empty() {
            return 0.0;
        }
        tch::no_grad(|| {
            let total = if self.norm_type.is_infinite() {
                grads.iter().map(|g| g.abs().max().double_value(&[])).fold(0.0, f64::max)
            } else {
                let p = self.norm_type;
                grads.iter().map(|g| g.abs().pow_tensor_scalar(p).sum(g.kind()).double_value(&[])).sum::<f64>().powf(1.0 / p)
            };
            let coefficient = self.max_norm / (total + 1e-6);
            if coefficient < 1.0 {
                for mut g in grads {
                    let _ = g.g_mul_scalar_(coefficient);
                }
            }
            total
        })
    }
}

/// Clamps every gradient element to `[-clip_value, clip_value]` (PyTorch's `clip_grad_value_`).
#[derive(Clone, Debug)]
pub struct ClipGradValue {
    clip_value: f64,
}

impl ClipGradValue {
    /// Clamp to this absolute value.
    pub fn new(clip_value: f64) -> ClipGradValue {
        ClipGradValue { clip_value }
    }
}

impl GradClipper for ClipGradValue {
    fn clip(&mut self, parameters: &[Tensor]) -> f64 {
        let grads = gradients(parameters);
        tch::no_grad(|| {
            let total = grads.iter().map(|g| g.square().sum(g.kind()).double_value(&[])).sum::<f64>().sqrt();
            for mut g in grads {
                let _ = g.clamp_(-self.clip_value, self.clip_value);
            }
            total
        })
    }
}
