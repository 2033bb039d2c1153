use super::input::{gather_pairs, neg_inf, small_val, too_few_pairs};
use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::trainer::{Component, Record};
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
        let input = LossInput::new("NTXentLoss", embeddings, labels, reference)?;
        let (a1, p, a2, n) = input.pairs(indices);
        let nothing = vec![SubLoss::zero("loss")];
        if too_few_pairs(&(a1.shallow_clone(), p.shallow_clone(), a2.shallow_clone(), n.shallow_clone())) || a1.numel() == 0 || a2.numel() == 0 {
            return Ok(reduce(self.reducer.as_mut(), nothing, embeddings));
        }
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let (mut pos, mut neg) = (gather_pairs(&matrix, &a1, &p), gather_pairs(&matrix, &a2, &n));
        if !self.distance.is_inverted() {
            pos = -pos;
            neg = -neg;
        }
        let kind = neg.kind();
        let pos = pos.unsqueeze(1) / self.temperature;
        let neg = neg / self.temperature;
        let same_anchor = a2.unsqueeze(0).eq_tensor(&a1.unsqueeze(1));
        let neg = (neg * same_anchor.to_kind(kind)).masked_fill(&same_anchor.logical_not(), neg_inf(kind));
        let max = pos.maximum(&neg.amax([1i64].as_slice(), true)).detach();
        let numerator = (&pos - &max).exp().squeeze_dim(1);
        let denominator = (&neg - &max).exp().sum_dim_intlist(1i64, false, None::<tch::Kind>) + &numerator;
        let losses = -((numerator / denominator) + small_val(kind)).log();
        Ok(reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::PosPair)], embeddings))
    }
}
