use super::{miner_distance, tuple_records, TupleMiner};
use crate::distances::{Distance, LpDistance};
use crate::indices::{pair_masks, TupleCounts, Tuples};
use crate::losses::{LossInput, Reference};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// How [`BatchEasyHardMiner`] picks one positive or one negative per anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The hardest: the furthest positive, the closest negative.
    Hard,
    /// The hardest that is still easier than the chosen pair of the other kind.
    Semihard,
    /// The easiest: the closest positive, the furthest negative.
    Easy,
    /// Every pair of that kind.
    All,
}

/// One positive and one negative per anchor by a strategy each, optionally only among
/// distances within a range (PML's `BatchEasyHardMiner`; `LpDistance()`).
#[derive(Debug)]
pub struct BatchEasyHardMiner {
    pos_strategy: Strategy,
    neg_strategy: Strategy,
    allowed_pos_range: Option<(f64, f64)>,
    allowed_neg_range: Option<(f64, f64)>,
    distance: Box<dyn Distance>,
    last: Option<TupleCounts>,
}

impl BatchEasyHardMiner {
    /// PML's defaults are `Easy` positives and `Semihard` negatives.
    ///
    /// # Errors
    /// For the combinations PML refuses: both semihard, or semihard with all.
    pub fn new(pos_strategy: Strategy, neg_strategy: Strategy) -> Result<BatchEasyHardMiner> {
        use Strategy::{All, Semihard};
        if pos_strategy == Semihard && neg_strategy == Semihard {
            return Err(Error::config("BatchEasyHardMiner: positives and negatives cannot both be semihard"));
        }
        if (pos_strategy == All && neg_strategy == Semihard) || (neg_strategy == All && pos_strategy == Semihard) {
            return Err(Error::config("BatchEasyHardMiner: semihard cannot be combined with all"));
        }
        Ok(BatchEasyHardMiner {
            pos_strategy,
            neg_strategy,
            allowed_pos_range: None,
            allowed_neg_range: None,
            distance: Box::new(LpDistance::new()),
            last: None,
        })
    }

    /// Only positives whose distance lies in `[low, high]`.
    pub fn allowed_pos_range(mut self, low: f64, high: f64) -> Self {
        self.allowed_pos_range = Some((low, high));
        self
    }

    /// Only negatives whose distance lies in `[low, high]`.
    pub fn allowed_neg_range(mut self, low: f64, high: f64) -> Self {
        self.allowed_neg_range = Some((low, high));
        self
    }

    /// Per row, the smallest (`min`) or largest entry among the allowed pairs, as PML's
    /// `get_x_per_row`: disallowed entries take the kind's extreme finite value.
    fn x_per_row(min: bool, matrix: &Tensor, allowed: &Tensor, range: Option<(f64, f64)>, thresholds: Option<&Tensor>) -> (Tensor, Tensor, Tensor) {
        let lowest = crate::losses::neg_inf(matrix.kind());
        let fill = if min { -lowest } else { lowest };
        let mut allowed = allowed.shallow_clone();
        if let Some(thresholds) = thresholds {
            let t = thresholds.unsqueeze(1);
            let excluded = if min { matrix.le_tensor(&t) } else { matrix.ge_tensor(&t) };
            allowed = allowed.logical_and(&excluded.logical_not());
        }
        if let Some((low, high)) = range {
            allowed = allowed.logical_and(&matrix.gt(high).logical_or(&matrix.lt(low)).logical_not());
        }
        let masked = matrix.where_scalarother(&allowed, fill);
        let (values, index) = if min { masked.min_dim(1, false) } else { masked.max_dim(1, false) };
        (values, index, allowed.any_dim(1, false))
    }
}

miner_distance!(BatchEasyHardMiner);

impl Component for BatchEasyHardMiner {
    fn records(&self) -> Vec<Record> {
        tuple_records(&self.last)
    }
}

impl TupleMiner for BatchEasyHardMiner {
    fn mine_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, reference: Option<Reference<'_>>) -> Result<Tuples> {
        use Strategy::{All, Easy, Hard, Semihard};
        let input = LossInput::new("BatchEasyHardMiner", embeddings, labels, None, reference)?;
        let tuples = tch::no_grad(|| {
            let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
            let rows = input.rows();
            let (positive, negative) = pair_masks(&input.labels, input.ref_labels.as_ref());
            // Every pair of a kind, for a strategy of `All`.
            let every = |mask: &Tensor| {
                let pairs = mask.nonzero();
                (pairs.select(1, 0), pairs.select(1, 1))
            };
            let inverted = self.distance.is_inverted();
            // Hard and semihard positives are the furthest; a hard negative is the closest.
            let pos_min = |s: Strategy| matches!(s, Easy) != inverted;
            let neg_min = |s: Strategy| matches!(s, Hard | Semihard) != inverted;
            let positives = |thresholds: Option<&Tensor>| Self::x_per_row(pos_min(self.pos_strategy), &matrix, &positive, self.allowed_pos_range, thresholds);
            let negatives = |thresholds: Option<&Tensor>| Self::x_per_row(neg_min(self.neg_strategy), &matrix, &negative, self.allowed_neg_range, thresholds);
            let anchors = Tensor::arange(rows, (Kind::Int64, matrix.device()));
            let (pos, neg) = match (self.pos_strategy, self.neg_strategy) {
                (Semihard, n) if n != All => {
                    let neg = negatives(None);
                    (Some(positives(Some(&neg.0))), Some(neg))
                }
                (p, Semihard) if p != All => {
                    let pos = positives(None);
                    let neg = negatives(Some(&pos.0));
                    (Some(pos), Some(neg))
                }
                (p, n) => ((p != All).then(|| positives(None)), (n != All).then(|| negatives(None))),
            };
            match (pos, neg) {
                (Some((_, p_index, p_ok)), Some((_, n_index, n_ok))) => {
                    let keep = p_ok.logical_and(&n_ok).nonzero().select(1, 0);
                    let a = anchors.index_select(0, &keep);
                    Tuples::Pairs { a1: a.shallow_clone(), p: p_index.index_select(0, &keep), a2: a, n: n_index.index_select(0, &keep) }
                }
                (None, Some((_, n_index, n_ok))) => {
                    let keep = n_ok.nonzero().select(1, 0);
                    let (a1, p) = every(&positive);
                    Tuples::Pairs { a1, p, a2: anchors.index_select(0, &keep), n: n_index.index_select(0, &keep) }
                }
                (Some((_, p_index, p_ok)), None) => {
                    let keep = p_ok.nonzero().select(1, 0);
                    let (a2, n) = every(&negative);
                    Tuples::Pairs { a1: anchors.index_select(0, &keep), p: p_index.index_select(0, &keep), a2, n }
                }
                (None, None) => Tuples::from_masks(&positive, &negative),
            }
        });
        self.last = Some(tuples.counts());
        Ok(tuples)
    }
}
