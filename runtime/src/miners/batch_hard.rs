use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::trainer::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// For every anchor with a positive and a negative: its furthest positive and its closest
/// negative, one triplet per anchor (PML's `BatchHardMiner`; `LpDistance()`).
#[derive(Debug)]
pub struct BatchHardMiner {
    distance: Box<dyn Distance>,
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
        BatchHardMiner { distance: Box::new(LpDistance::new()), last: None }
    }
}

miner_distance!(BatchHardMiner);

impl Component for BatchHardMiner {
    fn records(&self) -> Vec<Record> {
        tuple_records(&self.last)
    }
}

/// The largest (or smallest) entry per row among `mask`, as PML's `get_x_per_row` finds it:
/// other entries become the kind's extreme finite value.
fn extreme_per_row(matrix: &Tensor, mask: &Tensor, largest: bool) -> (Tensor, Tensor) {
    let kind = matrix.kind();
    let fill = match (largest, kind) {
        (true, Kind::Double) => f64::MIN,
        (true, _) => f32::MIN as f64,
        (false, Kind::Double) => f64::MAX,
        (false, _) => f32::MAX as f64,
    };
    let masked = matrix.masked_fill(&mask.logical_not(), fill);
    let (_, index) = if largest { masked.max_dim(1, false) } else { masked.min_dim(1, false) };
    (index, mask.any_dim(1, false))
}

impl TupleMiner for BatchHardMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("BatchHardMiner", embeddings, labels, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            // Hardest positive: furthest (least similar); hardest negative: closest (most similar).
            let inverted = self.distance.is_inverted();
            let (p, has_p) = extreme_per_row(&matrix, &positive, !inverted);
            let (n, has_n) = extreme_per_row(&matrix, &negative, inverted);
            let anchors = has_p.logical_and(&has_n).nonzero().select(1, 0);
            Tuples::Triplets { p: p.index_select(0, &anchors), n: n.index_select(0, &anchors), a: anchors }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
