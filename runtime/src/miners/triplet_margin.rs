use super::{miner_distance, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{all_triplets, TupleCounts, Tuples};
use crate::losses::gather_pairs as gather;
use crate::losses::{LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Which triplets [`TripletMarginMiner`] keeps, by `t = d(a,n) - d(a,p)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripletType {
    /// `t <= margin`.
    All,
    /// `t <= margin` and `t <= 0`: the negative is closer than the positive.
    Hard,
    /// `0 < t <= margin`.
    Semihard,
    /// `t > margin`.
    Easy,
}

/// Triplets by how much they violate a margin (PML's `TripletMarginMiner`; `LpDistance()`).
#[derive(Debug)]
pub struct TripletMarginMiner {
    margin: f64,
    type_of_triplets: TripletType,
    distance: Box<dyn Distance>,
    stats: Option<(Tensor, Tensor, Tensor, usize)>,
}

impl Default for TripletMarginMiner {
    fn default() -> Self {
        TripletMarginMiner::new(0.2, TripletType::All)
    }
}

impl TripletMarginMiner {
    /// PML's defaults are margin 0.2 and all violating triplets.
    pub fn new(margin: f64, type_of_triplets: TripletType) -> TripletMarginMiner {
        TripletMarginMiner { margin, type_of_triplets, distance: Box::new(LpDistance::new()), stats: None }
    }
}

miner_distance!(TripletMarginMiner);

impl Component for TripletMarginMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "margin", value: self.margin }];
        if let Some((ap, an, margin, count)) = &self.stats {
            records.push(Record { name: "pos_pair_dist", value: ap.double_value(&[]) });
            records.push(Record { name: "neg_pair_dist", value: an.double_value(&[]) });
            records.push(Record { name: "avg_triplet_margin", value: margin.double_value(&[]) });
            records.push(Record { name: "num_triplets", value: *count as f64 });
        }
        records
    }
}

impl TupleMiner for TripletMarginMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("TripletMarginMiner", embeddings, labels, None, reference)?;
        let (tuples, stats) = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let Tuples::Triplets { a, p, n } = all_triplets(&input.labels, input.ref_labels.as_ref()) else {
                unreachable!("all_triplets returns triplets")
            };
            let ap = gather(&matrix, &a, &p);
            let an = gather(&matrix, &a, &n);
            let triplet_margin = if self.distance.is_inverted() { &ap - &an } else { &an - &ap };
            let keep = match self.type_of_triplets {
                TripletType::Easy => triplet_margin.gt(self.margin),
                TripletType::All => triplet_margin.le(self.margin),
                TripletType::Hard => triplet_margin.le(self.margin).logical_and(&triplet_margin.le(0.0)),
                TripletType::Semihard => triplet_margin.le(self.margin).logical_and(&triplet_margin.gt(0.0)),
            };
            let stats = (ap.mean(Kind::Float), an.mean(Kind::Float), triplet_margin.mean(Kind::Float));
            let kept = keep.nonzero().select(1, 0);
            let tuples = Tuples::Triplets { a: a.index_select(0, &kept), p: p.index_select(0, &kept), n: n.index_select(0, &kept) };
            (tuples, stats)
        });
        let count = match tuples.counts() {
            TupleCounts::Triplets(count) => count,
            TupleCounts::Pairs { .. } => 0,
        };
        self.stats = Some((stats.0, stats.1, stats.2, count));
        Ok(tuples)
    }
}
