use super::gather_pairs;
use super::input::{neg_inf, small_val, too_few_pairs};
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// InfoNCE / NT-Xent: for every positive pair, the negative log-probability of the positive
/// among it and the anchor's negatives, at a temperature (PML's `NTXentLoss`; defaults
/// `CosineSimilarity()` and `MeanReducer` over positive pairs).
#[derive(Debug)]
pub struct NTXentLoss {
    temperature: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for NTXentLoss {
    fn default() -> Self {
        NTXentLoss::new(0.07)
    }
}

impl NTXentLoss {
    /// At this temperature (PML's default is 0.07).
    pub fn new(temperature: f64) -> NTXentLoss {
        NTXentLoss { temperature, distance: Box::new(CosineSimilarity::new()), reducer: Box::new(MeanReducer) }
    }
}

distance_and_reducer!(NTXentLoss);

impl Component for NTXentLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "temperature", value: self.temperature }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for NTXentLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("NTXentLoss", embeddings, labels, indices, reference)?;
        let pairs = input.pairs(indices);
        if too_few_pairs(&pairs) || pairs.0.numel() == 0 || pairs.2.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let (a1, p, a2, n) = pairs;
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let mut logits = &matrix / self.temperature;
        if !self.distance.is_inverted() {
            logits = -logits;
        }
        let kind = logits.kind();
        // Per positive pair, its anchor's row of negatives: (positive pairs x references), where
        // PML compares every positive pair with every negative pair.
        let negative = crate::indices::pair_mask(&a2, &n, input.rows(), input.columns());
        let pos = gather_pairs(&logits, &a1, &p).unsqueeze(1);
        let neg = logits.index_select(0, &a1).masked_fill(&negative.index_select(0, &a1).logical_not(), neg_inf(kind));
        let max = pos.maximum(&neg.amax([1i64].as_slice(), true)).detach();
        let numerator = (&pos - &max).exp().squeeze_dim(1);
        let denominator = (&neg - &max).exp().sum_dim_intlist(1i64, false, None::<tch::Kind>) + &numerator;
        let losses = -((numerator / denominator) + small_val(kind)).log();
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::PosPair).indices(LossIndices::Pairs(a1, p))], embeddings, &input.labels)
    }
}
