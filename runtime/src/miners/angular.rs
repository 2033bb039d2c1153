use super::TupleMiner;
use crate::distances::{Distance, LpDistance};
use crate::indices::{all_triplets, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::trainer::{Component, Record};
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

/// Triplets per chunk: the gathered embeddings of all triplets of a large batch would not fit.
const CHUNK: i64 = 1 << 20;

impl AngularMiner {
    /// The threshold in degrees (PML's default is 20).
    pub fn new(angle_degrees: f64) -> AngularMiner {
        AngularMiner { angle: angle_degrees.to_radians(), distance: LpDistance::new(), last: None }
    }
}

impl Component for AngularMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "angle", value: self.angle.to_degrees() }];
        records.extend(super::tuple_records(&self.last));
        records
    }
}

impl TupleMiner for AngularMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("AngularMiner", embeddings, labels, reference)?;
        let tuples = tch::no_grad(|| {
            let Tuples::Triplets { a, p, n } = all_triplets(&input.labels, input.ref_labels.as_ref()) else {
                unreachable!("all_triplets returns triplets")
            };
            let total = a.numel() as i64;
            let mut kept = Vec::new();
            let mut start = 0;
            while start < total {
                let size = CHUNK.min(total - start);
                let (ca, cp, cn) = (a.narrow(0, start, size), p.narrow(0, start, size), n.narrow(0, start, size));
                // As PML: gathered rows, not yet normalised; the distance normalises them.
                let anchors = embeddings.index_select(0, &ca);
                let positives = input.ref_embeddings.index_select(0, &cp);
                let negatives = input.ref_embeddings.index_select(0, &cn);
                let centres = (&anchors + &positives) / 2.0;
                let ap = self.distance.pairwise(&anchors, &positives);
                let nc = self.distance.pairwise(&negatives, &centres);
                let angles = (ap / (nc * 2.0)).atan();
                kept.push(angles.gt(self.angle).nonzero().select(1, 0) + start);
                start += size;
            }
            let keep = if kept.is_empty() { Tensor::zeros([0], (Kind::Int64, a.device())) } else { Tensor::cat(&kept, 0) };
            Tuples::Triplets { a: a.index_select(0, &keep), p: p.index_select(0, &keep), n: n.index_select(0, &keep) }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
