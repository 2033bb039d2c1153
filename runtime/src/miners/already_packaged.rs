use super::{tuple_records, TupleMiner};
use crate::component::{Component, Record};
use crate::indices::{TupleCounts, Tuples};
use crate::losses::Reference;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The batch is already triplets: rows `3k`, `3k + 1`, `3k + 2` are an anchor, its positive and
/// its negative, whatever the labels (PML's `EmbeddingsAlreadyPackagedAsTriplets`).
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddingsAlreadyPackagedAsTriplets {
    last: Option<TupleCounts>,
}

impl EmbeddingsAlreadyPackagedAsTriplets {
    /// The miner.
    pub fn new() -> EmbeddingsAlreadyPackagedAsTriplets {
        EmbeddingsAlreadyPackagedAsTriplets::default()
    }
}

impl Component for EmbeddingsAlreadyPackagedAsTriplets {
    fn records(&self) -> Vec<Record> {
        tuple_records(&self.last)
    }
}

impl TupleMiner for EmbeddingsAlreadyPackagedAsTriplets {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        const NAME: &str = "EmbeddingsAlreadyPackagedAsTriplets";
        crate::losses::check_embeddings(NAME, embeddings, labels)?;
        if reference.is_some() {
            return Err(Error::data(format!("{NAME}: the triplets are rows of the batch; reference embeddings are not accepted")));
        }
        let rows = embeddings.size()[0];
        if rows % 3 != 0 {
            // PML's lengths of anchors, positives and negatives would differ (its assertion).
            return Err(Error::data(format!("{NAME}: a batch of triplets has a multiple of 3 rows, found {rows}")));
        }
        let every_third = |first: i64| Tensor::arange_start_step(first, rows, 3, (Kind::Int64, embeddings.device()));
        let tuples = Tuples::Triplets { a: every_third(0), p: every_third(1), n: every_third(2) };
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
