//! Mixed precision (the builder's `.mixed_precision(...)`): each step's models run under
//! libtorch's autocast in bf16 (CPU or CUDA) or f16 (CUDA, with a [`GradScaler`]), while the
//! losses and miners get their embeddings in f32 and run outside autocast, as PML's numerics
//! expect. Parameters, optimizer state and evaluation stay in f32.
//!
//! - `autocast.rs`     libtorch's autocast for any device; `full_precision`
//! - `grad_scaler.rs`  PyTorch's dynamic loss scale
//! - `support.rs`      which devices compute bf16 at speed

mod autocast;
mod grad_scaler;
mod support;

pub use autocast::{autocast, full_precision};
pub(crate) use autocast::without_autocast;
pub use grad_scaler::GradScaler;
pub use support::bf16_supported;

use crate::{Error, Result};
use tch::{Device, Kind};

/// How a run's steps compute: [`MixedPrecision::bf16`] or [`MixedPrecision::fp16`].
#[derive(Clone, Debug)]
pub struct MixedPrecision {
    kind: Kind,
    scaler: Option<GradScaler>,
    even_if_emulated: bool,
}

impl MixedPrecision {
    /// bf16 autocast, on the CPU or CUDA; no loss scale (bf16 has f32's range).
    pub fn bf16() -> MixedPrecision {
        MixedPrecision { kind: Kind::BFloat16, scaler: None, even_if_emulated: false }
    }

    /// f16 autocast with PyTorch's default [`GradScaler`], on CUDA.
    pub fn fp16() -> MixedPrecision {
        MixedPrecision { kind: Kind::Half, scaler: Some(GradScaler::new()), even_if_emulated: false }
    }

    /// Scales the loss with `scaler` (f16 has one by default; bf16 may have one too).
    pub fn grad_scaler(mut self, scaler: GradScaler) -> Self {
        self.scaler = Some(scaler);
        self
    }

    /// bf16 even on a CPU without native bf16, where libtorch emulates it (slower than f32:
    /// for checking a configuration on a small machine, not for speed).
    pub fn even_if_emulated(mut self) -> Self {
        self.even_if_emulated = true;
        self
    }

    /// The 16-bit kind the models compute in.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The settings, checked against the device the run trains on.
    pub(crate) fn check(&self, device: Device) -> Result<()> {
        if let Some(scaler) = &self.scaler {
            scaler.check()?;
        }
        match (self.kind, device) {
            (Kind::Half, Device::Cpu) => Err(Error::mismatch(
                "mixed_precision",
                "MixedPrecision::bf16() on the CPU (f16 with a loss scale is for CUDA)",
                "MixedPrecision::fp16() with data_device Device::Cpu",
            )),
            (Kind::BFloat16, _) if !self.even_if_emulated && !bf16_supported(device) => Err(Error::mismatch(
                "mixed_precision",
                format!("a device that computes bf16 natively ({})", match device {
                    Device::Cpu => "a CPU with AVX-512 or AMX; `.even_if_emulated()` runs it anyway, slower than f32",
                    _ => "a CUDA device of compute capability 8.0 or more",
                }),
                format!("{device:?}, which does not"),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn scaler_mut(&mut self) -> Option<&mut GradScaler> {
        self.scaler.as_mut()
    }

    pub(crate) fn scaler(&self) -> Option<&GradScaler> {
        self.scaler.as_ref()
    }
}
