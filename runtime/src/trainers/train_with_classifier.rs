use crate::losses::{ClassifierLoss, MetricLoss};
use crate::miners::{SubsetBatchMiner, TupleMiner};
use crate::{trainer, Model};

/// trunk -> embedder -> classifier: a metric loss on the embeddings and a classification loss
/// on the classifier's logits of those embeddings. PML's `TrainWithClassifier`; its step is
/// generated from this declaration.
#[trainer(embeddings = trunk -> embedder)]
pub struct TrainWithClassifier {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// Maps embeddings to class logits.
    #[model]
    pub classifier: Model,
    /// The loss on embeddings and labels, on the tuples `tuple_miner` chooses (all, without one).
    #[loss(on = embeddings, miner = tuple_miner)]
    pub metric_loss: Box<dyn MetricLoss>,
    /// The loss on the classifier's logits and the labels, typically cross-entropy.
    #[loss(on = classifier)]
    pub classifier_loss: Box<dyn ClassifierLoss>,
    /// Chooses the pairs or triplets the metric loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// Chooses which samples of each batch to train on.
    #[miner(optional)]
    pub subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
}
