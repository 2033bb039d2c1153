use crate::losses::MetricLoss;
use crate::miners::TupleMiner;
use crate::transforms::Augmentations;
use crate::{trainer, Iteration, Model, Result, Step};
use tch::Tensor;

/// Self-supervised metric learning: every sample of a batch through every transform, its
/// views labelled by its position in the batch, so that views of one sample are positives and
/// everything else negatives; the dataset's labels are not used. The effective batch is
/// `batch_size x transforms`. PML's `UnsupervisedEmbeddingsUsingAugmentations` (v1.7).
#[trainer]
pub struct UnsupervisedEmbeddingsUsingAugmentations {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// The loss on the views' embeddings and pseudo-labels.
    #[loss]
    pub metric_loss: Box<dyn MetricLoss>,
    /// Chooses the pairs or triplets the loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// The transforms, one view each.
    #[param]
    pub transforms: Augmentations,
}

impl Step for UnsupervisedEmbeddingsUsingAugmentations {
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        Ok(self.embedder.forward(&self.trunk.forward(data)))
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, _labels: &Tensor) -> Result<()> {
        let (views, pseudo_labels) = self.transforms.views(data, it.device())?;
        let embeddings = self.embed(&views)?;
        if it.is_active(UnsupervisedEmbeddingsUsingAugmentationsLoss::MetricLoss) {
            let tuples = match &mut self.tuple_miner {
                Some(miner) => Some(miner.mine(&embeddings, &pseudo_labels)?),
                None => None,
            };
            it.losses.metric_loss = Some(self.metric_loss.compute(&embeddings, &pseudo_labels, tuples.as_ref())?);
        }
        Ok(())
    }
}
