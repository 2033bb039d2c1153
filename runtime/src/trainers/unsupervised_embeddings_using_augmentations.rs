use crate::losses::MetricLoss;
use crate::miners::{OptionalMiner, TupleMiner};
use crate::transforms::{Augmentations, Transform};
use crate::{trainer, Iteration, Model, Result, Step};
use std::sync::Arc;
use tch::Tensor;

/// Self-supervised metric learning: every sample of a batch through every transform, its
/// views labelled by its position in the batch, so that views of one sample are positives and
/// everything else negatives; the dataset's labels are not used. The effective batch is
/// `batch_size x transforms`; the views are made on the loader's workers. PML's `UnsupervisedEmbeddingsUsingAugmentations` (v1.7).
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
        self.embedder.forward(&self.trunk.forward(data)?)
    }

    /// The views are made by the loader, on its workers, from each batch's own seed (so a
    /// resumed run sees the same views).
    fn loader_transform(&self) -> Option<Arc<dyn Transform>> {
        Some(Arc::new(self.transforms.clone()))
    }

    /// Checks the transforms and the models on the sample's views.
    fn setup(&mut self, sample: &Tensor) -> Result<()> {
        let (views, _) = self.transforms.flatten(sample, sample.device())?;
        self.embed(&views).map(|_| ())
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, _labels: &Tensor) -> Result<()> {
        let (views, pseudo_labels) = self.transforms.flatten(data, it.device())?;
        let embeddings = self.embed(&views)?;
        it.compute(UnsupervisedEmbeddingsUsingAugmentationsLoss::MetricLoss, || {
            let tuples = self.tuple_miner.mine_if_set(&embeddings, &pseudo_labels).map_err(|e| e.in_key("tuple_miner"))?;
            self.metric_loss.compute(&embeddings, &pseudo_labels, tuples.as_ref())
        })
    }
}
