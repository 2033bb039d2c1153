use super::TupleMiner;
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Triplets whose angle at the negative, `atan(d(a,p) / (2 d(n, (a+p)/2)))`, exceeds a
/// threshold (Wang et al., 2017; PML's `AngularMiner`, on L2-normalised embeddings).
#[derive(Debug)]
pub struct AngularMiner {
    angle: f64,
    distance: LpDistance,
    last: Option<TupleCounts>,
}

impl Default for AngularMiner {
    fn default() -> Self {
        AngularMiner::new(20.0)
    }
}

/// Triplets per chunk: the gathered rows of all triplets of a large batch would not fit.
const CHUNK: i64 = 1 << 20;

impl AngularMiner {
    /// The threshold in degrees (PML's default is 20).
    pub fn new(angle_degrees: f64) -> AngularMiner {
        AngularMiner { angle: angle_degrees.to_radians(), distance: LpDistance::new(), last: None }
    }
}

impl Component for AngularMiner {
    fn records(&self) -> Vec<Record> {
        // In radians, as PML records it.
        let mut records = vec![Record { name: "angle", value: self.angle }];
        records.extend(super::tuple_records(&self.last));
        records
    }
}

impl TupleMiner for AngularMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("AngularMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            // Per positive pair, its anchor's negatives: d(a, p) and the centre (a + p) / 2 are
            // computed once per pair rather than once per triplet as PML does; the values are
            // the same, since they depend on the pair only.
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            let pairs = positive.nonzero();
            let (pa, pp) = (pairs.select(1, 0), pairs.select(1, 1));
            let anchors = embeddings.index_select(0, &pa);
            let positives = input.ref_embeddings.index_select(0, &pp);
            let ap = self.distance.pairwise(&anchors, &positives);
            let centres = (&anchors + &positives) / 2.0;
            let per_pair = negative.index_select(0, &pa).nonzero();
            let (pair, n) = (per_pair.select(1, 0), per_pair.select(1, 1).contiguous());
            let total = n.numel() as i64;
            let mut kept = Vec::new();
            let mut start = 0;
            while start < total {
                let size = CHUNK.min(total - start);
                let (cpair, cn) = (pair.narrow(0, start, size), n.narrow(0, start, size));
                let nc = self.distance.pairwise(&input.ref_embeddings.index_select(0, &cn), &centres.index_select(0, &cpair));
                let angles = (ap.index_select(0, &cpair) / (nc * 2.0)).atan();
                kept.push(angles.gt(self.angle).nonzero().select(1, 0) + start);
                start += size;
            }
            let keep = if kept.is_empty() { Tensor::zeros([0], (Kind::Int64, embeddings.device())) } else { Tensor::cat(&kept, 0) };
            let kept_pairs = pair.index_select(0, &keep);
            Tuples::Triplets { a: pa.index_select(0, &kept_pairs), p: pp.index_select(0, &kept_pairs), n: n.index_select(0, &keep) }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
