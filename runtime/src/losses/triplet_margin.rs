use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{margin, smallest, Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, LossIndices, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Which triplets the loss uses when no miner gives any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripletsPerAnchor {
    /// Every valid triplet of the batch.
    All,
    /// This many random triplets per anchor.
    Count(i64),
}

/// `relu(d(a,p) - d(a,n) + margin)` per triplet (PML's `TripletMarginLoss`; defaults
/// `LpDistance()` and `AvgNonZeroReducer`).
#[derive(Debug)]
pub struct TripletMarginLoss {
    margin: f64,
    swap: bool,
    smooth_loss: bool,
    triplets_per_anchor: TripletsPerAnchor,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for TripletMarginLoss {
    fn default() -> Self {
        TripletMarginLoss::new()
    }
}

impl TripletMarginLoss {
    /// PML's defaults: margin 0.05, no swap, hinge (not smooth), all triplets.
    pub fn new() -> TripletMarginLoss {
        TripletMarginLoss {
            margin: 0.05,
            swap: false,
            smooth_loss: false,
            triplets_per_anchor: TripletsPerAnchor::All,
            distance: Box::new(LpDistance::new()),
            reducer: Box::new(AvgNonZeroReducer::avg_non_zero()),
        }
    }
    /// The desired gap between the negative and the positive distance.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
    /// Use the closer of `d(a,n)` and `d(p,n)` as the negative distance.
    pub fn swap(mut self, swap: bool) -> Self {
        self.swap = swap;
        self
    }
    /// `softplus` instead of `relu`.
    pub fn smooth_loss(mut self, smooth_loss: bool) -> Self {
        self.smooth_loss = smooth_loss;
        self
    }
    /// The generator's loss in DeepAdversarialMetricLearning: this loss with its margin negated
    /// and its distance replaced by [`NegativeLpDistance`](crate::distances::NegativeLpDistance),
    /// so that per triplet it is `relu(d(a,s) - d(a,p) - margin)` (PML does this to the user's
    /// object in place; here it is a new one).
    pub fn adversarial(mut self) -> Self {
        self.margin = -self.margin;
        self.distance = Box::new(crate::distances::NegativeLpDistance::new());
        self
    }

    /// Which triplets to use when no miner gives any.
    pub fn triplets_per_anchor(mut self, triplets_per_anchor: TripletsPerAnchor) -> Self {
        self.triplets_per_anchor = triplets_per_anchor;
        self
    }
}

distance_and_reducer!(TripletMarginLoss);

impl Component for TripletMarginLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "margin", value: self.margin }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for TripletMarginLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let mut input = LossInput::deferred("TripletMarginLoss", embeddings, labels, indices, reference)?;
        let t = input.triplet_distances(self.distance.as_ref(), indices, self.triplets_per_anchor)?;
        if t.a.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let (ap, mut an) = (t.ap, t.an);
        if self.swap {
            // d(p, n) between two references.
            let pn = self.distance.entries(input.ref_embeddings, input.ref_embeddings, &t.p, &t.n);
            an = smallest(self.distance.as_ref(), &an, &pn);
        }
        let violation = margin(self.distance.as_ref(), &ap, &an) + self.margin;
        let losses = if self.smooth_loss { violation.softplus() } else { violation.relu() };
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Triplet).indices(LossIndices::Triplets(t.a, t.p, t.n))], embeddings, &input.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indices::Tuples;

    fn points() -> (Tensor, Tensor) {
        (Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0]).reshape([3, 2]), Tensor::from_slice(&[0i64, 0, 1]))
    }

    #[test]
    fn hand_computed_loss_averages_the_non_zero_triplets() {
        // d01 = d12 = sqrt 2, d02 = 2. Triplet (0,1,2): sqrt2 - 2 + 0.1 < 0; (1,0,2): 0.1.
        let (e, y) = points();
        let loss = TripletMarginLoss::new().margin(0.1).compute(&e, &y, None).unwrap().double_value(&[]);
        assert!((loss - 0.1).abs() < 1e-6, "{loss}");
        // Swap: (0,1,2) takes min(d02, d12) = sqrt2 -> 0.1; (1,0,2) min(d12, d02) = sqrt2 -> 0.1.
        let swapped = TripletMarginLoss::new().margin(0.1).swap(true).compute(&e, &y, None).unwrap().double_value(&[]);
        assert!((swapped - 0.1).abs() < 1e-6, "{swapped}");
    }

    #[test]
    fn pairs_become_triplets_sharing_the_anchor() {
        let (e, y) = points();
        let only_second = Tuples::Pairs {
            a1: Tensor::from_slice(&[1i64]),
            p: Tensor::from_slice(&[0i64]),
            a2: Tensor::from_slice(&[1i64, 0]),
            n: Tensor::from_slice(&[2i64, 2]),
        };
        let loss = TripletMarginLoss::new().margin(0.3).compute(&e, &y, Some(&only_second)).unwrap().double_value(&[]);
        assert!((loss - 0.3).abs() < 1e-6, "only (1,0,2): sqrt2 - sqrt2 + 0.3, got {loss}");
    }

    #[test]
    fn no_triplet_gives_a_zero_that_carries_a_gradient() {
        let e = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).reshape([2, 2]).set_requires_grad(true);
        let loss = TripletMarginLoss::new().compute(&e, &Tensor::from_slice(&[0i64, 1]), None).unwrap();
        assert_eq!(loss.double_value(&[]), 0.0);
        loss.backward();
        assert!(e.grad().defined());
    }
}
