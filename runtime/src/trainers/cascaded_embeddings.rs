use crate::indices::Tuples;
use crate::losses::{ClassifierLoss, MetricLoss};
use crate::miners::{SubsetBatchMiner, TupleMiner};
use crate::{trainer, Error, Iteration, Model, Result, Step};
use tch::Tensor;

/// The embedding cut into consecutive slices, one stage each: stage `i` has its own metric loss
/// `metric_loss_i` (required), optionally a classifier `classifier_i` with its loss
/// `classifier_loss_i`, and a miner `tuple_miner_i`; an HDC miner at stage `i` filters the
/// tuples stage `i - 1` mined (Yuan et al., 2017). PML's `CascadedEmbeddings`.
///
/// The number of stages is the length of `embedding_sizes`; `build()` refuses a different
/// number of metric losses, and an embedding narrower than their sum.
///
/// It takes an optional subset-batch miner, as PML's documentation of this trainer says (PML's
/// code refuses one).
#[trainer]
pub struct CascadedEmbeddings {
    /// The backbone.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// Per stage, a classifier of that stage's slice (the first stages only, if fewer).
    #[model(indexed, optional = Vec::new())]
    pub classifier: Vec<Model>,
    /// Per stage, the loss on that stage's slice.
    #[loss(indexed)]
    pub metric_loss: Vec<Box<dyn MetricLoss>>,
    /// Per classifier, its loss.
    #[loss(indexed, optional = Vec::new())]
    pub classifier_loss: Vec<Box<dyn ClassifierLoss>>,
    /// Per stage, an optional miner (the first stages only, if fewer).
    #[miner(indexed, optional = Vec::new())]
    pub tuple_miner: Vec<Option<Box<dyn TupleMiner>>>,
    /// Chooses which samples of each batch to train on.
    #[miner(optional)]
    pub subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
    /// The width of each stage's slice, in order.
    #[param]
    pub embedding_sizes: Vec<i64>,
}

impl Step for CascadedEmbeddings {
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        self.embedder.forward(&self.trunk.forward(data)?)
    }

    fn setup(&mut self, sample: &Tensor) -> Result<()> {
        let stages = self.embedding_sizes.len();
        let problem = if stages == 0 {
            Some("embedding_sizes is empty; it needs one size per stage".to_string())
        } else if let Some(size) = self.embedding_sizes.iter().find(|&&s| s <= 0) {
            Some(format!("embedding sizes must be positive, found {size}"))
        } else if self.metric_loss.len() != stages {
            Some(format!("{stages} embedding sizes but {} metric losses; every stage needs its metric_loss", self.metric_loss.len()))
        } else if self.classifier.len() > stages || self.tuple_miner.len() > stages {
            Some(format!("{stages} stages but {} classifiers and {} miners", self.classifier.len(), self.tuple_miner.len()))
        } else if self.classifier_loss.len() != self.classifier.len() {
            Some(format!("{} classifiers but {} classifier losses; each classifier needs its loss", self.classifier.len(), self.classifier_loss.len()))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::config(problem));
        }
        self.check_width(&self.embed(sample)?)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> Result<()> {
        let embeddings = self.embed(data)?;
        self.check_width(&embeddings)?;
        let mut start = 0;
        let mut previous: Option<Tuples> = None;
        for (stage, &size) in self.embedding_sizes.iter().enumerate() {
            let slice = embeddings.narrow(1, start, size);
            // A stage without a miner resets the cascade; a miner that cannot filter earlier
            // tuples (anything but HDC) mines afresh.
            let tuples = match self.tuple_miner.get_mut(stage) {
                Some(Some(miner)) => Some(match miner.mine_among(previous.as_ref(), &slice, labels) {
                    Some(filtered) => filtered?,
                    None => miner.mine(&slice, labels)?,
                }),
                _ => None,
            };
            it.compute(CascadedEmbeddingsLoss::MetricLoss(stage), || self.metric_loss[stage].compute(&slice, labels, tuples.as_ref()))?;
            if let (Some(classifier), Some(loss)) = (self.classifier.get(stage), self.classifier_loss.get_mut(stage)) {
                it.compute(CascadedEmbeddingsLoss::ClassifierLoss(stage), || loss.compute(&classifier.forward(&slice)?, labels))?;
            }
            previous = tuples;
            start += size;
        }
        Ok(())
    }
}

impl CascadedEmbeddings {
    /// The stages' slices must fit in the embedding.
    fn check_width(&self, embeddings: &Tensor) -> Result<()> {
        let width = embeddings.size().last().copied().unwrap_or(0);
        let needed: i64 = self.embedding_sizes.iter().sum();
        if width < needed {
            return Err(Error::mismatch(
                "embedding_sizes",
                format!("an embedding at least as wide as the sum of embedding_sizes {:?} = {needed}", self.embedding_sizes),
                format!("{width} wide"),
            ));
        }
        Ok(())
    }
}
