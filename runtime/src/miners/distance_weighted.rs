use super::TupleMiner;
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Distance-weighted sampling (Wu et al., 2017): for each anchor, as many triplets as its class
/// has samples; the positive uniform among its positives, the negative drawn with weights that
/// undo the concentration of distances in high dimensions, within `nonzero_loss_cutoff` (PML's
/// `DistanceWeightedMiner`, on L2-normalised embeddings). Random: matches PML in distribution.
#[derive(Debug)]
pub struct DistanceWeightedMiner {
    cutoff: f64,
    nonzero_loss_cutoff: f64,
    distance: LpDistance,
    last: Option<TupleCounts>,
}

impl Default for DistanceWeightedMiner {
    fn default() -> Self {
        DistanceWeightedMiner::new(0.5, 1.4)
    }
}

impl DistanceWeightedMiner {
    /// Distances below `cutoff` count as `cutoff`; negatives beyond `nonzero_loss_cutoff` are
    /// never drawn (PML's defaults: 0.5 and 1.4).
    pub fn new(cutoff: f64, nonzero_loss_cutoff: f64) -> DistanceWeightedMiner {
        DistanceWeightedMiner { cutoff, nonzero_loss_cutoff, distance: LpDistance::new(), last: None }
    }

    /// The negative-sampling weights per (anchor, reference), as PML computes them.
    fn weights(&self, matrix: &Tensor, negative: &Tensor, width: f64) -> Tensor {
        let d = matrix.clamp_min(self.cutoff);
        let log_weights = d.log() * (2.0 - width) - (-(d.square() * 0.25) + 1.0).log() * ((width - 3.0) / 2.0);
        let invalid = log_weights.isinf().logical_or(&log_weights.isnan());
        let mask = negative.to_kind(matrix.kind());
        let log_weights = (&log_weights * &mask).masked_fill(&invalid, 0.0);
        let max = log_weights.masked_select(&invalid.logical_not()).max();
        let weights = (log_weights - max).exp() * mask * matrix.lt(self.nonzero_loss_cutoff).to_kind(matrix.kind());
        let weights = weights.masked_fill(&invalid, 0.0);
        &weights / weights.sum_dim_intlist(1i64, true, None::<Kind>)
    }
}

impl Component for DistanceWeightedMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "cutoff", value: self.cutoff }, Record { name: "nonzero_loss_cutoff", value: self.nonzero_loss_cutoff }];
        records.extend(super::tuple_records(&self.last));
        records
    }
}

impl TupleMiner for DistanceWeightedMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        let input = LossInput::new("DistanceWeightedMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            let weights = self.weights(&matrix, &negative, embeddings.size()[1] as f64);
            // Each anchor gets as many draws as its class has references (PML's k = n_p).
            let reference_labels = input.ref_labels.as_ref().unwrap_or(&input.labels);
            let class_size = input.labels.unsqueeze(1).eq_tensor(&reference_labels.unsqueeze(0)).sum_dim_intlist(1i64, false, Kind::Int64);
            let drawable = positive.any_dim(1, false).logical_and(&weights.nan_to_num(0.0, None, None).sum_dim_intlist(1i64, false, None::<Kind>).gt(0.0));
            let anchors = drawable.nonzero().select(1, 0);
            if anchors.numel() == 0 {
                let empty = Tensor::zeros([0], (Kind::Int64, embeddings.device()));
                return Tuples::Triplets { a: empty.shallow_clone(), p: empty.shallow_clone(), n: empty };
            }
            // Draw the largest count for every anchor, then keep each anchor's own count:
            // (anchors x most draws) instead of a full row of weights per triplet.
            let repeats = class_size.index_select(0, &anchors);
            let most = repeats.max().int64_value(&[]);
            let draws = |rows: &Tensor| rows.index_select(0, &anchors).to_kind(Kind::Float).multinomial(most, true);
            let wanted = Tensor::arange(most, (Kind::Int64, embeddings.device())).unsqueeze(0).lt_tensor(&repeats.unsqueeze(1));
            let a = anchors.unsqueeze(1).expand([-1, most], false).masked_select(&wanted);
            let p = draws(&positive).masked_select(&wanted);
            let n = draws(&weights).masked_select(&wanted);
            Tuples::Triplets { a, p, n }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
