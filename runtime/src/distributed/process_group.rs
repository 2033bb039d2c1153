//! The processes of a run, connected through c10d: a TCPStore that rank 0 serves, and a Gloo
//! process group over it for the collectives.

use super::ffi::{self, check};
use super::rendezvous::Rendezvous;
use crate::{Error, Result};
use std::ffi::{c_void, CString};
use std::time::{Duration, Instant};
use tch::{Device, Tensor};

/// This process's membership in a run: collectives over every rank's tensors.
#[derive(Debug)]
pub struct ProcessGroup {
    store: *mut c_void,
    gloo: *mut c_void,
    rank: usize,
    world_size: usize,
}

// SAFETY: the c10d objects behind both pointers are thread-safe (c10d's process groups queue
// collectives from any thread). The order of collectives must agree between ranks, which is the
// caller's to keep, as with torch.distributed: the engine and the wrappers call them from the
// training thread only.
unsafe impl Send for ProcessGroup {}
unsafe impl Sync for ProcessGroup {}

impl ProcessGroup {
    /// Meets the other processes as the environment says ([`Rendezvous::from_env`]); every wait
    /// (for the store, for the other ranks, for a collective) gives up after `timeout`.
    ///
    /// # Errors
    /// As [`Rendezvous::from_env`] and [`ProcessGroup::connect`].
    pub fn from_env(timeout: Duration) -> Result<ProcessGroup> {
        ProcessGroup::connect(&Rendezvous::from_env()?, timeout)
    }

    /// Meets the other processes of `rendezvous`: rank 0 serves the store, every rank announces
    /// itself and waits for all the others, then the Gloo group connects.
    ///
    /// # Errors
    /// When rank 0 cannot serve on the port (in use), the store cannot be reached, two
    /// processes claim one rank, or a rank has not arrived within `timeout` (the error names
    /// the ranks missing).
    pub fn connect(rendezvous: &Rendezvous, timeout: Duration) -> Result<ProcessGroup> {
        let Rendezvous { master_addr, master_port, rank, world_size, .. } = rendezvous;
        let (rank, world_size) = (*rank, *world_size);
        let host = CString::new(master_addr.as_str()).map_err(|_| Error::Distributed(format!("MASTER_ADDR holds a NUL byte: {master_addr:?}")))?;
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let (rank_c, world_c) = (rank as i32, world_size as i32);
        let mut store = std::ptr::null_mut();
        // SAFETY: the arguments are valid for the call; `store` receives an owned pointer.
        check(unsafe { ffi::ml_c10d_store_new(host.as_ptr(), *master_port, rank_c, world_c, timeout_ms, &mut store) }, || {
            if rank == 0 {
                format!("rank 0 cannot serve the store on {master_addr}:{master_port} (MASTER_ADDR:MASTER_PORT; a port in use by another run?)")
            } else {
                format!("rank {rank} cannot reach the store on {master_addr}:{master_port} (MASTER_ADDR:MASTER_PORT) within {timeout:?}")
            }
        })?;
        let mut group = ProcessGroup { store, gloo: std::ptr::null_mut(), rank, world_size };
        group.wait_for_every_rank(timeout)?;
        let mut gloo = std::ptr::null_mut();
        // SAFETY: `store` is live; `gloo` receives an owned pointer.
        check(unsafe { ffi::ml_c10d_gloo_new(group.store, host.as_ptr(), rank_c, world_c, timeout_ms, &mut gloo) }, || {
            format!("rank {rank} of {world_size}: connecting the Gloo process group")
        })?;
        group.gloo = gloo;
        Ok(group)
    }

