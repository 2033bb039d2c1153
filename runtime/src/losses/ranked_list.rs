use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Ranked list loss (Wang et al., 2019): per anchor, the weighted mean amount by which its
/// positives lie beyond `alpha - margin` and its negatives within `alpha`, the weights growing
/// exponentially with temperatures `tp` and `tn`, mixed by `imbalance` (PML's
/// `RankedListLoss`; Euclidean distance on normalised embeddings, `MeanReducer`). Takes neither
/// mined tuples nor reference embeddings, as PML.
#[derive(Debug)]
pub struct RankedListLoss {
    margin: f64,
    imbalance: f64,
    alpha: f64,
    tp: f64,
    tn: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl RankedListLoss {
    /// With this margin and negative temperature (PML requires both); imbalance 0.5, alpha
    /// `1 + margin / 2`, positive temperature 0 (PML's RLL-Simpler).
    pub fn new(margin: f64, tn: f64) -> RankedListLoss {
        RankedListLoss { margin, imbalance: 0.5, alpha: 1.0 + margin / 2.0, tp: 0.0, tn, distance: Box::new(LpDistance::new()), reducer: Box::new(MeanReducer) }
    }

    /// The weight of the negative part, in [0, 1] (the positive part has `1 - imbalance`).
    ///
    /// # Errors
    /// Outside [0, 1].
    pub fn imbalance(mut self, imbalance: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&imbalance) {
            return Err(Error::mismatch("RankedListLoss imbalance", "a value in [0, 1]", imbalance.to_string()));
        }
        self.imbalance = imbalance;
        Ok(self)
    }

    /// The distance negatives should keep from the anchor.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The temperature of the positives' weights.
    pub fn tp(mut self, tp: f64) -> Self {
        self.tp = tp;
        self
    }
}

distance_and_reducer!(RankedListLoss);

impl Component for RankedListLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "imbalance", value: self.imbalance },
            Record { name: "alpha", value: self.alpha },
            Record { name: "margin", value: self.margin },
            Record { name: "Tp", value: self.tp },
            Record { name: "Tn", value: self.tn },
        ];
        records.extend(self.common_records());
        records
    }
}

/// `sum(w * x) / sum(w + 1e-5)` per row, as PML divides.
fn weighted_row_mean(weights: &Tensor, values: &Tensor) -> Tensor {
    let columns = weights.size()[1] as f64;
    (weights * values).sum_dim_intlist(1i64, false, None::<Kind>) / (weights.sum_dim_intlist(1i64, false, None::<Kind>) + 1e-5 * columns)
}

impl MetricLoss for RankedListLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config("RankedListLoss takes no mined tuples (PML refuses them too): use it without a tuple miner"));
        }
        if reference.is_some() {
            return Err(Error::config("RankedListLoss takes no reference embeddings (PML refuses them too)"));
        }
        let input = LossInput::new("RankedListLoss", embeddings, labels, indices, None)?;
        let matrix = self.distance.matrix(embeddings, embeddings);
        let eye = Tensor::eye(input.rows(), (Kind::Bool, matrix.device()));
        let matrix = matrix.masked_fill(&eye, 0.0);
        let same = input.labels.unsqueeze(1).eq_tensor(&input.labels.unsqueeze(0));
        let zeros = matrix.zeros_like();
        let boundary = self.alpha - self.margin;
        // Negatives closer than alpha, and positives (not the anchor itself) beyond alpha - margin;
        // PML then weights only the entries whose distance is above 0.
        let negatives = matrix.where_self(&same.logical_not().logical_and(&matrix.lt(self.alpha)), &zeros);
        let positives = matrix.where_self(&same.logical_and(&eye.logical_not()).logical_and(&matrix.gt(boundary)), &zeros);
        let positive_weights = ((&positives - boundary) * self.tp).exp().where_self(&positives.gt(0.0), &zeros);
        let negative_weights = ((-&negatives + self.alpha) * self.tn).exp().where_self(&negatives.gt(0.0), &zeros);
        let loss_positive = weighted_row_mean(&positive_weights, &(&positives - boundary));
        let loss_negative = weighted_row_mean(&negative_weights, &(-&negatives + self.alpha));
        let losses = loss_positive * (1.0 - self.imbalance) + loss_negative * self.imbalance;
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}
