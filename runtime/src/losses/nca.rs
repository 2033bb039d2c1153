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
        let input = LossInput::new("NCALoss", embeddings, labels, reference)?;
        if input.rows() <= 1 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let same_source = input.ref_labels.is_none();
        let mut matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        if !self.distance.is_inverted() {
            matrix = -matrix;
        }
        if same_source {
            let _ = matrix.fill_diagonal_(neg_inf(matrix.kind()), false);
        }
        let reference_labels = input.ref_labels.as_ref().unwrap_or(&input.labels);
        let same = input.labels.unsqueeze(1).eq_tensor(&reference_labels.unsqueeze(0)).to_kind(matrix.kind());
        let probability = ((matrix * self.softmax_scale).softmax(1, None::<Kind>) * same).sum_dim_intlist(1i64, false, None::<Kind>);
        let weights = sample_weights(indices, input.rows(), !same_source, probability.kind(), probability.device());
        // Queries with no same-label reference have probability 0 and are left out, as in PML.
        let non_zero = probability.ne(0.0);
        let losses = -probability.masked_select(&non_zero).log() * weights.masked_select(&non_zero);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element).indices(LossIndices::ElementMask(non_zero))], embeddings, &input.labels)
    }
}
