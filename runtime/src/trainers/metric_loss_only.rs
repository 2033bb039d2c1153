use crate::losses::MetricLoss;
use crate::miners::{SubsetBatchMiner, TupleMiner};
use crate::{trainer, Model};

/// trunk -> embedder -> a metric loss on the embeddings, optionally on mined tuples.
/// PML's `MetricLossOnly`; its step is generated from this declaration.
#[trainer(embeddings = trunk -> embedder)]
pub struct MetricLossOnly {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// The loss on embeddings and labels, on the tuples `tuple_miner` chooses (all, without one).
    #[loss(on = embeddings, miner = tuple_miner)]
    pub metric_loss: Box<dyn MetricLoss>,
    /// Chooses the pairs or triplets the loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// Chooses which samples of each batch to train on.
    #[miner(optional)]
    pub subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
}
