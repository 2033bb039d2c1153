use super::{tuple_records, TupleMiner};
use crate::distances::cosine_similarity;
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::check_embeddings;
use crate::trainer::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Keeps the positive pairs less similar than the anchor's hardest negative plus `epsilon`,
/// and the negative pairs more similar than its hardest positive minus `epsilon`
/// (PML's `MultiSimilarityMiner` with cosine similarity).
#[derive(Debug)]
pub struct MultiSimilarityMiner {
    epsilon: f64,
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
        MultiSimilarityMiner { epsilon, last: None }
    }
}

impl Component for MultiSimilarityMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "epsilon", value: self.epsilon }];
        records.extend(tuple_records(&self.last));
        records
    }
}

impl TupleMiner for MultiSimilarityMiner {
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tuples> {
        check_embeddings("MultiSimilarityMiner", embeddings, labels)?;
        let tuples = tch::no_grad(|| {
            let labels = labels.to_device(embeddings.device());
            let similarity = cosine_similarity(&embeddings.to_kind(Kind::Float));
            let (positive, negative) = pair_masks(&labels);
            // An anchor without negatives gets -inf as its hardest negative and so keeps no
            // positive; one without positives keeps no negative (as PML's sentinels do).
            let hardest_negative = similarity.masked_fill(&negative.logical_not(), f64::NEG_INFINITY).amax([1], true);
            let hardest_positive = similarity.masked_fill(&positive.logical_not(), f64::INFINITY).amin([1], true);
            let keep_positive = positive.logical_and(&(&similarity - self.epsilon).lt_tensor(&hardest_negative));
            let keep_negative = negative.logical_and(&(&similarity + self.epsilon).gt_tensor(&hardest_positive));
            let (pos, neg) = (keep_positive.nonzero(), keep_negative.nonzero());
            Tuples::Pairs { a1: pos.select(1, 0), p: pos.select(1, 1), a2: neg.select(1, 0), n: neg.select(1, 1) }
        });
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
