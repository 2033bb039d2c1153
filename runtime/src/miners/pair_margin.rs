use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{all_pairs, TupleCounts, Tuples};
use crate::losses::{gather_pairs, LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Positive pairs further apart than `pos_margin` and negative pairs closer than `neg_margin`
/// (PML's `PairMarginMiner`; `LpDistance()`).
#[derive(Debug)]
pub struct PairMarginMiner {
    pos_margin: f64,
    neg_margin: f64,
    distance: Box<dyn Distance>,
    last: Option<TupleCounts>,
}

impl Default for PairMarginMiner {
    fn default() -> Self {
        PairMarginMiner::new(0.2, 0.8)
    }
}

impl PairMarginMiner {
    /// PML's defaults are 0.2 and 0.8.
    pub fn new(pos_margin: f64, neg_margin: f64) -> PairMarginMiner {
        PairMarginMiner { pos_margin, neg_margin, distance: Box::new(LpDistance::new()), last: None }
    }
}

miner_distance!(PairMarginMiner);

impl Component for PairMarginMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "pos_margin", value: self.pos_margin }, Record { name: "neg_margin", value: self.neg_margin }];
        records.extend(tuple_records(&self.last));
        records
    }
}

impl TupleMiner for PairMarginMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("PairMarginMiner", embeddings, labels, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let (a1, p, a2, n) = all_pairs(&input.labels, input.ref_labels.as_ref()).to_pairs();
            let (pos, neg) = (gather_pairs(&matrix, &a1, &p), gather_pairs(&matrix, &a2, &n));
            let (keep_pos, keep_neg) = if self.distance.is_inverted() {
                (pos.lt(self.pos_margin), neg.gt(self.neg_margin))
            } else {
                (pos.gt(self.pos_margin), neg.lt(self.neg_margin))
            };
            let (kp, kn) = (keep_pos.nonzero().select(1, 0), keep_neg.nonzero().select(1, 0));
            Tuples::Pairs { a1: a1.index_select(0, &kp), p: p.index_select(0, &kp), a2: a2.index_select(0, &kn), n: n.index_select(0, &kn) }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
