//! Miners: tuple miners choose pairs or triplets within a batch; subset-batch miners choose
//! which samples of a larger batch to train on.

mod maximum_loss;
mod multi_similarity;

pub use maximum_loss::MaximumLossMiner;
pub use multi_similarity::MultiSimilarityMiner;

use crate::indices::Tuples;
use crate::trainer::Component;
use crate::Result;
use tch::Tensor;

/// Chooses the pairs or triplets a metric loss should see. Runs without gradients.
pub trait TupleMiner: Component + Send {
    /// The mined tuples, as batch indices on the embeddings' device.
    ///
    /// # Errors
    /// When embeddings and labels do not match in shape or length.
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tuples>;
}

/// Chooses a subset of a batch to train on (PML's `subset_batch_miner`, before v2.0).
pub trait SubsetBatchMiner: Component + Send {
    /// Indices of the chosen samples.
    ///
    /// # Errors
    /// When the batch is smaller than the subset it must return.
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor>;
}

impl<M: TupleMiner + 'static> From<M> for Box<dyn TupleMiner> {
    fn from(miner: M) -> Self {
        Box::new(miner)
    }
}

impl<M: SubsetBatchMiner + 'static> From<M> for Box<dyn SubsetBatchMiner> {
    fn from(miner: M) -> Self {
        Box::new(miner)
    }
}

/// PML's miner statistics from mined tuples: `num_pos_pairs` and `num_neg_pairs`, or `num_triplets`.
fn tuple_records(tuples: &Option<crate::indices::TupleCounts>) -> Vec<crate::trainer::Record> {
    use crate::indices::TupleCounts;
    use crate::trainer::Record;
    match tuples {
        None => Vec::new(),
        Some(TupleCounts::Pairs { positive, negative }) => vec![
            Record { name: "num_pos_pairs", value: *positive as f64 },
            Record { name: "num_neg_pairs", value: *negative as f64 },
        ],
        Some(TupleCounts::Triplets(count)) => vec![Record { name: "num_triplets", value: *count as f64 }],
    }
}
