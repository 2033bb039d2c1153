use super::batch_easy_hard::{BatchEasyHardMiner, Strategy};
use super::{tuple_records, TupleMiner};
use crate::distances::Distance;
use crate::indices::{TupleCounts, Tuples};
use crate::losses::Reference;
use crate::component::{Component, Record};
use crate::Result;
use tch::Tensor;

/// For every anchor with a positive and a negative: its furthest positive and its closest
/// negative, one triplet per anchor (PML's `BatchHardMiner`: `BatchEasyHardMiner` with hard
/// positives and hard negatives, as triplets; `LpDistance()`).
#[derive(Debug)]
pub struct BatchHardMiner {
    inner: BatchEasyHardMiner,
    last: Option<TupleCounts>,
}

impl Default for BatchHardMiner {
    fn default() -> Self {
        BatchHardMiner::new()
    }
}

impl BatchHardMiner {
    /// With PML's default distance.
    pub fn new() -> BatchHardMiner {
        match BatchEasyHardMiner::new(Strategy::Hard, Strategy::Hard) {
            Ok(inner) => BatchHardMiner { inner, last: None },
            Err(_) => unreachable!("hard and hard is an allowed combination"),
        }
    }

    /// The distance or similarity the miner compares embeddings with.
    pub fn distance(mut self, distance: impl Distance + 'static) -> Self {
        self.inner = self.inner.distance(distance);
        self
    }
}

impl Component for BatchHardMiner {
    fn records(&self) -> Vec<Record> {
        tuple_records(&self.last)
    }
}

impl TupleMiner for BatchHardMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let tuples = match self.inner.mine_with_reference(embeddings, labels, reference)? {
            Tuples::Pairs { a1, p, n, .. } => Tuples::Triplets { a: a1, p, n },
            triplets => triplets,
        };
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
