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
        let mut same = input.labels.unsqueeze(1).eq_tensor(&input.labels.unsqueeze(0));
        let different = same.logical_not();
        let boundary = self.alpha - self.margin;
        // Positives beyond alpha - margin and negatives closer than alpha, of which PML weights
        // only the entries above 0, never its zeroed diagonal: the others add nothing to a
        // row's sums but the 1e-5 per column of the denominators, and get no gradient.
        let _ = same.f_fill_diagonal_(0i64, false)?;
        let above_zero = matrix.gt(0.0);
        let positives = same.logical_and(&matrix.gt(boundary)).logical_and(&above_zero);
        let negatives = different.logical_and(&matrix.lt(self.alpha)).logical_and(&above_zero);
        let beyond = &matrix - boundary;
        let within = -&matrix + self.alpha;
        // The exponent is zeroed outside the selection before exp, as PML takes exp of the
        // selected entries only: a far entry's exp would overflow, and its zero gradient times
        // infinity be NaN in the backward pass.
        let positive_weights = (&beyond * self.tp).where_scalarother(&positives, 0.0).exp().where_scalarother(&positives, 0.0);
        let negative_weights = (&within * self.tn).where_scalarother(&negatives, 0.0).exp().where_scalarother(&negatives, 0.0);
        let loss_positive = weighted_row_mean(&positive_weights, &beyond);
        let loss_negative = weighted_row_mean(&negative_weights, &within);
        let losses = loss_positive * (1.0 - self.imbalance) + loss_negative * self.imbalance;
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn entries_left_out_do_not_overflow_into_the_gradient() {
        // Tight classes (positives closer than alpha - margin: none selected) far from each
        // other, and a steep tp: exp(tp * (d - boundary)) overflows for the far entries the
        // selection leaves out, which must not reach the backward pass (0 * inf is NaN).
        tch::manual_seed(2);
        let centers = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
        let labels = Tensor::arange(16, (Kind::Int64, Device::Cpu)).remainder(4);
        let noise = Tensor::randn([16, 8], (Kind::Float, Device::Cpu)) * 0.001;
        let embeddings = (centers.index_select(0, &labels) + noise).set_requires_grad(true);
        let loss = RankedListLoss::new(0.4, 1.0).tp(100.0).compute(&embeddings, &labels, None).unwrap();
        loss.backward();
        let gradient = embeddings.grad();
        assert!(gradient.isfinite().all().int64_value(&[]) == 1, "non-finite gradient: {gradient:?}");
        assert!(gradient.abs().sum(Kind::Float).double_value(&[]) > 0.0, "no gradient at all");
    }
}
