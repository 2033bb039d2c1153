use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
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
        let mut input = LossInput::deferred("PairMarginMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            // Kept pairs straight from the masks (row-major, PML's order): no index lists of
            // every pair to gather the matrix with first.
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            let (keep_pos, keep_neg) = if self.distance.is_inverted() {
                (matrix.lt(self.pos_margin), matrix.gt(self.neg_margin))
            } else {
                (matrix.gt(self.pos_margin), matrix.lt(self.neg_margin))
            };
            input.pairs_of_masks(&positive.logical_and(&keep_pos), &negative.logical_and(&keep_neg))
        })?;
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
