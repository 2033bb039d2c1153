//! PML's `DistributedMinerWrapper`: a tuple miner over the global batch of a data-parallel run,
//! its tuples indexing what [`DistributedLossWrapper`](super::DistributedLossWrapper) gathers.

use super::delegate::component_of_inner;
use super::global_batch::{gather_pair, gather_reference, own_start};
use super::process_group::ProcessGroup;
use crate::indices::{without_self_comparisons, Tuples};
use crate::losses::Reference;
use crate::miners::TupleMiner;
use crate::Result;
use std::sync::Arc;
use tch::Tensor;

/// A tuple miner on every rank's embeddings at once: by default on the global batch (every
/// rank mines the same tuples, as one process would); [`efficient`](Self::efficient), this
/// rank's embeddings against the global batch, for an efficient [`DistributedLossWrapper`](super::DistributedLossWrapper).
pub struct DistributedMinerWrapper<M> {
    miner: M,
    group: Arc<ProcessGroup>,
    efficient: bool,
}

impl<M: TupleMiner> DistributedMinerWrapper<M> {
    /// `miner` on the global batch of `group`'s ranks.
    pub fn new(miner: M, group: Arc<ProcessGroup>) -> DistributedMinerWrapper<M> {
        DistributedMinerWrapper { miner, group, efficient: false }
    }

    /// `miner` of this rank's queries against the global batch (PML's `efficient=True`).
    pub fn efficient(miner: M, group: Arc<ProcessGroup>) -> DistributedMinerWrapper<M> {
        DistributedMinerWrapper { miner, group, efficient: true }
    }

    /// The wrapped miner.
    pub fn inner(&self) -> &M {
        &self.miner
    }
}

impl<M: TupleMiner> TupleMiner for DistributedMinerWrapper<M> {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        if self.group.world_size() == 1 {
            return self.miner.mine_with_reference(embeddings, labels, reference);
        }
        let gathered_reference = gather_reference(&self.group, reference)?;
        if self.efficient {
            let (all, all_labels) = match gathered_reference {
                Some(pair) => pair,
                None => gather_pair(&self.group, embeddings, labels, "embeddings and labels")?,
            };
            let tuples = self.miner.mine_with_reference(embeddings, labels, Some(Reference { embeddings: &all, labels: &all_labels }))?;
            if reference.is_some() {
                return Ok(tuples);
            }
            let rows = embeddings.size().first().copied().unwrap_or(0);
            return Ok(without_self_comparisons(tuples, own_start(&self.group, rows), all.size()[0]));
        }
        let (all, all_labels) = gather_pair(&self.group, embeddings, labels, "embeddings and labels")?;
        let reference = gathered_reference.as_ref().map(|(e, l)| Reference { embeddings: e, labels: l });
        self.miner.mine_with_reference(&all, &all_labels, reference)
    }
}

component_of_inner!(DistributedMinerWrapper, TupleMiner, miner);
