//! libtorch's autocast, for any device (tch's `autocast` switches CUDA's only): inside, the
//! operations autocast lists (matrix products, convolutions) run in the lower precision, the
//! others in the precision of their inputs.

use crate::{Error, Result};
use std::ffi::c_int;
use tch::{Device, Kind, Tensor};

extern "C" {
    fn ml_autocast_enter(device_type: c_int, dtype: c_int, was_enabled: *mut c_int, was_dtype: *mut c_int) -> c_int;
    fn ml_autocast_exit(device_type: c_int, was_enabled: c_int, was_dtype: c_int);
    fn ml_autocast_set_enabled(device_type: c_int, enabled: c_int) -> c_int;
}

/// `at::DeviceType`'s number for the devices autocast covers.
fn device_type(device: Device) -> Result<c_int> {
    match device {
        Device::Cpu => Ok(0),
        Device::Cuda(_) => Ok(1),
        other => Err(Error::mismatch("mixed_precision", "a CPU or CUDA device", format!("{other:?}"))),
    }
}

/// `f` with autocast on for `device` in `kind` (bf16 or f16); what was set before comes back
/// afterwards, even when `f` fails.
///
/// # Errors
/// A device autocast does not cover, or a kind that is not a 16-bit float.
pub fn autocast<R>(device: Device, kind: Kind, f: impl FnOnce() -> R) -> Result<R> {
    // at::ScalarType's numbers.
    let dtype = match kind {
        Kind::Half => 5,
        Kind::BFloat16 => 15,
        other => return Err(Error::mismatch("autocast", "Kind::BFloat16 or Kind::Half", format!("{other:?}"))),
    };
    let device = device_type(device)?;
    let (mut was_enabled, mut was_dtype) = (0, 0);
    // SAFETY: plain values in, two integers written.
    if unsafe { ml_autocast_enter(device, dtype, &mut was_enabled, &mut was_dtype) } != 0 {
        return Err(Error::config("libtorch refused to turn autocast on"));
    }
    struct Exit(c_int, c_int, c_int);
    impl Drop for Exit {
        fn drop(&mut self) {
            // SAFETY: closes the level opened above, with what it reported.
            unsafe { ml_autocast_exit(self.0, self.1, self.2) }
        }
    }
    let _exit = Exit(device, was_enabled, was_dtype);
    Ok(f())
}

/// `f` with autocast off for `device` (inside an autocast step, the losses and miners run in
/// full precision, as PML's numerics expect).
pub(crate) fn without_autocast<R>(device: Device, f: impl FnOnce() -> R) -> R {
    let Ok(device) = device_type(device) else { return f() };
    // SAFETY: plain values in and out.
    let before = unsafe { ml_autocast_set_enabled(device, 0) };
    struct Restore(c_int, c_int);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: as above.
            unsafe { ml_autocast_set_enabled(self.0, self.1) };
        }
    }
    let _restore = Restore(device, before);
    f()
}

/// `tensor` in f32 when it is a 16-bit float (what autocast's layers return), as it is
/// otherwise: the stock trainers' steps hand losses and miners their embeddings through it.
///
/// # Errors
/// When libtorch cannot convert the tensor.
pub fn full_precision(tensor: &Tensor) -> Result<Tensor> {
    match tensor.kind() {
        Kind::BFloat16 | Kind::Half => Ok(tensor.f_to_kind(Kind::Float)?),
        _ => Ok(tensor.shallow_clone()),
    }
}
