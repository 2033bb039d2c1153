//! PyTorch's `GradScaler`: the loss multiplied by a scale before backward, so that f16
//! gradients do not underflow; the gradients divided by it before the optimizers step; a step
//! with an infinite or NaN gradient skipped and the scale backed off; the scale grown after a
//! run of good steps.

use crate::{Error, Result};
use tch::{Kind, Tensor};

/// A dynamic loss scale with PyTorch's defaults: 2^16 at first, halved after a step with a
/// non-finite gradient (which is skipped), doubled after 2000 steps without one.
#[derive(Clone, Debug, PartialEq)]
pub struct GradScaler {
    scale: f64,
    growth_factor: f64,
    backoff_factor: f64,
    growth_interval: u64,
    /// Good steps since the scale last changed.
    growth_tracker: u64,
    skipped: u64,
}

impl Default for GradScaler {
    fn default() -> Self {
        GradScaler::new()
    }
}

impl GradScaler {
    /// PyTorch's defaults (`init_scale` 65536, `growth_factor` 2, `backoff_factor` 0.5,
    /// `growth_interval` 2000).
    pub fn new() -> GradScaler {
        GradScaler { scale: 65536.0, growth_factor: 2.0, backoff_factor: 0.5, growth_interval: 2000, growth_tracker: 0, skipped: 0 }
    }

    /// The first scale.
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// What the scale is multiplied by after `growth_interval` good steps.
    pub fn growth_factor(mut self, factor: f64) -> Self {
        self.growth_factor = factor;
        self
    }

    /// What the scale is multiplied by after a step with a non-finite gradient.
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = factor;
        self
    }

    /// Good steps between two growths.
    pub fn growth_interval(mut self, steps: u64) -> Self {
        self.growth_interval = steps;
        self
    }

    /// The scale now.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Steps skipped so far for a non-finite gradient.
    pub fn skipped_steps(&self) -> u64 {
        self.skipped
    }

    /// Settings that cannot scale anything: a scale that is not a positive finite number, a
    /// growth below 1, a backoff outside (0, 1), an interval of 0.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |what: &str, expected: &str, found: String| Err(Error::mismatch(format!("GradScaler's {what}"), expected, found));
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return bad("init_scale", "a positive finite number", self.scale.to_string());
        }
        if self.growth_factor.is_nan() || self.growth_factor < 1.0 {
            return bad("growth_factor", "at least 1", self.growth_factor.to_string());
        }
        if !(self.backoff_factor > 0.0 && self.backoff_factor < 1.0) {
            return bad("backoff_factor", "between 0 and 1", self.backoff_factor.to_string());
        }
        if self.growth_interval == 0 {
            return bad("growth_interval", "at least 1", "0".into());
        }
        Ok(())
    }

    /// `loss` times the scale, for backward.
    pub(crate) fn scale_loss(&self, loss: &Tensor) -> Result<Tensor> {
        Ok(loss.f_mul_scalar(self.scale)?)
    }

    /// Divides every gradient by the scale, in place; whether they are all finite (when not,
    /// the caller skips the optimizers' step). One read from the device for all of them.
    pub(crate) fn unscale(&self, gradients: &[Tensor]) -> Result<bool> {
        let inverse = 1.0 / self.scale;
        let mut non_finite = Vec::with_capacity(gradients.len());
        for gradient in gradients {
            let _ = gradient.detach().f_mul_scalar_(inverse)?;
            non_finite.push(gradient.f_isfinite()?.f_logical_not()?.f_any()?);
        }
        if non_finite.is_empty() {
            return Ok(true);
        }
        let any = Tensor::f_stack(&non_finite, 0)?.f_any()?.f_to_kind(Kind::Int64)?.f_int64_value(&[])?;
        Ok(any == 0)
    }

    /// After a step: backs off (and counts the step as skipped) when it had a non-finite
    /// gradient, otherwise grows the scale at the end of a run of good steps.
    pub(crate) fn update(&mut self, finite: bool) {
        if finite {
            self.growth_tracker += 1;
            if self.growth_tracker >= self.growth_interval {
                self.scale *= self.growth_factor;
                self.growth_tracker = 0;
            }
        } else {
            self.scale *= self.backoff_factor;
            self.growth_tracker = 0;
            self.skipped += 1;
        }
    }

    /// What a checkpoint keeps: the scale, the good steps since it changed, the skipped steps.
    pub(crate) fn state(&self) -> (f64, u64, u64) {
        (self.scale, self.growth_tracker, self.skipped)
    }

    pub(crate) fn restore(&mut self, scale: f64, growth_tracker: u64, skipped: u64) {
        self.scale = scale;
        self.growth_tracker = growth_tracker;
        self.skipped = skipped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn backs_off_on_a_non_finite_gradient_and_grows_after_its_interval() {
        let mut scaler = GradScaler::new().init_scale(8.0).growth_interval(2);
        let gradients = [Tensor::from_slice(&[8.0f32, -16.0]), Tensor::from_slice(&[4.0f32])];
        assert!(scaler.unscale(&gradients).unwrap());
        assert_eq!(Vec::<f32>::try_from(&gradients[0]).unwrap(), [1.0, -2.0]);
        scaler.update(true);
        assert_eq!(scaler.scale(), 8.0);
        scaler.update(true);
        assert_eq!(scaler.scale(), 16.0, "grown after two good steps");
        let infinite = [Tensor::from_slice(&[1.0f32]), Tensor::from_slice(&[f32::INFINITY, 0.0])];
        assert!(!scaler.unscale(&infinite).unwrap());
        let nan = [Tensor::full([3], f64::NAN, (Kind::Float, Device::Cpu))];
        assert!(!scaler.unscale(&nan).unwrap());
        scaler.update(false);
        assert_eq!((scaler.scale(), scaler.skipped_steps()), (8.0, 1));
        scaler.update(true);
        assert_eq!(scaler.scale(), 8.0, "the run of good steps starts again after a backoff");
    }

    #[test]
    fn settings_that_cannot_scale_are_errors() {
        for (scaler, expected) in [
            (GradScaler::new().init_scale(0.0), "init_scale"),
            (GradScaler::new().init_scale(f64::INFINITY), "init_scale"),
            (GradScaler::new().growth_factor(0.5), "growth_factor"),
            (GradScaler::new().backoff_factor(1.0), "backoff_factor"),
            (GradScaler::new().growth_interval(0), "growth_interval"),
        ] {
            let message = scaler.check().unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
        assert!(GradScaler::new().check().is_ok());
    }
}
