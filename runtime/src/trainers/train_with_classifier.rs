use crate::losses::{ClassifierLoss, MetricLoss};
use crate::miners::{SubsetBatchMiner, TupleMiner};
use crate::{trainer, Iteration, Model, Result, Step};
use tch::Tensor;

/// trunk -> embedder -> classifier: a metric loss on the embeddings and a classification loss
/// on the classifier's logits of those embeddings. PML's `TrainWithClassifier`.
#[trainer]
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
    /// The loss on embeddings and labels.
    #[loss]
    pub metric_loss: Box<dyn MetricLoss>,
    /// The loss on logits and labels, typically cross-entropy.
    #[loss]
    pub classifier_loss: Box<dyn ClassifierLoss>,
    /// Chooses the pairs or triplets the metric loss sees.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
    /// Chooses which samples of each batch to train on.
    #[miner(optional)]
    pub subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
}

impl Step for TrainWithClassifier {
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        Ok(self.embedder.forward(&self.trunk.forward(data)))
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> Result<()> {
        let embeddings = self.embed(data)?;
        if it.is_active(TrainWithClassifierLoss::MetricLoss) {
            let tuples = match &mut self.tuple_miner {
                Some(miner) => Some(miner.mine(&embeddings, labels)?),
                None => None,
            };
            it.losses.metric_loss = Some(self.metric_loss.compute(&embeddings, labels, tuples.as_ref())?);
        }
        if it.is_active(TrainWithClassifierLoss::ClassifierLoss) {
            let logits = self.classifier.forward(&embeddings);
            it.losses.classifier_loss = Some(self.classifier_loss.compute(&logits, labels)?);
        }
        Ok(())
    }
}
