use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// Keeps the positive pairs less similar than the anchor's hardest negative plus `epsilon`,
/// and the negative pairs more similar than its hardest positive minus `epsilon` (PML's
/// `MultiSimilarityMiner`; cosine similarity by default).
#[derive(Debug)]
pub struct MultiSimilarityMiner {
    epsilon: f64,
    distance: Box<dyn Distance>,
    last: Option<TupleCounts>,
}

impl Default for MultiSimilarityMiner {
    fn default() -> Self {
        MultiSimilarityMiner::new(0.1)
    }
}

impl MultiSimilarityMiner {
    /// The miner with this epsilon (PML's default is 0.1).
    pub fn new(epsilon: f64) -> MultiSimilarityMiner {
        MultiSimilarityMiner { epsilon, distance: Box::new(CosineSimilarity::new()), last: None }
    }
}

miner_distance!(MultiSimilarityMiner);

impl Component for MultiSimilarityMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "epsilon", value: self.epsilon }];
        records.extend(tuple_records(&self.last));
        records
    }
}

impl TupleMiner for MultiSimilarityMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let mut input = LossInput::deferred("MultiSimilarityMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            // `where` keeps the pairs of one kind and fills the others (twice as fast as
            // `masked_fill` of the complement on the CPU). An anchor without negatives gets the
            // filler as its hardest negative and so keeps no positive; one without positives
            // keeps no negative (as PML's sentinels do).
            let (closest, furthest) = if self.distance.is_inverted() { (f64::INFINITY, f64::NEG_INFINITY) } else { (f64::NEG_INFINITY, f64::INFINITY) };
            let negatives_only = matrix.where_scalarother(&negative, furthest);
            let positives_only = matrix.where_scalarother(&positive, closest);
            let (keep_positive, keep_negative) = if self.distance.is_inverted() {
                let (hardest_negative, hardest_positive) = (negatives_only.amax([1i64].as_slice(), true), positives_only.amin([1i64].as_slice(), true));
                ((&matrix - self.epsilon).lt_tensor(&hardest_negative), (&matrix + self.epsilon).gt_tensor(&hardest_positive))
            } else {
                let (hardest_negative, hardest_positive) = (negatives_only.amin([1i64].as_slice(), true), positives_only.amax([1i64].as_slice(), true));
                ((&matrix + self.epsilon).gt_tensor(&hardest_negative), (&matrix - self.epsilon).lt_tensor(&hardest_positive))
            };
            input.pairs_of_masks(&positive.logical_and(&keep_positive), &negative.logical_and(&keep_negative))
        })?;
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_pairs() {
        // Unit vectors with cosines s01 = 0.8, s02 = 0.6, s03 = 0, s12 = 0.96, s13 = 0.6, s23 = 0.8;
        // classes {0, 1} and {2, 3}; epsilon 0.1. Anchor 1 keeps positive 0 (0.7 < 0.96) and
        // negative 2 (1.06 > 0.8); anchor 2 keeps positive 3 and negative 1; anchors 0 and 3 nothing.
        let e = Tensor::from_slice(&[1.0f32, 0.0, 0.8, 0.6, 0.6, 0.8, 0.0, 1.0]).reshape([4, 2]);
        let y = Tensor::from_slice(&[0i64, 0, 1, 1]);
        let mut miner = MultiSimilarityMiner::new(0.1);
        let Tuples::Pairs { a1, p, a2, n } = miner.mine(&e, &y).unwrap() else { panic!("pairs expected") };
        let v = |t: Tensor| Vec::<i64>::try_from(t).unwrap();
        assert_eq!((v(a1), v(p), v(a2), v(n)), (vec![1, 2], vec![0, 3], vec![1, 2], vec![2, 1]));
        assert!(miner.records().contains(&Record { name: "num_pos_pairs", value: 2.0 }));
    }
}
