use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{all_pairs, TupleCounts, Tuples};
use crate::losses::{gather_pairs, LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Pairs spread evenly over distance: the range of positive (and of negative) distances is cut
/// into `num_bins` equal bins and each non-empty bin gives `pos_per_bin` (`neg_per_bin`) pairs
/// drawn with replacement (PML's `UniformHistogramMiner`). Random: matches PML in distribution.
#[derive(Debug)]
pub struct UniformHistogramMiner {
    num_bins: i64,
    pos_per_bin: i64,
    neg_per_bin: i64,
    distance: Box<dyn Distance>,
    last: Option<TupleCounts>,
}

impl Default for UniformHistogramMiner {
    fn default() -> Self {
        UniformHistogramMiner::new(100, 10, 10)
    }
}

impl UniformHistogramMiner {
    /// PML's defaults are 100 bins, 10 positive and 10 negative pairs per bin.
    pub fn new(num_bins: i64, pos_per_bin: i64, neg_per_bin: i64) -> UniformHistogramMiner {
        UniformHistogramMiner { num_bins: num_bins.max(1), pos_per_bin, neg_per_bin, distance: Box::new(LpDistance::new()), last: None }
    }

    /// `per_bin` draws from every non-empty bin, bin by bin; returns indices into `values`.
    fn draw(&self, values: &Tensor, per_bin: i64) -> Tensor {
        let (low, high) = (values.min(), values.max());
        let edges = Tensor::linspace(low.double_value(&[]), high.double_value(&[]), self.num_bins + 1, (values.kind(), values.device()));
        // Bin i holds [edge i, edge i+1), the last bin its right edge too.
        let bins = Tensor::bucketize(values, &edges, false, true).g_sub_scalar(1).clamp(0, self.num_bins - 1);
        let (sorted_bins, order) = bins.sort(0, false);
        let counts = sorted_bins.bincount::<Tensor>(None, self.num_bins);
        let starts = counts.cumsum(0, Kind::Int64) - &counts;
        let occupied = counts.gt(0).nonzero().select(1, 0);
        let (starts, counts) = (starts.index_select(0, &occupied), counts.index_select(0, &occupied));
        let offsets = (Tensor::rand([occupied.numel() as i64, per_bin], (Kind::Float, values.device())) * counts.unsqueeze(1).to_kind(Kind::Float))
            .floor()
            .to_kind(Kind::Int64)
            .minimum(&(counts.unsqueeze(1) - 1));
        order.index_select(0, &(starts.unsqueeze(1) + offsets).reshape([-1]))
    }
}

miner_distance!(UniformHistogramMiner);

impl Component for UniformHistogramMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "pos_per_bin", value: self.pos_per_bin as f64 }, Record { name: "neg_per_bin", value: self.neg_per_bin as f64 }];
        records.extend(tuple_records(&self.last));
        records
    }
}

impl TupleMiner for UniformHistogramMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("UniformHistogramMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let (mut a1, mut p, mut a2, mut n) = all_pairs(&input.labels, input.ref_labels.as_ref()).to_pairs();
            if a1.numel() > 0 {
                let pick = self.draw(&gather_pairs(&matrix, &a1, &p), self.pos_per_bin);
                (a1, p) = (a1.index_select(0, &pick), p.index_select(0, &pick));
            }
            if a2.numel() > 0 {
                let pick = self.draw(&gather_pairs(&matrix, &a2, &n), self.neg_per_bin);
                (a2, n) = (a2.index_select(0, &pick), n.index_select(0, &pick));
            }
            Tuples::Pairs { a1, p, a2, n }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
