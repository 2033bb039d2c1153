use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Intra-pair variance loss (Yu et al., 2019): penalises positive pairs less similar than
/// `(1 - pos_eps)` times the positives' mean, and negative pairs more similar than
/// `(1 + neg_eps)` times the negatives' mean, squared (PML's `IntraPairVarianceLoss`;
/// `CosineSimilarity()`, `MeanReducer` per part). With a distance the directions flip. Pairs as
/// PML's `GenericPairLoss` makes them.
#[derive(Debug)]
pub struct IntraPairVarianceLoss {
    pos_eps: f64,
    neg_eps: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for IntraPairVarianceLoss {
    fn default() -> Self {
        IntraPairVarianceLoss::new()
    }
}

impl IntraPairVarianceLoss {
    /// PML's defaults: `pos_eps` 0.01, `neg_eps` 0.01.
    pub fn new() -> IntraPairVarianceLoss {
        IntraPairVarianceLoss { pos_eps: 0.01, neg_eps: 0.01, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(MeanReducer) }
    }
    /// The relative slack below the positives' mean similarity.
    pub fn pos_eps(mut self, pos_eps: f64) -> Self {
        self.pos_eps = pos_eps;
        self
    }
    /// The relative slack above the negatives' mean similarity.
    pub fn neg_eps(mut self, neg_eps: f64) -> Self {
        self.neg_eps = neg_eps;
        self
    }
}

distance_and_reducer!(IntraPairVarianceLoss);

impl Component for IntraPairVarianceLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "pos_eps", value: self.pos_eps }, Record { name: "neg_eps", value: self.neg_eps }];
        records.extend(self.common_records());
        records
    }
}

/// How far each pair is on the wrong side of `(1 ∓ eps)` times the mean of its kind: below it
/// when `increase` (the pairs should grow, as positive similarities), above it otherwise.
fn beyond_mean(pairs: &Tensor, eps: f64, increase: bool) -> Tensor {
    let mean = pairs.mean(None::<tch::Kind>);
    let excess = if increase { mean * (1.0 - eps) - pairs } else { pairs - mean * (1.0 + eps) };
    excess.relu().square()
}

impl MetricLoss for IntraPairVarianceLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("IntraPairVarianceLoss", embeddings, labels, indices, reference)?;
        let Some((positive, negative)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("pos_loss"), SubLoss::zero("neg_loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let inverted = self.distance.is_inverted();
        let (pos, neg) = (matrix.masked_select(&positive), matrix.masked_select(&negative));
        let pos = (pos.numel() > 0).then(|| beyond_mean(&pos, self.pos_eps, inverted));
        let neg = (neg.numel() > 0).then(|| beyond_mean(&neg, self.neg_eps, !inverted));
        let parts = vec![
            SubLoss { name: "pos_loss", values: pos, reduction: Reduction::PosPair, indices: Some(LossIndices::PairMask(positive)), divisor: None },
            SubLoss { name: "neg_loss", values: neg, reduction: Reduction::NegPair, indices: Some(LossIndices::PairMask(negative)), divisor: None },
        ];
        reduce(self.reducer.as_mut(), parts, embeddings, &input.labels)
    }
}
