use super::input::neg_inf;
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{Distance, LpDistance};
use crate::indices::{sample_weights, Tuples};
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Neighbourhood components analysis (Goldberger et al., 2005): per query, the negative log of
/// the softmax probability mass on same-label references (PML's `NCALoss`; squared Euclidean
/// distance on normalised embeddings, `MeanReducer`).
#[derive(Debug)]
pub struct NCALoss {
    softmax_scale: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for NCALoss {
    fn default() -> Self {
        NCALoss::new()
    }
}

impl NCALoss {
    /// Softmax scale 1, as PML.
    pub fn new() -> NCALoss {
        NCALoss { softmax_scale: 1.0, distance: Box::new(LpDistance::new().power(2.0)), reducer: Box::new(MeanReducer) }
    }
    /// Multiplies the (negated) distances before the softmax.
    pub fn softmax_scale(mut self, softmax_scale: f64) -> Self {
        self.softmax_scale = softmax_scale;
        self
    }
}

distance_and_reducer!(NCALoss);

impl Component for NCALoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "softmax_scale", value: self.softmax_scale }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for NCALoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("NCALoss", embeddings, labels, indices, reference)?;
        if input.rows() <= 1 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let same_source = input.ref_labels.is_none();
        let reference_labels = input.ref_labels.as_ref().unwrap_or(&input.labels);
        let query = NcaQuery { embeddings, labels: &input.labels, indices };
        let (losses, kept) = nca_losses(self.distance.as_ref(), self.softmax_scale, query, input.ref_embeddings, ReferenceLabels::Given(reference_labels), same_source);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element).indices(LossIndices::ElementMask(kept))], embeddings, &input.labels)
    }
}

/// The queries of an NCA computation: embeddings, their labels, and the tuples that weight them.
pub(crate) struct NcaQuery<'a> {
    pub embeddings: &'a Tensor,
    pub labels: &'a Tensor,
    pub indices: Option<&'a Tuples>,
}

/// The labels of NCA's reference rows.
pub(crate) enum ReferenceLabels<'a> {
    /// One label per row.
    Given(&'a Tensor),
    /// Row `c` is class `c` (ProxyNCA's proxies).
    RowIsClass,
}

/// PML's `nca_computation`: per query, the negative log of the softmax mass (over the scaled,
/// negated distances to the references) on same-label references, times its miner weight, and
/// which queries have one: queries with no such mass are left out, as PML does. When the queries are their own
/// references (`same_source`), a query is not its own neighbour; otherwise only the tuples'
/// anchors index the queries.
pub(crate) fn nca_losses(distance: &dyn Distance, softmax_scale: f64, query: NcaQuery<'_>, reference: &Tensor, reference_labels: ReferenceLabels<'_>, same_source: bool) -> (Tensor, Tensor) {
    let matrix = distance.matrix(query.embeddings, reference);
    // The sign and the scale in one product: a distance's logits are its negation.
    let scale = if distance.is_inverted() { softmax_scale } else { -softmax_scale };
    let mut logits = matrix * scale;
    if same_source {
        let _ = logits.fill_diagonal_(neg_inf(logits.kind()), false);
    }
    let softmax = logits.softmax(1, None::<Kind>);
    let probability = match reference_labels {
        ReferenceLabels::Given(labels) => {
            let same = query.labels.unsqueeze(1).eq_tensor(&labels.unsqueeze(0)).to_kind(softmax.kind());
            (softmax * same).sum_dim_intlist(1i64, false, None::<Kind>)
        }
        // One reference per class: the probability is one entry per row.
        ReferenceLabels::RowIsClass => softmax.gather(1, &query.labels.unsqueeze(1), false).squeeze_dim(1),
    };
    let weights = sample_weights(query.indices, query.embeddings.size()[0], !same_source, probability.kind(), probability.device());
    let non_zero = probability.ne(0.0);
    (-probability.masked_select(&non_zero).log() * weights.masked_select(&non_zero), non_zero)
}
