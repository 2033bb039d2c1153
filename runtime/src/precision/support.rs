//! Which devices compute in bf16 at speed: mixed precision elsewhere is slower than f32 (on a
//! CPU without AVX-512 a bf16 matrix product ran 125 times slower than f32 here), so it is an
//! error unless asked for anyway.

use crate::guard;
use tch::{Device, Kind, Tensor};

/// Whether `device` computes bf16 natively: on x86 CPUs, AVX-512 (BW, VL and DQ, what oneDNN's
/// bf16 kernels need; AMX and AVX512-BF16 are faster still); on ARM, the BF16 extension; on
/// CUDA, a device where a bf16 matrix product runs (compute capability 8.0 and up).
pub fn bf16_supported(device: Device) -> bool {
    match device {
        Device::Cpu => cpu_has_bf16(),
        Device::Cuda(_) => guard::run(|| {
            let x = Tensor::f_ones([2, 2], (Kind::BFloat16, device))?;
            Ok(x.f_matmul(&x)?.f_to_kind(Kind::Float)?.f_sum(None::<Kind>)?.f_double_value(&[])? == 8.0)
        })
        .unwrap_or(false),
        _ => false,
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_bf16() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512vl") && std::arch::is_x86_feature_detected!("avx512dq")
}

#[cfg(target_arch = "aarch64")]
fn cpu_has_bf16() -> bool {
    std::arch::is_aarch64_feature_detected!("bf16")
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu_has_bf16() -> bool {
    false
}
