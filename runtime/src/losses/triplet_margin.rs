use super::{check_embeddings, zero_loss, MetricLoss};
use crate::distances::normalized_l2;
use crate::indices::{all_triplets, random_triplets, Tuples};
use crate::trainer::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Which triplets the loss uses when no miner gives any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripletsPerAnchor {
    /// Every valid triplet of the batch.
    All,
    /// This many random triplets per anchor.
    Count(i64),
}

/// `relu(d(a,p) - d(a,n) + margin)` over triplets, on L2-normalised embeddings, averaged over
/// the triplets with a non-zero loss (PML's `TripletMarginLoss` with its defaults:
/// `LpDistance()`, `AvgNonZeroReducer`).
#[derive(Debug)]
pub struct TripletMarginLoss {
    margin: f64,
    swap: bool,
    smooth_loss: bool,
    triplets_per_anchor: TripletsPerAnchor,
    /// Triplets with a non-zero loss in the last call; kept as a tensor so that recording it
    /// costs no device sync unless a hook reads it.
    num_past_filter: Option<Tensor>,
}

impl Default for TripletMarginLoss {
    fn default() -> Self {
        TripletMarginLoss::new()
    }
}

impl TripletMarginLoss {
    /// PML's defaults: margin 0.05, no swap, hinge (not smooth), all triplets.
    pub fn new() -> TripletMarginLoss {
        TripletMarginLoss { margin: 0.05, swap: false, smooth_loss: false, triplets_per_anchor: TripletsPerAnchor::All, num_past_filter: None }
    }
    /// The desired gap between the negative and the positive distance.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
    /// Use `min(d(a,n), d(p,n))` as the negative distance.
    pub fn swap(mut self, swap: bool) -> Self {
        self.swap = swap;
        self
    }
    /// `softplus` instead of `relu`.
    pub fn smooth_loss(mut self, smooth_loss: bool) -> Self {
        self.smooth_loss = smooth_loss;
        self
    }
    /// Which triplets to use when no miner gives any.
    pub fn triplets_per_anchor(mut self, triplets_per_anchor: TripletsPerAnchor) -> Self {
        self.triplets_per_anchor = triplets_per_anchor;
        self
    }
}

impl Component for TripletMarginLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "margin", value: self.margin }];
        if let Some(count) = &self.num_past_filter {
            records.push(Record { name: "num_past_filter", value: count.double_value(&[]) });
        }
        records
    }
}

impl MetricLoss for TripletMarginLoss {
    fn compute(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>) -> Result<Tensor> {
        check_embeddings("TripletMarginLoss", embeddings, labels)?;
        let labels = labels.to_device(embeddings.device());
        let tuples;
        let (a, p, n) = match indices {
            Some(given) => given.to_triplets(embeddings.size()[0]),
            None => {
                tuples = match self.triplets_per_anchor {
                    TripletsPerAnchor::All => all_triplets(&labels),
                    TripletsPerAnchor::Count(k) => random_triplets(&labels, k),
                };
                tuples.to_triplets(embeddings.size()[0])
            }
        };
        if a.numel() == 0 {
            self.num_past_filter = Some(Tensor::from(0i64));
            return Ok(zero_loss(embeddings));
        }
        let distances = normalized_l2(embeddings);
        // Index the flattened matrix: gathering whole rows first would copy a row per triplet.
        let (width, flat) = (distances.size()[1], distances.reshape([-1]));
        let pick = |row: &Tensor, column: &Tensor| flat.index_select(0, &(row * width + column));
        let ap = pick(&a, &p);
        let mut an = pick(&a, &n);
        if self.swap {
            an = an.minimum(&pick(&p, &n));
        }
        let violation = ap - an + self.margin;
        let losses = if self.smooth_loss { violation.softplus() } else { violation.relu() };
        // AvgNonZeroReducer: the mean over positive losses, or a zero with a gradient when none.
        let past_filter = losses.gt(0.0);
        let count = past_filter.sum(Kind::Int64);
        let total = (&losses * past_filter.to_kind(losses.kind())).sum(losses.kind());
        let loss = total / count.clamp_min(1).to_kind(losses.kind());
        self.num_past_filter = Some(count);
        Ok(loss)
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
