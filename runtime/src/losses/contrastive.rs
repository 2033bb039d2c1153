use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{margin, Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, LossIndices, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Pulls positive pairs within `pos_margin` and pushes negative pairs beyond `neg_margin`
/// (PML's `ContrastiveLoss`; defaults `LpDistance()` and `AvgNonZeroReducer` per part).
#[derive(Debug)]
pub struct ContrastiveLoss {
    pos_margin: f64,
    neg_margin: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for ContrastiveLoss {
    fn default() -> Self {
        ContrastiveLoss::new()
    }
}

impl ContrastiveLoss {
    /// PML's defaults: `pos_margin` 0, `neg_margin` 1.
    pub fn new() -> ContrastiveLoss {
        ContrastiveLoss { pos_margin: 0.0, neg_margin: 1.0, distance: Box::new(LpDistance::new()), reducer: Box::new(AvgNonZeroReducer::avg_non_zero()) }
    }
    /// Positive pairs closer than this cost nothing.
    pub fn pos_margin(mut self, pos_margin: f64) -> Self {
        self.pos_margin = pos_margin;
        self
    }
    /// Negative pairs further than this cost nothing.
    pub fn neg_margin(mut self, neg_margin: f64) -> Self {
        self.neg_margin = neg_margin;
        self
    }
}

distance_and_reducer!(ContrastiveLoss);

impl Component for ContrastiveLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "pos_margin", value: self.pos_margin }, Record { name: "neg_margin", value: self.neg_margin }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for ContrastiveLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("ContrastiveLoss", embeddings, labels, reference)?;
        let Some((positive, negative)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("pos_loss"), SubLoss::zero("neg_loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let distance = self.distance.as_ref();
        // The pairs' distances in row-major order, as PML's `mat[a1, p]` gives them.
        let (pos, neg) = (matrix.masked_select(&positive), matrix.masked_select(&negative));
        let pos = (pos.numel() > 0).then(|| margin(distance, &pos, &Tensor::from(self.pos_margin)).relu());
        let neg = (neg.numel() > 0).then(|| margin(distance, &Tensor::from(self.neg_margin), &neg).relu());
        let parts = vec![
            SubLoss { name: "pos_loss", values: pos, reduction: Reduction::PosPair, indices: Some(LossIndices::PairMask(positive)), divisor: None },
            SubLoss { name: "neg_loss", values: neg, reduction: Reduction::NegPair, indices: Some(LossIndices::PairMask(negative)), divisor: None },
        ];
        reduce(self.reducer.as_mut(), parts, embeddings, &input.labels)
    }
}

/// The contrastive loss on the signal-to-noise-ratio distance (Yuan et al., 2019; PML's
/// `SignalToNoiseRatioContrastiveLoss`).
pub struct SignalToNoiseRatioContrastiveLoss;

impl SignalToNoiseRatioContrastiveLoss {
    /// `ContrastiveLoss` with `SnrDistance`; margins as `ContrastiveLoss`'s.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> ContrastiveLoss {
        ContrastiveLoss::new().distance(crate::distances::SnrDistance::new())
    }
}
