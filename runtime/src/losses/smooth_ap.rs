use super::{LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::{sample_weights, Tuples};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Smooth-AP (Brown et al., 2020): average precision per query with the ranks made smooth by a
/// sigmoid of temperature `temperature`; the loss is `1 - AP` per query, weighted by how often
/// the query appears in the tuples when there are some (PML's `SmoothAPLoss`; cosine similarity,
/// the only one PML allows it, and `MeanReducer` over the queries).
///
/// A query's positives are the samples of its label, itself included; its smooth rank among
/// the batch is `1 + sum sigmoid((s_j - s_i) / temperature)` over the others. As PML, the batch
/// must hold as many samples of every label (`MPerClassSampler` gives such batches): other
/// batches are an error. PML takes the positives from the batch's layout instead (consecutive
/// blocks of as many rows as there are labels), which are the labels' samples only when the
/// batch is sorted by label and has as many samples per label as labels; there ours and PML's
/// agree. Reference embeddings are an error, as in PML.
///
/// Each positive is compared with the whole batch: the work and memory grow as
/// `batch² x samples per label`.
#[derive(Debug)]
pub struct SmoothAPLoss {
    temperature: f64,
    reducer: Box<dyn Reducer>,
}

impl Default for SmoothAPLoss {
    fn default() -> Self {
        SmoothAPLoss::new()
    }
}

impl SmoothAPLoss {
    /// PML's default: temperature 0.01.
    pub fn new() -> SmoothAPLoss {
        SmoothAPLoss { temperature: 0.01, reducer: Box::new(MeanReducer) }
    }
    /// The sigmoid's temperature: the smaller, the closer the smooth ranks are to the ranks.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }
    /// How the per-query values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl Component for SmoothAPLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = CosineSimilarity::new().records();
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for SmoothAPLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if reference.is_some() {
            return Err(Error::data("SmoothAPLoss: reference embeddings are not supported (as in PML)"));
        }
        let input = LossInput::new("SmoothAPLoss", embeddings, labels, indices, None)?;
        let positives = positives_of_each(&input.labels)?;
        let per_label = positives.size()[1];
        let similarities = CosineSimilarity::new().matrix(embeddings, embeddings);
        let to_positives = similarities.gather(1, &positives, false);
        let smooth_step = |difference: Tensor| (difference / self.temperature).sigmoid();
        // (query, positive i, sample j): how far j is ahead of i in the query's ranking; the
        // positive itself is not ahead of itself.
        let batch = Tensor::arange(input.rows(), (Kind::Int64, embeddings.device()));
        let itself = positives.unsqueeze(2).eq_tensor(&batch.view([1, 1, -1]));
        let ahead = smooth_step(similarities.unsqueeze(1) - to_positives.unsqueeze(2)).masked_fill(&itself, 0.0);
        let rank = ahead.sum_dim_intlist(2i64, false, None::<Kind>) + 1.0;
        let itself = Tensor::eye(per_label, (Kind::Bool, embeddings.device()));
        let ahead = smooth_step(to_positives.unsqueeze(1) - to_positives.unsqueeze(2)).masked_fill(&itself, 0.0);
        let rank_among_positives = ahead.sum_dim_intlist(2i64, false, None::<Kind>) + 1.0;
        let precision = (rank_among_positives / rank).sum_dim_intlist(1i64, false, None::<Kind>) / per_label as f64;
        let weights = sample_weights(indices, input.rows(), false, precision.kind(), embeddings.device());
        let losses = (-precision + 1.0) * weights;
        reduce(self.reducer.as_mut(), vec![SubLoss::new("ap_loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}

/// Per sample, the indices of the samples of its label (itself among them), as a (batch,
/// samples per label) matrix; an error unless every label has as many samples.
fn positives_of_each(labels: &Tensor) -> Result<Tensor> {
    let (_, class_of, counts) = labels.internal_unique2(true, true, true);
    let counts = Vec::<i64>::try_from(&counts).map_err(|e| Error::data(format!("SmoothAPLoss: counting the labels: {e}")))?;
    let per_label = counts[0];
    if counts.iter().any(|&c| c != per_label) {
        return Err(Error::data(format!(
            "SmoothAPLoss: every label must have as many samples in the batch (as PML requires; MPerClassSampler gives such batches), found {counts:?} samples per label"
        )));
    }
    // Sorted by label, the samples of the k-th label are the k-th run of `per_label`.
    let by_label = labels.argsort_stable(true, 0, false).view([counts.len() as i64, per_label]);
    Ok(by_label.index_select(0, &class_of))
}
