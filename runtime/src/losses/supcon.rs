use super::input::{masked_logsumexp, small_val};
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Supervised contrastive loss (Khosla et al., 2020): per anchor, the mean negative
/// log-probability of its positives among its positives and negatives (PML's `SupConLoss`;
/// cosine similarity, `AvgNonZeroReducer`).
#[derive(Debug)]
pub struct SupConLoss {
    temperature: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for SupConLoss {
    fn default() -> Self {
        SupConLoss::new(0.1)
    }
}

impl SupConLoss {
    /// At this temperature (PML's default is 0.1).
    pub fn new(temperature: f64) -> SupConLoss {
        SupConLoss { temperature, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(AvgNonZeroReducer::avg_non_zero()) }
    }
}

distance_and_reducer!(SupConLoss);

impl Component for SupConLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "temperature", value: self.temperature }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for SupConLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("SupConLoss", embeddings, labels, indices, reference)?;
        let nothing = || vec![SubLoss::zero("loss")];
        let Some((pos, neg)) = input.pair_masks(indices) else {
            return reduce(self.reducer.as_mut(), nothing(), embeddings, &input.labels);
        };
        // PML computes only when there is a positive and a negative pair.
        if !bool::try_from(pos.any().logical_and(&neg.any())).unwrap_or(false) {
            return reduce(self.reducer.as_mut(), nothing(), embeddings, &input.labels);
        }
        let mut matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let pos_mask = pos.to_kind(matrix.kind());
        if !self.distance.is_inverted() {
            matrix = -matrix;
        }
        let matrix = &matrix / self.temperature;
        let matrix = &matrix - matrix.amax([1i64].as_slice(), true).detach();
        let denominator = masked_logsumexp(&matrix, &pos.logical_or(&neg), false);
        let log_prob = matrix - denominator;
        let mean_log_prob_pos = (&pos_mask * log_prob).sum_dim_intlist(1i64, false, None::<Kind>)
            / (pos_mask.sum_dim_intlist(1i64, false, None::<Kind>) + small_val(pos_mask.kind()));
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", -mean_log_prob_pos, Reduction::Element)], embeddings, &input.labels)
    }
}
