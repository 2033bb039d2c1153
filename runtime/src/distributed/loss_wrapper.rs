//! PML's `DistributedLossWrapper`: a metric loss over the global batch of a data-parallel run,
//! so that a pair or triplet loss sees the pairs it would see on one process.

use super::delegate::component_of_inner;
use super::global_batch::{gather, gather_pair, gather_reference, own_start};
use super::process_group::ProcessGroup;
use crate::indices::{all_pairs, without_self_comparisons, Tuples};
use crate::losses::{CrossBatchMemory, MetricLoss, Reference};
use crate::{Error, Result};
use std::any::TypeId;
use std::sync::Arc;
use tch::Tensor;

/// A metric loss on every rank's embeddings at once.
///
/// - By default (PML's `efficient=False`) the loss runs on the global batch: every rank's
///   embeddings and labels, gathered in rank order (and the references, when given), with the
///   tuples of a [`DistributedMinerWrapper`](super::DistributedMinerWrapper) indexing into it.
///   Every rank computes the same loss; gradients flow through its own rows.
/// - [`efficient`](DistributedLossWrapper::efficient): this rank's embeddings are the queries,
///   the global batch the references (a query is not paired with its own row): less work per
///   rank, but a rank's gradients then miss the other ranks' queries against its rows.
///
/// The gradient is scaled by the world size, to undo the engine's average over the ranks; the
/// loss's value is not (PML's value is multiplied too), so that logs show the loss one process
/// would compute.
pub struct DistributedLossWrapper<L> {
    loss: L,
    group: Arc<ProcessGroup>,
    efficient: bool,
}

impl<L: MetricLoss + 'static> DistributedLossWrapper<L> {
    /// `loss` on the global batch of `group`'s ranks.
    pub fn new(loss: L, group: Arc<ProcessGroup>) -> DistributedLossWrapper<L> {
        DistributedLossWrapper { loss, group, efficient: false }
    }

    /// `loss` of this rank's queries against the global batch (PML's `efficient=True`).
    ///
    /// # Errors
    /// For a [`CrossBatchMemory`], whose queue already holds the global batches (as in PML).
    pub fn efficient(loss: L, group: Arc<ProcessGroup>) -> Result<DistributedLossWrapper<L>> {
        if TypeId::of::<L>() == TypeId::of::<CrossBatchMemory>() {
            return Err(Error::config("DistributedLossWrapper: CrossBatchMemory takes the default mode, not `efficient`"));
        }
        Ok(DistributedLossWrapper { loss, group, efficient: true })
    }

    /// The wrapped loss.
    pub fn inner(&self) -> &L {
        &self.loss
    }

    /// `value` with its gradient multiplied by the world size, its value unchanged.
    fn scaled(&self, value: Tensor) -> Result<Tensor> {
        let world = self.group.world_size() as f64;
        Ok(value.f_mul_scalar(world)?.f_sub(&value.detach().f_mul_scalar(world - 1.0)?)?)
    }
}

impl DistributedLossWrapper<CrossBatchMemory> {
    /// [`CrossBatchMemory::compute_with_mask`] on the global batch, every rank's mask gathered
    /// with its embeddings.
    ///
    /// # Errors
    /// As [`CrossBatchMemory::compute_with_mask`], or when a peer fails.
    pub fn compute_with_mask(&mut self, embeddings: &Tensor, labels: &Tensor, enqueue_mask: &Tensor) -> Result<Tensor> {
        let all = gather(&self.group, &[embeddings, labels, enqueue_mask], "embeddings, labels and enqueue masks")?;
        let value = self.loss.compute_with_mask(&all[0], &all[1], &all[2])?;
        self.scaled(value)
    }
}

impl<L: MetricLoss + 'static> MetricLoss for DistributedLossWrapper<L> {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if self.group.world_size() == 1 {
            return self.loss.compute_with_reference(embeddings, labels, indices, reference);
        }
        let gathered_reference = gather_reference(&self.group, reference)?;
        let value = if self.efficient {
            let (all, all_labels) = match gathered_reference {
                Some(pair) => pair,
                None => gather_pair(&self.group, embeddings, labels, "embeddings and labels")?,
            };
            let own = match indices {
                Some(_) => None,
                None => {
                    let pairs = all_pairs(labels, Some(&all_labels));
                    let rows = embeddings.size().first().copied().unwrap_or(0);
                    // Against its own embeddings, a query is not its own positive.
                    Some(if reference.is_none() { without_self_comparisons(pairs, own_start(&self.group, rows), all.size()[0]) } else { pairs })
                }
            };
            let tuples = indices.or(own.as_ref());
            self.loss.compute_with_reference(embeddings, labels, tuples, Some(Reference { embeddings: &all, labels: &all_labels }))?
        } else {
            let (all, all_labels) = gather_pair(&self.group, embeddings, labels, "embeddings and labels")?;
            let reference = gathered_reference.as_ref().map(|(e, l)| Reference { embeddings: e, labels: l });
            self.loss.compute_with_reference(&all, &all_labels, indices, reference)?
        };
        self.scaled(value)
    }

    fn class_weights(&self) -> Option<Tensor> {
        self.loss.class_weights()
    }
}

component_of_inner!(DistributedLossWrapper, MetricLoss, loss);
