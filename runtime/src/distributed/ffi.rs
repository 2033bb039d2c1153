//! The C interface of `csrc/c10d.cpp`. Each call returns null or a message to free; `check`
//! turns that into this crate's error.

use crate::{Error, Result};
use std::ffi::{c_char, c_int, c_void, CStr};
use torch_sys::C_tensor;

extern "C" {
    fn ml_c10d_free_error(error: *mut c_char);
    pub(super) fn ml_c10d_store_new(host: *const c_char, port: u16, rank: c_int, world_size: c_int, timeout_ms: i64, out: *mut *mut c_void) -> *mut c_char;
    pub(super) fn ml_c10d_store_free(store: *mut c_void);
    pub(super) fn ml_c10d_store_add(store: *mut c_void, key: *const c_char, value: i64, out: *mut i64) -> *mut c_char;
    pub(super) fn ml_c10d_store_check(store: *mut c_void, keys: *const *const c_char, count: i64, out: *mut c_int) -> *mut c_char;
    pub(super) fn ml_c10d_gloo_new(store: *mut c_void, host: *const c_char, rank: c_int, world_size: c_int, timeout_ms: i64, out: *mut *mut c_void) -> *mut c_char;
    pub(super) fn ml_c10d_gloo_free(group: *mut c_void);
    pub(super) fn ml_c10d_allreduce_sum(group: *mut c_void, tensor: *mut C_tensor) -> *mut c_char;
    pub(super) fn ml_c10d_broadcast(group: *mut c_void, tensor: *mut C_tensor, root: c_int) -> *mut c_char;
    pub(super) fn ml_c10d_allgather(group: *mut c_void, input: *mut C_tensor, output: *mut C_tensor) -> *mut c_char;
    pub(super) fn ml_c10d_barrier(group: *mut c_void) -> *mut c_char;
}

/// `Ok` for a null result; otherwise c10d's message, prefixed with what was being done.
pub(super) fn check(result: *mut c_char, doing: impl FnOnce() -> String) -> Result<()> {
    if result.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null result is a NUL-terminated string the shim allocated for us to free.
    let message = unsafe { CStr::from_ptr(result) }.to_string_lossy().into_owned();
    unsafe { ml_c10d_free_error(result) };
    Err(Error::Distributed(format!("{}: {}", doing(), message.trim())))
}
