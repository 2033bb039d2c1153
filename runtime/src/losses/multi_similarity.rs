use super::input::masked_logsumexp;
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{margin, CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Per anchor, `(1/alpha) log(1 + sum_p exp(-alpha (s_ap - base)))` plus
/// `(1/beta) log(1 + sum_n exp(beta (s_an - base)))` (PML's `MultiSimilarityLoss`; Wang et al.,
/// 2019; defaults `CosineSimilarity()` and `MeanReducer` over all anchors).
#[derive(Debug)]
pub struct MultiSimilarityLoss {
    alpha: f64,
    beta: f64,
    base: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for MultiSimilarityLoss {
    fn default() -> Self {
        MultiSimilarityLoss::new()
    }
}

impl MultiSimilarityLoss {
    /// PML's defaults: alpha 2, beta 50, base 0.5.
    pub fn new() -> MultiSimilarityLoss {
        MultiSimilarityLoss { alpha: 2.0, beta: 50.0, base: 0.5, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(MeanReducer) }
    }
    /// The weight of positive pairs.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// The weight of negative pairs.
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }
    /// The similarity both parts are measured from.
    pub fn base(mut self, base: f64) -> Self {
        self.base = base;
        self
    }
}

distance_and_reducer!(MultiSimilarityLoss);

impl Component for MultiSimilarityLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "alpha", value: self.alpha },
            Record { name: "beta", value: self.beta },
            Record { name: "base", value: self.base },
        ];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for MultiSimilarityLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("MultiSimilarityLoss", embeddings, labels, indices, reference)?;
        let Some((pos_mask, neg_mask)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let base = Tensor::from(self.base).to_kind(matrix.kind());
        let pos_exp = margin(self.distance.as_ref(), &matrix, &base);
        let neg_exp = margin(self.distance.as_ref(), &base, &matrix);
        let pos_loss = masked_logsumexp(&(pos_exp * self.alpha), &pos_mask, true) / self.alpha;
        let neg_loss = masked_logsumexp(&(neg_exp * self.beta), &neg_mask, true) / self.beta;
        let losses = (pos_loss + neg_loss).squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}
