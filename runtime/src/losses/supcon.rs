use super::input::{masked_logsumexp, pair_value_masks, small_val, too_few_pairs};
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, Reducer, Reduction, SubLoss};
use crate::trainer::{Component, Record};
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
        let input = LossInput::new("SupConLoss", embeddings, labels, reference)?;
        let pairs = input.pairs(indices);
        if too_few_pairs(&pairs) || pairs.0.numel() == 0 || pairs.2.numel() == 0 {
            return Ok(reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings));
        }
        let mut matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let (pos_mask, neg_mask) = pair_value_masks(&pairs, &matrix);
        if !self.distance.is_inverted() {
            matrix = -matrix;
        }
        let matrix = &matrix / self.temperature;
        let matrix = &matrix - matrix.amax([1i64].as_slice(), true).detach();
        let denominator = masked_logsumexp(&matrix, &(&pos_mask + &neg_mask).to_kind(Kind::Bool), false);
        let log_prob = matrix - denominator;
        let mean_log_prob_pos = (&pos_mask * log_prob).sum_dim_intlist(1i64, false, None::<Kind>)
            / (pos_mask.sum_dim_intlist(1i64, false, None::<Kind>) + small_val(pos_mask.kind()));
        Ok(reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", -mean_log_prob_pos, Reduction::Element)], embeddings))
    }
}