    /// Announces this rank under `ml/arrived/<rank>` and polls until every rank has: a rank that
    /// never comes is named, where c10d would only say that a key timed out.
    fn wait_for_every_rank(&self, timeout: Duration) -> Result<()> {
        let (rank, world_size) = (self.rank, self.world_size);
        let key = |r: usize| CString::new(format!("ml/arrived/{r}")).expect("no NUL in a formatted key");
        let mut count = 0;
        // SAFETY: the store is live and the key a valid C string.
        check(unsafe { ffi::ml_c10d_store_add(self.store, key(rank).as_ptr(), 1, &mut count) }, || format!("rank {rank}: announcing itself to the store"))?;
        if count > 1 {
            return Err(Error::Distributed(format!("two processes claim rank {rank} (RANK must differ between the {world_size} processes)")));
        }
        let keys: Vec<CString> = (0..world_size).map(key).collect();
        let started = Instant::now();
        loop {
            let mut missing = Vec::new();
            for (r, key) in keys.iter().enumerate() {
                if !self.has_key(key)? {
                    missing.push(r);
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
                return Err(Error::Distributed(format!(
                    "rank {rank}: rank{} {} of {world_size} never arrived within {timeout:?} (fewer processes started than WORLD_SIZE, or one failed before connecting)",
                    if missing.len() > 1 { "s" } else { "" },
                    names.join(", ")
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn has_key(&self, key: &CString) -> Result<bool> {
        let pointers = [key.as_ptr()];
        let mut set = 0;
        // SAFETY: the store is live and `pointers` holds one valid C string.
        check(unsafe { ffi::ml_c10d_store_check(self.store, pointers.as_ptr(), 1, &mut set) }, || {
            format!("rank {}: waiting for the other ranks, the store stopped answering (rank 0 stopped?)", self.rank)
        })?;
        Ok(set == 1)
    }

    /// This process's rank, `0..world_size`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many processes the run has.
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Sums `tensor` over the ranks, in place (every rank's must have the same shape and kind).
    ///
    /// # Errors
    /// When the tensor is not on the CPU or not contiguous, or a peer fails or times out.
    pub fn all_reduce_sum(&self, tensor: &mut Tensor) -> Result<()> {
        self.collective_input("all_reduce_sum", tensor)?;
        // SAFETY: both pointers are live for the call; Gloo writes only inside the tensor.
        check(unsafe { ffi::ml_c10d_allreduce_sum(self.gloo, tensor.as_mut_ptr()) }, || self.failed("all_reduce_sum"))
    }

    /// Gives every rank `tensor` as rank `root` holds it, in place.
    ///
    /// # Errors
    /// As [`ProcessGroup::all_reduce_sum`], or when `root` is not a rank.
    pub fn broadcast(&self, tensor: &mut Tensor, root: usize) -> Result<()> {
        if root >= self.world_size {
            return Err(Error::Distributed(format!("broadcast: the root must be a rank in 0..{}, found {root}", self.world_size)));
        }
        self.collective_input("broadcast", tensor)?;
        // SAFETY: as in `all_reduce_sum`.
        check(unsafe { ffi::ml_c10d_broadcast(self.gloo, tensor.as_mut_ptr(), root as i32) }, || self.failed("broadcast"))
    }

    /// Every rank's `tensor` (all of one shape) stacked along the first dimension in rank order:
    /// `(world_size * rows, ...)`. No gradient flows through it.
    ///
    /// # Errors
    /// As [`ProcessGroup::all_reduce_sum`].
    pub fn all_gather(&self, tensor: &Tensor) -> Result<Tensor> {
        let mut input = tensor.detach().f_contiguous()?;
        self.collective_input("all_gather", &input)?;
        let mut shape = input.size();
        if shape.is_empty() {
            shape.push(1);
            input = input.reshape([1]);
        }
        shape[0] *= self.world_size as i64;
        let mut output = Tensor::f_empty(shape.as_slice(), (input.kind(), input.device()))?;
        // SAFETY: both tensors are live for the call; Gloo writes only inside `output`.
        check(unsafe { ffi::ml_c10d_allgather(self.gloo, input.as_mut_ptr(), output.as_mut_ptr()) }, || self.failed("all_gather"))?;
        Ok(output)
    }

    /// Returns once every rank has called it.
    ///
    /// # Errors
    /// When a peer fails or the wait times out.
    pub fn barrier(&self) -> Result<()> {
        // SAFETY: the group is live.
        check(unsafe { ffi::ml_c10d_barrier(self.gloo) }, || self.failed("barrier"))
    }

    fn collective_input(&self, operation: &str, tensor: &Tensor) -> Result<()> {
        if tensor.device() != Device::Cpu {
            return Err(Error::Distributed(format!("{operation}: Gloo takes CPU tensors, found one on {:?}", tensor.device())));
        }
        if !tensor.is_contiguous() {
            return Err(Error::Distributed(format!("{operation}: the tensor must be contiguous (its shape is {:?})", tensor.size())));
        }
        Ok(())
    }

    fn failed(&self, operation: &str) -> String {
        format!("rank {} of {}: {operation} (a peer that stopped, or a timeout)", self.rank, self.world_size)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: both pointers came from the shim's constructors and are freed once; the group
        // goes before the store it uses.
        unsafe {
            if !self.gloo.is_null() {
                ffi::ml_c10d_gloo_free(self.gloo);
            }
            ffi::ml_c10d_store_free(self.store);
        }
    }
}
