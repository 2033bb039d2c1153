use super::gather_pairs;
use super::input::{masked_logsumexp, too_few_pairs};
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{margin, Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Lifted structure loss (Oh Song et al., 2016): per positive pair, the squared hinge of its
/// distance plus a soft maximum over the negatives of both its ends (PML's
/// `LiftedStructureLoss`; `LpDistance()`, `MeanReducer`).
#[derive(Debug)]
pub struct LiftedStructureLoss {
    neg_margin: f64,
    pos_margin: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

/// The generalised lifted structure loss (Hermans et al., 2017): per anchor,
/// `relu(logsumexp_p(d - pos_margin) + logsumexp_n(neg_margin - d))` (PML's
/// `GeneralizedLiftedStructureLoss`; `LpDistance()`, `MeanReducer`).
#[derive(Debug)]
pub struct GeneralizedLiftedStructureLoss {
    neg_margin: f64,
    pos_margin: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

macro_rules! margins {
    ($ty:ident) => {
        impl Default for $ty {
            fn default() -> Self {
                $ty::new()
            }
        }

        impl $ty {
            /// PML's defaults: `neg_margin` 1, `pos_margin` 0.
            pub fn new() -> $ty {
                $ty { neg_margin: 1.0, pos_margin: 0.0, distance: Box::new(LpDistance::new()), reducer: Box::new(MeanReducer) }
            }
            /// The distance negatives should exceed.
            pub fn neg_margin(mut self, neg_margin: f64) -> Self {
                self.neg_margin = neg_margin;
                self
            }
            /// The distance positives should stay within.
            pub fn pos_margin(mut self, pos_margin: f64) -> Self {
                self.pos_margin = pos_margin;
                self
            }
        }

        distance_and_reducer!($ty);

        impl Component for $ty {
            fn records(&self) -> Vec<Record> {
                let mut records = vec![Record { name: "pos_margin", value: self.pos_margin }, Record { name: "neg_margin", value: self.neg_margin }];
                records.extend(self.common_records());
                records
            }
        }
    };
}
margins!(LiftedStructureLoss);
margins!(GeneralizedLiftedStructureLoss);

impl MetricLoss for LiftedStructureLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("LiftedStructureLoss", embeddings, labels, indices, reference)?;
        let pairs = input.pairs(indices);
        if too_few_pairs(&pairs) || pairs.0.numel() == 0 || pairs.2.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let (a1, p, a2, n) = &pairs;
        let (rows, columns) = (input.rows(), input.columns());
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let pos = gather_pairs(&matrix, a1, p).unsqueeze(1);
        // A negative pair counts for a positive pair when its anchor is either end of it: the
        // two ends' rows of negatives side by side, (positive pairs x 2 references), where PML
        // compares every positive pair with every negative pair. The second end counts only
        // when it is a query row other than the first (as PML's index comparison does).
        let negative = crate::indices::pair_mask(a2, n, rows, columns);
        let second = p.clamp_max(rows - 1);
        let second_valid = p.lt(rows).logical_and(&p.ne_tensor(a1)).unsqueeze(1);
        let related = Tensor::cat(&[negative.index_select(0, a1), negative.index_select(0, &second).logical_and(&second_valid)], 1);
        let neg = Tensor::cat(&[matrix.index_select(0, a1), matrix.index_select(0, &second)], 1);
        let distance = self.distance.as_ref();
        let remaining_pos = margin(distance, &pos, &Tensor::from(self.pos_margin).to_kind(pos.kind()));
        let remaining_neg = margin(distance, &Tensor::from(self.neg_margin).to_kind(neg.kind()), &neg);
        let per_pair = (masked_logsumexp(&remaining_neg, &related, false) + remaining_pos).relu().square() / 2.0;
        let losses = per_pair.squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::PosPair).indices(LossIndices::Pairs(a1.shallow_clone(), p.shallow_clone()))], embeddings, &input.labels)
    }
}

impl MetricLoss for GeneralizedLiftedStructureLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("GeneralizedLiftedStructureLoss", embeddings, labels, indices, reference)?;
        let Some((pos_mask, neg_mask)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let distance = self.distance.as_ref();
        let remaining_pos = margin(distance, &matrix, &Tensor::from(self.pos_margin).to_kind(matrix.kind()));
        let remaining_neg = margin(distance, &Tensor::from(self.neg_margin).to_kind(matrix.kind()), &matrix);
        let pos_loss = masked_logsumexp(&remaining_pos, &pos_mask, false);
        let neg_loss = masked_logsumexp(&remaining_neg, &neg_mask, false);
        let losses = (pos_loss + neg_loss).relu().squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}
