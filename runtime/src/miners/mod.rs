//! Miners: tuple miners choose pairs or triplets within a batch (or between queries and
//! references); subset-batch miners choose which samples of a batch to train on. Miners run
//! without gradients.

mod already_packaged;
mod angular;
mod batch_easy_hard;
mod batch_hard;
mod distance_weighted;
mod hdc;
mod maximum_loss;
mod multi_similarity;
mod pair_margin;
mod triplet_margin;
mod uniform_histogram;

pub use already_packaged::EmbeddingsAlreadyPackagedAsTriplets;
pub use angular::AngularMiner;
pub use batch_easy_hard::{BatchEasyHardMiner, Strategy};
pub use batch_hard::BatchHardMiner;
pub use distance_weighted::DistanceWeightedMiner;
pub use hdc::{HDCMiner, HdcMiner};
pub use maximum_loss::MaximumLossMiner;
pub use multi_similarity::MultiSimilarityMiner;
pub use pair_margin::PairMarginMiner;
pub use triplet_margin::{TripletMarginMiner, TripletType};
pub use uniform_histogram::UniformHistogramMiner;

use crate::indices::{TupleCounts, Tuples};
use crate::losses::Reference;
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Chooses the pairs or triplets a metric loss should see.
pub trait TupleMiner: Component + Send {
    /// Tuples between the queries and `reference` (or among the queries when `None`), as
    /// indices on the embeddings' device.
    ///
    /// # Errors
    /// When embeddings and labels do not match in shape or length.
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples>;

    /// Tuples among the embeddings.
    ///
    /// # Errors
    /// As [`TupleMiner::mine_with_reference`].
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tuples> {
        self.mine_with_reference(embeddings, labels, None)
    }

    /// Filters tuples another miner chose instead of starting from all of them; `None` for
    /// miners that cannot (CascadedEmbeddings hands each stage's tuples to an HDC miner).
    fn mine_among(&mut self, _candidates: Option<&Tuples>, _embeddings: &Tensor, _labels: &Tensor) -> Option<Result<Tuples>> {
        None
    }
}

/// Chooses a subset of a batch to train on (PML's `subset_batch_miner`, before v2.0).
pub trait SubsetBatchMiner: Component + Send {
    /// Indices of the chosen samples.
    ///
    /// # Errors
    /// When the batch is smaller than the subset it must return.
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor>;
}

/// A boxed miner is a miner: keys of type `Box<dyn TupleMiner>` and of a concrete miner are
/// used the same way.
impl<M: TupleMiner + ?Sized> TupleMiner for Box<M> {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        (**self).mine_with_reference(embeddings, labels, reference)
    }
    fn mine_among(&mut self, candidates: Option<&Tuples>, embeddings: &Tensor, labels: &Tensor) -> Option<Result<Tuples>> {
        (**self).mine_among(candidates, embeddings, labels)
    }
}

impl<M: SubsetBatchMiner + ?Sized> SubsetBatchMiner for Box<M> {
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
        (**self).mine(embeddings, labels)
    }
}

/// An optional miner key (`Option<Box<dyn TupleMiner>>`) in one call: its tuples when it is set,
/// `None` (every tuple, for the loss) when it is not.
pub trait OptionalMiner {
    /// The miner's tuples among the embeddings, or `None` when no miner is set.
    ///
    /// # Errors
    /// As [`TupleMiner::mine`].
    fn mine_if_set(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Option<Tuples>>;
}

impl<M: TupleMiner> OptionalMiner for Option<M> {
    fn mine_if_set(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Option<Tuples>> {
        self.as_mut().map(|miner| miner.mine(embeddings, labels)).transpose()
    }
}

/// PML's miner statistics from mined tuples: `num_pos_pairs` and `num_neg_pairs`, or `num_triplets`.
fn tuple_records(tuples: &Option<TupleCounts>) -> Vec<Record> {
    match tuples {
        None => Vec::new(),
        Some(TupleCounts::Pairs { positive, negative }) => vec![
            Record { name: "num_pos_pairs", value: *positive as f64 },
            Record { name: "num_neg_pairs", value: *negative as f64 },
        ],
        Some(TupleCounts::Triplets(count)) => vec![Record { name: "num_triplets", value: *count as f64 }],
    }
}

/// `.distance(...)` for a miner struct with a `distance` field.
macro_rules! miner_distance {
    ($ty:ty) => {
        impl $ty {
            /// The distance or similarity the miner compares embeddings with.
            pub fn distance(mut self, distance: impl $crate::distances::Distance + 'static) -> Self {
                self.distance = ::std::boxed::Box::new(distance);
                self
            }
        }
    };
}
use miner_distance;
