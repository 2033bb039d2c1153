use crate::losses::MetricLoss;
use crate::miners::{SubsetBatchMiner, TupleMiner};
use crate::{trainer, Iteration, Model, Result, Step};
use tch::Tensor;

/// trunk -> embedder -> a metric loss on the embeddings, optionally on mined tuples.
/// PML's `MetricLossOnly`.
#[trainer]
pub struct MetricLossOnly {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// The loss on embeddings and labels.
    #[loss]
    pub metric_loss: Box<dyn MetricLoss>,
    /// Chooses the pairs or triplets the loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// Chooses which samples of each batch to train on.
    #[miner(optional)]
    pub subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
}

impl Step for MetricLossOnly {
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        Ok(self.embedder.forward(&self.trunk.forward(data)))
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> Result<()> {
        let embeddings = self.embed(data)?;
        if it.is_active(MetricLossOnlyLoss::MetricLoss) {
            let tuples = match &mut self.tuple_miner {
                Some(miner) => Some(miner.mine(&embeddings, labels)?),
                None => None,
            };
            it.losses.metric_loss = Some(self.metric_loss.compute(&embeddings, labels, tuples.as_ref())?);
        }
        Ok(())
    }
}
