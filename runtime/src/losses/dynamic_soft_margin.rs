use super::{gather_pairs, LossInput, MetricLoss, Reference, TripletsPerAnchor};
use crate::distances::{Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Dynamic soft margin (Zhang and Rusinkiewicz, 2019, "Learning Local Descriptors with a
/// CDF-Based Dynamic Soft Margin"): per triplet `v = d(a,p) - d(a,n)`, weighted by the
/// cumulative distribution of `v` that a histogram kept across calls estimates; the loss is the
/// mean of `cdf(v) v` (PML's `DynamicSoftMarginLoss`; Euclidean distance on normalised
/// embeddings, the only distance PML allows it).
///
/// The histogram has `num_bins` nodes `min_val + k delta`, `delta = 2 |min_val| / num_bins`;
/// each call's values split between their two nearest nodes, and the histogram moves towards
/// the call's by `momentum` (the first call's is taken whole). As in PML, the gradient flows
/// through this call's share of the histogram too. The triplets are all of them, or those the
/// tuples make; with none the loss is zero and the histogram stays as it is. The loss is
/// already one number: the reducer passes it through, as PML's does.
///
/// The histogram is state: checkpoints hold it (and [`histogram`](Self::histogram) and
/// [`set_histogram`](Self::set_histogram) read and restore it),
/// and it is kept detached between calls, where PML keeps the previous call's graph in it and
/// so fails in the second call's backward pass. A value beyond the histogram's nodes counts at
/// the outermost node; PML indexes past its histogram there and fails. PML's form without labels
/// (queries against references row by row) is not offered: labels are required.
#[derive(Debug)]
pub struct DynamicSoftMarginLoss {
    min_val: f64,
    num_bins: i64,
    momentum: f64,
    histogram: Option<Tensor>,
    distance: LpDistance,
    reducer: Box<dyn Reducer>,
}

impl Default for DynamicSoftMarginLoss {
    fn default() -> Self {
        DynamicSoftMarginLoss::new()
    }
}

impl DynamicSoftMarginLoss {
    /// PML's defaults: `min_val` -2, 10 bins, momentum 0.01.
    pub fn new() -> DynamicSoftMarginLoss {
        DynamicSoftMarginLoss { min_val: -2.0, num_bins: 10, momentum: 0.01, histogram: None, distance: LpDistance::new(), reducer: Box::new(MeanReducer) }
    }
    /// The histogram's lowest node; the others follow `delta = 2 |min_val| / num_bins` apart.
    /// Zero is an error when computing.
    pub fn min_val(mut self, min_val: f64) -> Self {
        self.min_val = min_val;
        self
    }
    /// How many nodes the histogram has; fewer than 2 is an error when computing.
    pub fn num_bins(mut self, num_bins: i64) -> Self {
        self.num_bins = num_bins;
        self
    }
    /// The weight of each call's histogram in the running one.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// How the loss becomes one number (it already is one: every reducer passes it through).
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// The running histogram (`num_bins` values summing to one), `None` before the first call
    /// with a triplet.
    pub fn histogram(&self) -> Option<&Tensor> {
        self.histogram.as_ref()
    }

    /// Restores a running histogram (from [`histogram`](Self::histogram)), or forgets it with
    /// `None` so that the next call starts afresh.
    ///
    /// # Errors
    /// When it does not have `num_bins` values.
    pub fn set_histogram(&mut self, histogram: Option<&Tensor>) -> Result<()> {
        if let Some(h) = histogram {
            if h.size() != [self.num_bins] {
                return Err(Error::data(format!("DynamicSoftMarginLoss: a histogram of shape [{}] expected, found {:?}", self.num_bins, h.size())));
            }
        }
        self.histogram = histogram.map(|h| h.detach().copy());
        Ok(())
    }
}

impl Component for DynamicSoftMarginLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "num_bins", value: self.num_bins as f64 }];
        records.extend(self.distance.records());
        records.extend(self.reducer.records());
        records
    }
    /// The running histogram; an empty one before the first call with a triplet.
    fn state(&self) -> Vec<(String, Tensor)> {
        let histogram = self.histogram.as_ref().map_or_else(|| Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)), Tensor::shallow_clone);
        vec![("histogram".to_string(), histogram)]
    }
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> std::result::Result<(), String> {
        let Some((name, histogram)) = state.into_iter().next() else { return Ok(()) };
        if name != "histogram" {
            return Err(format!("DynamicSoftMarginLoss keeps a `histogram`, not `{name}`"));
        }
        let histogram = (histogram.numel() > 0).then_some(histogram);
        self.set_histogram(histogram.as_ref()).map_err(|e| e.to_string())
    }
}

impl MetricLoss for DynamicSoftMarginLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if self.num_bins < 2 || !(self.min_val != 0.0 && self.min_val.is_finite()) {
            return Err(Error::data(format!(
                "DynamicSoftMarginLoss: at least 2 bins and a finite, nonzero min_val expected, found {} bins and min_val {}",
                self.num_bins, self.min_val
            )));
        }
        let input = LossInput::new("DynamicSoftMarginLoss", embeddings, labels, indices, reference)?;
        let (a, p, n) = input.triplets(indices, TripletsPerAnchor::All);
        if a.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let values = gather_pairs(&matrix, &a, &p) - gather_pairs(&matrix, &a, &n);
        let delta = 2.0 * self.min_val.abs() / self.num_bins as f64;
        let position = ((&values - self.min_val) / delta).clamp(0.0, (self.num_bins - 1) as f64);
        let node = position.floor();
        let histogram = self.updated_histogram(&position, &node);
        let weights = histogram.cumsum(0, None::<Kind>).index_select(0, &node.to_kind(Kind::Int64));
        let loss = (weights * &values).mean(values.kind());
        self.histogram = Some(histogram.detach());
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced)], embeddings, &input.labels)
    }
}

impl DynamicSoftMarginLoss {
    /// The running histogram moved towards this call's values (at `position`, in units of
    /// nodes, the node below being `node`), normalised to sum to one.
    fn updated_histogram(&self, position: &Tensor, node: &Tensor) -> Tensor {
        let (kind, device) = (position.kind(), position.device());
        let previous = match &self.histogram {
            Some(h) => h.to_device(device).to_kind(kind),
            None => Tensor::zeros([self.num_bins], (kind, device)),
        };
        let started = previous.sum(Kind::Double).double_value(&[]) != 0.0;
        let momentum = if started { self.momentum } else { 1.0 };
        // A value on the top node belongs to the bin below it, with all its weight on the top.
        let lower = node.clamp_max((self.num_bins - 2) as f64);
        let to_upper = position - &lower;
        let lower = lower.to_kind(Kind::Int64);
        let histogram = (previous * (1.0 - momentum))
            .scatter_add(0, &lower, &((-&to_upper + 1.0) * momentum))
            .scatter_add(0, &(&lower + 1), &(to_upper * momentum));
        &histogram / histogram.sum(kind)
    }
}
