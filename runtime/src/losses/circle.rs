use super::input::masked_logsumexp;
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Circle loss (Sun et al., 2020): positives and negatives re-weighted by how far each is from
/// its optimum, `softplus(logsumexp_p + logsumexp_n)` per anchor (PML's `CircleLoss`; cosine
/// similarity, `AvgNonZeroReducer`).
#[derive(Debug)]
pub struct CircleLoss {
    m: f64,
    gamma: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for CircleLoss {
    fn default() -> Self {
        CircleLoss::new()
    }
}

impl CircleLoss {
    /// PML's defaults: m 0.4, gamma 80.
    pub fn new() -> CircleLoss {
        CircleLoss { m: 0.4, gamma: 80.0, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(AvgNonZeroReducer::avg_non_zero()) }
    }
    /// The relaxation margin.
    pub fn m(mut self, m: f64) -> Self {
        self.m = m;
        self
    }
    /// The scale.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }
}

distance_and_reducer!(CircleLoss);

impl Component for CircleLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "m", value: self.m },
            Record { name: "gamma", value: self.gamma },
            Record { name: "op", value: 1.0 + self.m },
            Record { name: "on", value: -self.m },
            Record { name: "delta_p", value: 1.0 - self.m },
            Record { name: "delta_n", value: self.m },
        ];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for CircleLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("CircleLoss", embeddings, labels, indices, reference)?;
        let Some((pos, neg)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let (op, on, delta_p, delta_n) = (1.0 + self.m, -self.m, 1.0 - self.m, self.m);
        let detached = matrix.detach();
        let pos_logits = (-(detached.neg() + op).relu() * self.gamma) * (&matrix - delta_p);
        let neg_logits = ((&detached - on).relu() * self.gamma) * (&matrix - delta_n);
        let logits = pos_logits.where_self(&pos, &neg_logits.where_self(&neg, &matrix.zeros_like()));
        let losses = (masked_logsumexp(&logits, &pos, false) + masked_logsumexp(&logits, &neg, false)).softplus().squeeze_dim(1);
        // Anchors without a positive or without a negative contribute nothing.
        let complete = pos.any_dim(1, false).logical_and(&neg.any_dim(1, false)).to_kind(losses.kind());
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses * complete, Reduction::Element)], embeddings, &input.labels)
    }
}
