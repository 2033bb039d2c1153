use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::{pair_mask, pair_masks, Tuples};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Histogram loss (Ustinova and Lempitsky, 2016): soft histograms on `[-1, 1]` of the
/// similarities of positive and of negative pairs, and the probability that a negative pair is
/// more similar than a positive one, `sum_r p_neg(r) * cdf_pos(r)` (PML's `HistogramLoss`;
/// `CosineSimilarity()`, 100 bins of width `delta = 2 / n_bins`).
///
/// The pairs are those of the triplets (all of them, or those the tuples make), each unordered
/// pair once. The loss is already one number: the reducer passes it through, as PML's does.
/// Reference embeddings are an error, as in PML.
///
/// A similarity of exactly 1 (two identical embeddings of one class), or one that rounds just
/// beyond ±1, counts in the outermost bin; PML indexes past its histogram there and fails.
/// A value further outside `[-1, 1]` (a distance that is not a similarity of unit vectors) is
/// an error.
#[derive(Debug)]
pub struct HistogramLoss {
    delta: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for HistogramLoss {
    fn default() -> Self {
        HistogramLoss::new()
    }
}

/// How far outside `[-1, 1]` a similarity may round and still count as ±1.
const ROUNDING: f64 = 1e-4;

impl HistogramLoss {
    /// PML's default: 100 bins, `delta` 0.02.
    pub fn new() -> HistogramLoss {
        HistogramLoss { delta: 0.02, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(MeanReducer) }
    }
    /// This many bins on `[-1, 1]` (`delta = 2 / n_bins`); zero bins is an error when computing.
    pub fn n_bins(mut self, n_bins: i64) -> Self {
        self.delta = 2.0 / n_bins as f64;
        self
    }
    /// The bins' width. As in PML the nodes are `-1 + r delta` for `r < round(1 + 2 / delta)`, so
    /// a width that does not divide 2 ends them short of 1 or beyond it; a value past the top
    /// node counts in the last bin. It must be positive and at most 2, or computing is an error.
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
}

distance_and_reducer!(HistogramLoss);

impl Component for HistogramLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "delta", value: self.delta }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for HistogramLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if reference.is_some() {
            return Err(Error::data("HistogramLoss: reference embeddings are not supported (as in PML)"));
        }
        if !(self.delta > 0.0 && self.delta <= 2.0) {
            return Err(Error::data(format!("HistogramLoss: delta must be in (0, 2] (at least one bin on [-1, 1]), found {}", self.delta)));
        }
        let input = LossInput::new("HistogramLoss", embeddings, labels, indices, None)?;
        let (positive, negative) = triplet_pairs(&input.labels, indices);
        if !bool::try_from(positive.any()).unwrap_or(false) {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let matrix = self.distance.matrix(embeddings, embeddings);
        // Upper-triangle order is PML's (its pairs come sorted out of `unique`), so the
        // histograms add up in the same order.
        let (pos, neg) = (matrix.masked_select(&positive), matrix.masked_select(&negative));
        let outside = tch::no_grad(|| Tensor::cat(&[&pos, &neg], 0).abs().max().double_value(&[]));
        if outside > 1.0 + ROUNDING {
            return Err(Error::data(format!(
                "HistogramLoss: the histograms cover [-1, 1] but a pair's similarity is {outside} in magnitude; use a similarity of normalised embeddings"
            )));
        }
        let cdf_pos = self.density(&pos).cumsum(0, None::<Kind>);
        let loss = (self.density(&neg) * cdf_pos).sum(neg.kind());
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced)], embeddings, &input.labels)
    }
}

impl HistogramLoss {
    /// The soft histogram of `values` over the nodes `-1 + r delta`: each value splits between
    /// the two nodes around it in proportion to its nearness, and the histogram sums to one.
    /// The same operations in the same order as PML's `compute_density`, so the same values.
    fn density(&self, values: &Tensor) -> Tensor {
        let delta = self.delta;
        // Python's `round`, as PML sizes it: halves to even.
        let nodes = (1.0 + 2.0 / delta).round_ties_even() as i64;
        let values = values.clamp(-1.0, 1.0);
        // The top node ends the last bin: a value on it (or past it) belongs to that bin, where
        // PML would index past the histogram.
        let lower = ((values.to_kind(Kind::Float) + 1.0) / delta).floor().to_kind(Kind::Int64).clamp(0, nodes - 2);
        let to_upper = ((&values + 1.0 - lower.to_kind(Kind::Float) * delta) / delta).to_kind(values.kind());
        let to_lower = (((&lower + 1).to_kind(Kind::Float) * delta - 1.0 - &values) / delta).to_kind(values.kind());
        // At least two nodes: delta is at most 2.
        let density = Tensor::zeros([nodes], (values.kind(), values.device()));
        density.scatter_add(0, &(&lower + 1), &to_upper).scatter_add(0, &lower, &to_lower) / values.size()[0] as f64
    }
}

/// The (rows, rows) upper-triangle masks of the unordered positive and negative pairs that
/// the triplets contain: `(a, p)` of an anchor that has a negative, `(a, n)` of one that has a
/// positive. From the tuples' pairs, or without tuples from the labels (PML enumerates every
/// triplet, then drops the repeats).
fn triplet_pairs(labels: &Tensor, indices: Option<&Tuples>) -> (Tensor, Tensor) {
    let rows = labels.size()[0];
    let (positive, negative) = match indices {
        None => pair_masks(labels, None),
        Some(Tuples::Triplets { a, p, n }) => (pair_mask(a, p, rows, rows), pair_mask(a, n, rows, rows)),
        Some(Tuples::Pairs { a1, p, a2, n }) => (pair_mask(a1, p, rows, rows), pair_mask(a2, n, rows, rows)),
    };
    let has_positive = positive.any_dim(1, true);
    let has_negative = negative.any_dim(1, true);
    let unordered = |mask: Tensor| mask.logical_or(&mask.transpose(0, 1)).triu(1);
    (unordered(positive.logical_and(&has_negative)), unordered(negative.logical_and(&has_positive)))
}
