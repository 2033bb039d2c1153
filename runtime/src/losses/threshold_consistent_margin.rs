use super::{gather_pairs, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Threshold-consistent margin loss (Zhang et al., 2023): the mean shortfall of the positive
/// pairs' cosine similarities below `margin_plus` (among those below it) plus the mean excess
/// of the negative pairs' above `margin_minus` (among those above it), each weighted (PML's
/// `ThresholdConsistentMarginLoss`; pairs from mined tuples, or all pairs). With reference
/// embeddings the pairs' second members are references (PML indexes the queries with
/// reference indices there).
#[derive(Debug)]
pub struct ThresholdConsistentMarginLoss {
    lambda_plus: f64,
    lambda_minus: f64,
    margin_plus: f64,
    margin_minus: f64,
    distance: CosineSimilarity,
    reducer: Box<dyn Reducer>,
}

impl Default for ThresholdConsistentMarginLoss {
    fn default() -> Self {
        ThresholdConsistentMarginLoss::new()
    }
}

impl ThresholdConsistentMarginLoss {
    /// Weights 1 and 1, margins 0.9 and 0.5, as PML.
    pub fn new() -> ThresholdConsistentMarginLoss {
        ThresholdConsistentMarginLoss { lambda_plus: 1.0, lambda_minus: 1.0, margin_plus: 0.9, margin_minus: 0.5, distance: CosineSimilarity::new(), reducer: Box::new(MeanReducer) }
    }

    /// The weights of the positive and the negative part.
    pub fn lambdas(mut self, plus: f64, minus: f64) -> Self {
        (self.lambda_plus, self.lambda_minus) = (plus, minus);
        self
    }

    /// The similarity positive pairs should reach and the one negative pairs should stay below.
    pub fn margins(mut self, plus: f64, minus: f64) -> Self {
        (self.margin_plus, self.margin_minus) = (plus, minus);
        self
    }
}

impl Component for ThresholdConsistentMarginLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = self.distance.records();
        records.extend(self.reducer.records());
        records
    }
}

/// The mean of `values` where `keep`, or 0 when nothing is kept.
fn mean_where(values: &Tensor, keep: &Tensor) -> Tensor {
    let kept = keep.to_kind(values.kind());
    (values * &kept).sum(values.kind()) / kept.sum(values.kind()).clamp_min(1.0)
}

impl MetricLoss for ThresholdConsistentMarginLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("ThresholdConsistentMarginLoss", embeddings, labels, indices, reference)?;
        let (a1, p, a2, n) = input.pairs(indices);
        // One (queries x references) matrix, then its entries at the pairs: PML gathers both
        // rows of every pair (a million pairs of 128-wide rows at a batch of 1024).
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let (positive, negative) = (gather_pairs(&matrix, &a1, &p), gather_pairs(&matrix, &a2, &n));
        let positive_part = mean_where(&(-&positive + self.margin_plus), &positive.le(self.margin_plus));
        let negative_part = mean_where(&(&negative - self.margin_minus), &negative.ge(self.margin_minus));
        let loss = positive_part * self.lambda_plus + negative_part * self.lambda_minus;
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced)], embeddings, &input.labels)
    }
}
