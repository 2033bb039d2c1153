//! Data-parallel training over processes and machines on PyTorch's own c10d (the `distributed`
//! feature): a [`ProcessGroup`] meets the other processes through a TCPStore from the variables
//! torchrun sets ([`Rendezvous`]), and runs Gloo's collectives on CPU tensors.

mod buckets;
mod ffi;
mod process_group;
mod rendezvous;

pub use buckets::{plan as plan_buckets, BUCKET_BYTES};
pub use process_group::ProcessGroup;
pub use rendezvous::Rendezvous;
