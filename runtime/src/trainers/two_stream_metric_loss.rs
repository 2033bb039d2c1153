use crate::indices::{all_triplets, Tuples};
use crate::losses::{MetricLoss, Reference};
use crate::miners::TupleMiner;
use crate::{trainer, Error, Iteration, Model, Result, Step};
use tch::Tensor;

/// Anchors and positives in two streams through one trunk and embedder; tuples are mined from
/// anchors (rows) to the second stream (references), where a sample's own partner counts as its
/// positive, and the loss sees both streams stacked with the indices shifted to match. PML's
/// `TwoStreamMetricLoss`.
///
/// The dataset stacks each anchor and its positive on dimension 1: batches arrive as
/// `(batch, 2, ...)`. It declares no subset-batch miner, so `.subset_batch_miner(...)` does not
/// compile.
#[trainer]
pub struct TwoStreamMetricLoss {
    /// The backbone, shared by both streams.
    #[model]
    pub trunk: Model,
    /// Maps the trunk's output to the embedding; the identity when not set.
    #[model(optional = Model::identity())]
    pub embedder: Model,
    /// The loss on both streams' embeddings.
    #[loss]
    pub metric_loss: Box<dyn MetricLoss>,
    /// Chooses tuples from anchors to the second stream.
    #[miner(optional)]
    pub tuple_miner: Option<Box<dyn TupleMiner>>,
}

impl TwoStreamMetricLoss {
    /// The two streams of a batch: anchors and positives.
    fn streams(data: &Tensor) -> Result<(Tensor, Tensor)> {
        let shape = data.size();
        if shape.len() < 2 || shape[1] != 2 {
            return Err(Error::data(format!(
                "TwoStreamMetricLoss: expected batches of shape (batch, 2, ...), anchor and positive stacked on dimension 1; found {shape:?}"
            )));
        }
        Ok((data.select(1, 0), data.select(1, 1)))
    }
}

/// Points tuples from anchors to the second stream at the second half of `[anchors; others]`.
pub(crate) fn shift_references(tuples: Tuples, offset: i64) -> Tuples {
    match tuples {
        Tuples::Triplets { a, p, n } => Tuples::Triplets { a, p: p + offset, n: n + offset },
        Tuples::Pairs { a1, p, a2, n } => Tuples::Pairs { a1, p: p + offset, a2, n: n + offset },
    }
}

impl Step for TwoStreamMetricLoss {
    /// Embeds single samples (evaluation sees one stream at a time).
    fn embed(&self, data: &Tensor) -> Result<Tensor> {
        self.embedder.forward(&self.trunk.forward(data)?)
    }

    /// Checks the batch shape and the models on the sample's first stream.
    fn setup(&mut self, sample: &Tensor) -> Result<()> {
        let (anchors, _) = Self::streams(sample)?;
        self.embed(&anchors).map(|_| ())
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> Result<()> {
        let (anchors, others) = Self::streams(data)?;
        let (anchor_embeddings, other_embeddings) = (self.embed(&anchors)?, self.embed(&others)?);
        it.compute(TwoStreamMetricLossLoss::MetricLoss, || {
            let tuples = match &mut self.tuple_miner {
                Some(miner) => miner
                    .mine_with_reference(&anchor_embeddings, labels, Some(Reference { embeddings: &other_embeddings, labels }))
                    .map_err(|e| e.in_key("tuple_miner"))?,
                // Every (i, j, k) with j sharing i's label (j = i included) and k not.
                None => all_triplets(labels, Some(labels)),
            };
            let shifted = shift_references(tuples, anchor_embeddings.size()[0]);
            let embeddings = Tensor::f_cat(&[&anchor_embeddings, &other_embeddings], 0)?;
            let both_labels = Tensor::f_cat(&[labels, labels], 0)?;
            self.metric_loss.compute(&embeddings, &both_labels, Some(&shifted))
        })
    }
}
