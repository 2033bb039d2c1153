use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{all_pairs, TupleCounts, Tuples};
use crate::losses::{gather_pairs, LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Hard-aware deeply cascaded mining (Yuan et al., 2017): keeps the hardest
/// `filter_percentage` of the positive pairs (furthest) and of the negative pairs (closest),
/// from all pairs or from pairs an earlier stage chose ([`TupleMiner::mine_among`]). PML's
/// `HDCMiner`; `LpDistance()`.
#[doc(alias = "HDCMiner")]
#[derive(Debug)]
pub struct HdcMiner {
    filter_percentage: f64,
    distance: Box<dyn Distance>,
    last: Option<TupleCounts>,
}

impl Default for HdcMiner {
    fn default() -> Self {
        HdcMiner::new(0.5)
    }
}

impl HdcMiner {
    /// Keep this fraction of each kind of pair (PML's default is 0.5).
    pub fn new(filter_percentage: f64) -> HdcMiner {
        HdcMiner { filter_percentage, distance: Box::new(LpDistance::new()), last: None }
    }

    fn filter(&mut self, candidates: Tuples, embeddings: &Tensor, ref_embeddings: &Tensor) -> Tuples {
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, ref_embeddings);
            let (a1, p, a2, n) = candidates.to_pairs();
            let inverted = self.distance.is_inverted();
            let keep = |anchors: &Tensor, others: &Tensor, largest: bool| -> (Tensor, Tensor) {
                if anchors.numel() == 0 {
                    return (anchors.shallow_clone(), others.shallow_clone());
                }
                let values = gather_pairs(&matrix, anchors, others);
                let k = (self.filter_percentage * values.numel() as f64).ceil() as i64;
                let (_, index) = values.topk(k, 0, largest, true);
                (anchors.index_select(0, &index), others.index_select(0, &index))
            };
            // The hardest positives are the furthest, the hardest negatives the closest.
            let (a1, p) = keep(&a1, &p, !inverted);
            let (a2, n) = keep(&a2, &n, inverted);
            Tuples::Pairs { a1, p, a2, n }
        });
        self.last = Some(tuples.counts());
        tuples
    }
}

miner_distance!(HdcMiner);

impl Component for HdcMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "filter_percentage", value: self.filter_percentage }];
        records.extend(tuple_records(&self.last));
        records
    }
}

impl TupleMiner for HdcMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("HDCMiner", embeddings, labels, None, reference)?;
        let candidates = all_pairs(&input.labels, input.ref_labels.as_ref());
        Ok(self.filter(candidates, embeddings, input.ref_embeddings))
    }

    fn mine_among(&mut self, candidates: Option<&Tuples>, embeddings: &Tensor, labels: &Tensor) -> Option<Result<Tuples>> {
        let input = match LossInput::new("HDCMiner", embeddings, labels, None, None) {
            Ok(input) => input,
            Err(error) => return Some(Err(error)),
        };
        let candidates = match candidates {
            Some(tuples) => {
                let (a1, p, a2, n) = tuples.to_pairs();
                Tuples::Pairs { a1, p, a2, n }
            }
            None => all_pairs(&input.labels, None),
        };
        Some(Ok(self.filter(candidates, embeddings, embeddings)))
    }
}

/// PML's name for [`HdcMiner`], for code ported from Python.
#[allow(clippy::upper_case_acronyms)]
pub type HDCMiner = HdcMiner;
