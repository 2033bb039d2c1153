use super::{LossInput, MetricLoss, Reference};
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, sample_weights, Tuples};
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// FastAP (Cakir et al., 2019): average precision per query, made differentiable by soft
/// histograms of its positive and negative distances; the loss is `1 - AP` (PML's `FastAPLoss`;
/// squared Euclidean distance on normalised embeddings, `MeanReducer`).
#[derive(Debug)]
pub struct FastAPLoss {
    num_bins: i64,
    distance: LpDistance,
    power: f64,
    reducer: Box<dyn Reducer>,
}

impl Default for FastAPLoss {
    fn default() -> Self {
        FastAPLoss::new(10)
    }
}

impl FastAPLoss {
    /// With this many histogram bins (PML's default is 10).
    pub fn new(num_bins: i64) -> FastAPLoss {
        FastAPLoss { num_bins: num_bins.max(1), distance: LpDistance::new().power(2.0), power: 2.0, reducer: Box::new(MeanReducer) }
    }

    /// The power of the normalised Euclidean distance (PML allows any, with p = 2).
    pub fn power(mut self, power: f64) -> Self {
        self.distance = LpDistance::new().power(power);
        self.power = power;
        self
    }

    /// How the per-query values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl Component for FastAPLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "num_bins", value: self.num_bins as f64 }];
        records.extend(self.distance.records());
        records
    }
}

impl MetricLoss for FastAPLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if reference.is_some() {
            return Err(Error::data("FastAPLoss: reference embeddings are not supported"));
        }
        let input = LossInput::new("FastAPLoss", embeddings, labels, indices, None)?;
        let kind = embeddings.kind();
        let miner_weights = sample_weights(indices, input.rows(), false, kind, embeddings.device());
        let (positive, _) = pair_masks(&input.labels, None);
        let positive = positive.to_kind(kind);
        let positives_per_query = positive.sum_dim_intlist(1i64, false, None::<Kind>);
        let has_positives = positives_per_query.gt(0.0);
        let nothing = || vec![SubLoss::zero("loss")];
        if !bool::try_from(has_positives.any()).unwrap_or(false) {
            return reduce(self.reducer.as_mut(), nothing(), embeddings, &input.labels);
        }
        let distances = self.distance.matrix(embeddings, embeddings);
        let histogram_max = 2f64.powf(self.power);
        let delta = histogram_max / self.num_bins as f64;
        let mid_points = Tensor::linspace(0.0, histogram_max, self.num_bins + 1, (kind, embeddings.device())).view([-1, 1, 1]);
        // A triangular pulse per bin: each distance spreads over its two nearest bin centres.
        let pulse = ((distances.unsqueeze(0) - mid_points).abs() * (-1.0 / delta) + 1.0).relu();
        let pos_hist = (&pulse * &positive).sum_dim_intlist(2i64, false, None::<Kind>).transpose(0, 1);
        // Every pair but a sample with itself is a positive or a negative: the histogram of
        // all of them is every entry's minus the diagonal's, one product fewer than PML's.
        let all_hist = pulse.sum_dim_intlist(2i64, false, None::<Kind>) - pulse.diagonal(0, 1, 2);
        let total_pos = pos_hist.cumsum(1, None::<Kind>);
        let total = all_hist.transpose(0, 1).cumsum(1, None::<Kind>);
        let product = &pos_hist * &total_pos;
        let safe = product.gt(0.0).logical_and(&total.gt(0.0));
        if !bool::try_from(safe.any()).unwrap_or(false) {
            return reduce(self.reducer.as_mut(), nothing(), embeddings, &input.labels);
        }
        let fast_ap = (product / total.where_self(&safe, &total.ones_like())).where_self(&safe, &pos_hist.zeros_like());
        let fast_ap = fast_ap.sum_dim_intlist(1i64, false, None::<Kind>);
        let per_query = (-(fast_ap.masked_select(&has_positives) / positives_per_query.masked_select(&has_positives)) + 1.0)
            * miner_weights.masked_select(&has_positives);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", per_query, Reduction::Element).indices(LossIndices::ElementMask(has_positives))], embeddings, &input.labels)
    }
}
