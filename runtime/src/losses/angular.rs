use super::input::masked_logsumexp;
use super::{LossInput, MetricLoss, Reference};
use crate::distances::{Common, Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Angular loss (Wang et al., 2017): per positive pair `(a, p)`, how far each negative `n`
/// lies inside the cone of half-angle `alpha` around the pair's centre,
/// `log(1 + sum_n exp(4 tan²α (a + p)·n - 2 (1 + tan²α) a·p))` (PML's `AngularLoss`;
/// Euclidean distance on normalised embeddings, the only distance PML allows it, and
/// `MeanReducer` over positive pairs).
///
/// As in PML, the anchor and the positive are normalised but the negatives are not, and the
/// negatives of a pair are every reference whose label differs from its anchor's: mined
/// tuples choose the positive pairs only (an empty list of negative pairs still means no loss).
#[derive(Debug)]
pub struct AngularLoss {
    alpha: f64,
    reducer: Box<dyn Reducer>,
    /// What the mean angle between a pair's centre and its negatives comes from, kept until
    /// `records()` asks: the angles cost more than the loss, PML computes them only with
    /// `collect_stats` on, and most calls are never logged.
    angles_of_last_call: Option<Angles>,
}

/// The detached inputs of [`average_angle`].
#[derive(Debug)]
struct Angles {
    anchors: Tensor,
    positives: Tensor,
    negatives: Tensor,
    centre_dot_negatives: Tensor,
    keep: Tensor,
}

impl Default for AngularLoss {
    fn default() -> Self {
        AngularLoss::new()
    }
}

impl AngularLoss {
    /// PML's default: alpha 40 degrees.
    pub fn new() -> AngularLoss {
        AngularLoss { alpha: 40.0, reducer: Box::new(MeanReducer), angles_of_last_call: None }
    }
    /// The cone's half-angle, in degrees.
    pub fn alpha(mut self, degrees: f64) -> Self {
        self.alpha = degrees;
        self
    }
    /// How the per-pair values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl Component for AngularLoss {
    fn records(&self) -> Vec<Record> {
        // PML keeps alpha in radians.
        let mut records = vec![
            Record { name: "alpha", value: self.alpha.to_radians() },
            Record { name: "average_angle", value: self.angles_of_last_call.as_ref().map_or(0.0, |a| tch::no_grad(|| average_angle(a)).double_value(&[])) },
        ];
        records.extend(LpDistance::new().records());
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for AngularLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("AngularLoss", embeddings, labels, indices, reference)?;
        self.angles_of_last_call = None;
        let (a1, p, a2, _) = input.pairs(indices);
        if a1.numel() == 0 || a2.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        // Rows are normalised one by one, so normalising the batch and then gathering gives
        // PML's values for the gathered rows at a fraction of the work.
        let normalized = |x: &Tensor| Common::new().maybe_normalize(x);
        let anchors = normalized(embeddings).index_select(0, &a1);
        let positives = normalized(input.ref_embeddings).index_select(0, &p);
        let reference_labels = input.ref_labels.as_ref().unwrap_or(&input.labels);
        let keep = input.labels.index_select(0, &a1).unsqueeze(1).ne_tensor(&reference_labels.unsqueeze(0));
        let sq_tan_alpha = self.alpha.to_radians().tan().powi(2);
        let ap_dot = (&anchors * &positives).sum_dim_intlist(1i64, true, None::<Kind>);
        let centre_dot_negatives = (&anchors + &positives).matmul(&input.ref_embeddings.transpose(0, 1));
        self.angles_of_last_call = Some(Angles {
            anchors: anchors.detach(),
            positives: positives.detach(),
            negatives: input.ref_embeddings.detach(),
            centre_dot_negatives: centre_dot_negatives.detach(),
            keep: keep.shallow_clone(),
        });
        let exponents = centre_dot_negatives * (4.0 * sq_tan_alpha) - ap_dot * (2.0 * (1.0 + sq_tan_alpha));
        let losses = masked_logsumexp(&exponents, &keep, true).squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::PosPair).indices(LossIndices::Pairs(a1.shallow_clone(), p.shallow_clone()))], embeddings, &input.labels)
    }
}

/// PML's `average_angle` in degrees: per pair and negative, `atan(|a - p| / (2 |c - n|))` with
/// `c` the pair's centre, averaged over the negatives `keep` marks. `|c - n|²` comes from the
/// loss's own `(a + p)·n` (in float64, so that nothing cancels), where PML builds a (references
/// x pairs x width) cube.
fn average_angle(Angles { anchors, positives, negatives, centre_dot_negatives, keep }: &Angles) -> Tensor {
    let double = |x: &Tensor| x.to_kind(Kind::Double);
    let squared_norm = |x: Tensor| x.square().sum_dim_intlist(1i64, false, None::<Kind>);
    let ap_distance = double(&LpDistance::new().pairwise(anchors, positives));
    let centres = double(&(anchors + positives)) / 2.0;
    let centre_distance = (squared_norm(centres).unsqueeze(1) + squared_norm(double(negatives)).unsqueeze(0) - double(centre_dot_negatives))
        .clamp_min(0.0)
        .sqrt();
    let angles = (ap_distance.unsqueeze(1) / (centre_distance * 2.0)).atan();
    (angles.masked_select(keep).sum(Kind::Double) / keep.sum(Kind::Double)).rad2deg()
}
