use super::gather_pairs;
use super::input::{masked_logsumexp, too_few_pairs};
use super::{LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::{pair_mask, Tuples};
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Tuplet margin loss (Yu and Tao, 2019): per positive pair, `log(1 + sum_n exp(s (cos θ_an -
/// cos(θ_ap - m))))` over its anchor's negative pairs, the positive's angle reduced by the
/// margin `m` (PML's `TupletMarginLoss`; cosine similarity, the only one PML allows it, and
/// `MeanReducer` over positive pairs). Pairs as PML's `GenericPairLoss` makes them.
#[derive(Debug)]
pub struct TupletMarginLoss {
    margin: f64,
    scale: f64,
    reducer: Box<dyn Reducer>,
    /// The mean positive and negative angles in degrees, read in `records()`.
    angles: Option<(Tensor, Tensor)>,
}

impl Default for TupletMarginLoss {
    fn default() -> Self {
        TupletMarginLoss::new()
    }
}

impl TupletMarginLoss {
    /// PML's defaults: margin 5.73 degrees, scale 64.
    pub fn new() -> TupletMarginLoss {
        TupletMarginLoss { margin: 5.73, scale: 64.0, reducer: Box::new(MeanReducer), angles: None }
    }
    /// The angle taken off every positive pair's, in degrees.
    pub fn margin(mut self, degrees: f64) -> Self {
        self.margin = degrees;
        self
    }
    /// The factor on the cosine differences.
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }
    /// How the per-pair values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl Component for TupletMarginLoss {
    fn records(&self) -> Vec<Record> {
        let angle = |pick: fn(&(Tensor, Tensor)) -> &Tensor| self.angles.as_ref().map_or(0.0, |a| pick(a).double_value(&[]));
        // PML keeps the margin in radians.
        let mut records = vec![
            Record { name: "margin", value: self.margin.to_radians() },
            Record { name: "scale", value: self.scale },
            Record { name: "avg_pos_angle", value: angle(|a| &a.0) },
            Record { name: "avg_neg_angle", value: angle(|a| &a.1) },
        ];
        records.extend(CosineSimilarity::new().records());
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for TupletMarginLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("TupletMarginLoss", embeddings, labels, indices, reference)?;
        self.angles = None;
        let pairs = input.pairs(indices);
        if too_few_pairs(&pairs) || pairs.0.numel() == 0 || pairs.2.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let (a1, p, a2, n) = pairs;
        let matrix = CosineSimilarity::new().matrix(embeddings, input.ref_embeddings);
        let pos_angles = gather_pairs(&matrix, &a1, &p).acos();
        self.angles = Some(tch::no_grad(|| {
            let mean_degrees = |angles: Tensor| angles.mean(Kind::Double).rad2deg();
            (mean_degrees(pos_angles.shallow_clone()), mean_degrees(gather_pairs(&matrix, &a2, &n).acos()))
        }));
        let pos = (pos_angles - self.margin.to_radians()).cos().unsqueeze(1);
        // Per positive pair, its anchor's row of negatives: (positive pairs x references),
        // where PML compares every positive pair with every negative pair.
        let negative = pair_mask(&a2, &n, input.rows(), input.columns()).index_select(0, &a1);
        let exponents = (matrix.index_select(0, &a1) - pos) * self.scale;
        let losses = masked_logsumexp(&exponents, &negative, true).squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::PosPair).indices(LossIndices::Pairs(a1.shallow_clone(), p.shallow_clone()))], embeddings, &input.labels)
    }
}
