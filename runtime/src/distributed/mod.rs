//! Data-parallel training over processes and machines on PyTorch's own c10d (the `distributed`
//! feature): a [`ProcessGroup`] meets the other processes through a TCPStore from the variables
//! torchrun sets ([`Rendezvous`]), and runs Gloo's collectives on CPU tensors. A trainer built
//! with `.distributed(group)` trains as one rank; [`DistributedLossWrapper`] and
//! [`DistributedMinerWrapper`] let a loss and a miner see the whole global batch.

mod buckets;
mod delegate;
mod ffi;
mod global_batch;
mod loss_wrapper;
mod miner_wrapper;
mod process_group;
mod rendezvous;

pub use buckets::{plan as plan_buckets, BUCKET_BYTES};
pub use loss_wrapper::DistributedLossWrapper;
pub use miner_wrapper::DistributedMinerWrapper;
pub use process_group::ProcessGroup;
pub use rendezvous::Rendezvous;
