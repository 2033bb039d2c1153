//! Mined tuples and the index helpers that build and convert them (PML's
//! `loss_and_miner_utils`), with and without reference embeddings.

use tch::{Kind, Tensor};

/// Tuples of indices a miner selects and a loss consumes. With reference embeddings, anchors
/// index the queries and positives and negatives index the references.
#[derive(Debug)]
pub enum Tuples {
    /// Positive pairs `(a1[i], p[i])` and negative pairs `(a2[j], n[j])`.
    Pairs {
        /// Anchors of positive pairs.
        a1: Tensor,
        /// Positives.
        p: Tensor,
        /// Anchors of negative pairs.
        a2: Tensor,
        /// Negatives.
        n: Tensor,
    },
    /// Triplets `(a[i], p[i], n[i])`.
    Triplets {
        /// Anchors.
        a: Tensor,
        /// Positives.
        p: Tensor,
        /// Negatives.
        n: Tensor,
    },
}

impl Tuples {
    /// Pairs from a 2-column `nonzero` result of positive and of negative masks.
    pub(crate) fn from_masks(positive: &Tensor, negative: &Tensor) -> Tuples {
        Tuples::from_pair_lists(&positive.nonzero(), &negative.nonzero())
    }

    /// [`Tuples::from_masks`] with the masks' counts known, so that the lists are sized
    /// without waiting for the device.
    pub(crate) fn from_counted_masks(positive: &Tensor, negative: &Tensor, positives: i64, negatives: i64) -> Tuples {
        Tuples::from_pair_lists(&positive.nonzero_static(positives, -1), &negative.nonzero_static(negatives, -1))
    }

    /// Pairs from (pairs, 2) lists of `(anchor, other)`.
    fn from_pair_lists(pos: &Tensor, neg: &Tensor) -> Tuples {
        Tuples::Pairs { a1: pos.select(1, 0), p: pos.select(1, 1), a2: neg.select(1, 0), n: neg.select(1, 1) }
    }

    /// The tuple as pairs: triplets give `(a, p)` and `(a, n)` (PML's `convert_to_pairs`).
    pub fn to_pairs(&self) -> (Tensor, Tensor, Tensor, Tensor) {
        match self {
            Tuples::Pairs { a1, p, a2, n } => (a1.shallow_clone(), p.shallow_clone(), a2.shallow_clone(), n.shallow_clone()),
            Tuples::Triplets { a, p, n } => (a.shallow_clone(), p.shallow_clone(), a.shallow_clone(), n.shallow_clone()),
        }
    }

    /// The tuple as triplets: pairs become every `(a, p, n)` whose positive and negative pair
    /// share the anchor, ordered by positive pair, then negative pair, as PML orders them.
    /// `rows` and `columns` are the numbers of queries and references the indices point into.
    pub fn to_triplets(&self, rows: i64, columns: i64) -> (Tensor, Tensor, Tensor) {
        match self {
            Tuples::Triplets { a, p, n } => (a.shallow_clone(), p.shallow_clone(), n.shallow_clone()),
            Tuples::Pairs { a1, p, a2, n } => match triplet_pairs(a1, a2, rows, columns) {
                Some((positive_pair, negative_pair)) => (a1.index_select(0, &positive_pair), p.index_select(0, &positive_pair), n.index_select(0, &negative_pair)),
                None => dense_triplets(a1, p, a2, n, rows, columns),
            },
        }
    }

    /// How many tuples there are.
    pub fn counts(&self) -> TupleCounts {
        match self {
            Tuples::Pairs { a1, a2, .. } => TupleCounts::Pairs { positive: a1.numel(), negative: a2.numel() },
            Tuples::Triplets { a, .. } => TupleCounts::Triplets(a.numel()),
        }
    }
}

/// How many tuples a miner returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TupleCounts {
    /// `num_pos_pairs`, `num_neg_pairs`.
    Pairs {
        /// Positive pairs.
        positive: usize,
        /// Negative pairs.
        negative: usize,
    },
    /// `num_triplets`.
    Triplets(usize),
}

/// A (rows, columns) mask that is true at every `(row_index[i], column_index[i])`.
pub fn pair_mask(row_index: &Tensor, column_index: &Tensor, rows: i64, columns: i64) -> Tensor {
    let mask = Tensor::zeros([rows * columns], (Kind::Bool, row_index.device()));
    mask.index_fill(0, &(row_index * columns + column_index), 1).reshape([rows, columns])
}

/// A (labels, classes) matrix of `kind` that is one at each row's label and zero elsewhere,
/// written as that kind directly (torch's `one_hot` writes 64-bit integers, a second pass to
/// convert).
pub(crate) fn one_hot(labels: &Tensor, classes: i64, kind: Kind) -> Tensor {
    Tensor::zeros([labels.size()[0], classes], (kind, labels.device())).scatter_value(1, &labels.unsqueeze(1), 1)
}

/// Masks of positive pairs (same label) and negative pairs (different labels) between queries
/// and references. Without references the queries are their own references and a sample is
/// not its own positive; with them, it is (PML removes the diagonal only for the same object).
pub fn pair_masks(labels: &Tensor, ref_labels: Option<&Tensor>) -> (Tensor, Tensor) {
    let reference = ref_labels.unwrap_or(labels);
    let mut positive = labels.unsqueeze(1).eq_tensor(&reference.unsqueeze(0));
    let negative = positive.logical_not();
    if ref_labels.is_none() {
        let _ = positive.fill_diagonal_(0, false);
    }
    (positive, negative)
}

/// Drops each positive pair of a query with its own row among the references, query `i`'s
/// being row `(start + i) % references` (PML's `remove_self_comparisons`): a queue that holds
/// the batch it was just given, or a global batch that holds this process's rows.
pub(crate) fn without_self_comparisons(tuples: Tuples, start: i64, references: i64) -> Tuples {
    let keep = |a: &Tensor, p: &Tensor| (a + start).remainder(references).ne_tensor(p).nonzero().select(1, 0);
    match tuples {
        Tuples::Pairs { a1, p, a2, n } => {
            let kept = keep(&a1, &p);
            Tuples::Pairs { a1: a1.index_select(0, &kept), p: p.index_select(0, &kept), a2, n }
        }
        Tuples::Triplets { a, p, n } => {
            let kept = keep(&a, &p);
            Tuples::Triplets { a: a.index_select(0, &kept), p: p.index_select(0, &kept), n: n.index_select(0, &kept) }
        }
    }
}

/// Every positive and negative pair, row-major (PML's `get_all_pairs_indices`).
pub fn all_pairs(labels: &Tensor, ref_labels: Option<&Tensor>) -> Tuples {
    let (positive, negative) = pair_masks(labels, ref_labels);
    Tuples::from_masks(&positive, &negative)
}

/// Every triplet `(a, p, n)`: `p` shares `a`'s label, `n` does not (PML's `get_all_triplets_indices`).
pub fn all_triplets(labels: &Tensor, ref_labels: Option<&Tensor>) -> Tuples {
    let (positive, negative) = pair_masks(labels, ref_labels);
    let pairs = positive.nonzero();
    let (a, p, n) = triplets_from_positive_pairs(&pairs.select(1, 0), &pairs.select(1, 1), &negative);
    Tuples::Triplets { a, p, n }
}

/// The triplets of positive pairs `(a1, p)` and negative pairs `(a2, n)` from the anchors' rows
/// of the negative pairs' mask: for many triplets per positive pair (see [`triplet_pairs`]).
pub(crate) fn dense_triplets(a1: &Tensor, p: &Tensor, a2: &Tensor, n: &Tensor, rows: i64, columns: i64) -> (Tensor, Tensor, Tensor) {
    triplets_from_positive_pairs(a1, p, &pair_mask(a2, n, rows, columns))
}

/// `(a, p, n)` for every positive pair `(a, p)` and every `n` the negative mask allows for `a`,
/// ordered by pair, then negative. Costs (pairs x references), not PML's (rows x refs x refs)
/// cube.
fn triplets_from_positive_pairs(a: &Tensor, p: &Tensor, negative: &Tensor) -> (Tensor, Tensor, Tensor) {
    if a.numel() == 0 {
        let empty = Tensor::zeros([0], (Kind::Int64, a.device()));
        return (empty.shallow_clone(), empty.shallow_clone(), empty);
    }
    let per_pair = negative.index_select(0, a).nonzero();
    let (pair, n) = (per_pair.select(1, 0), per_pair.select(1, 1));
    (a.index_select(0, &pair), p.index_select(0, &pair), n.contiguous())
}

/// The triplets that positive pairs `(a1, _)` and negative pairs `(a2, _)` make, as indices
/// into the two lists: each positive pair meets every negative pair of its anchor, ordered by
/// positive pair, then negative pair, as PML's `convert_to_triplets` orders them. Counts and
/// offsets per anchor cost O(pairs + triplets), where PML compares every positive pair with every
/// negative pair. `None` when the triplets are so many that gathering the anchors' rows of the
/// negative mask and taking its `nonzero`, O(positive pairs x columns) but a few times cheaper
/// per element, costs less ([`triplets_from_positive_pairs`]).
pub(crate) fn triplet_pairs(a1: &Tensor, a2: &Tensor, rows: i64, columns: i64) -> Option<(Tensor, Tensor)> {
    triplet_pairs_reading(a1, a2, rows, columns, |counts| Ok(Vec::<i64>::try_from(Tensor::stack(counts, 0)).unwrap_or_default())).unwrap_or(None)
}

/// [`triplet_pairs`], reading its two counts from the device with `read` (a loss's one
/// transfer per call).
pub(crate) fn triplet_pairs_reading(a1: &Tensor, a2: &Tensor, rows: i64, columns: i64, read: impl FnOnce(&[Tensor]) -> crate::Result<Vec<i64>>) -> crate::Result<Option<(Tensor, Tensor)>> {
    let device = a1.device();
    if a1.numel() == 0 || a2.numel() == 0 {
        let empty = Tensor::zeros([0], (Kind::Int64, device));
        return Ok(Some((empty.shallow_clone(), empty)));
    }
    // Not `bincount`, which reads the largest index from the device to size its output.
    // Clamped into the batch until `read` has checked the indices (a loss reads their range
    // with these counts): an index outside it must be an error, not a fault before the read.
    let (a1_clamped, a2_clamped) = (a1.clamp(0, rows - 1), a2.clamp(0, rows - 1));
    let per_anchor = Tensor::zeros([rows], (Kind::Int64, device)).index_add(0, &a2_clamped, &a2.ones_like());
    let per_positive = per_anchor.index_select(0, &a1_clamped);
    // The triplet count and whether the negative pairs are grouped by anchor (a miner's are:
    // `nonzero` is row-major), read in one transfer.
    let n = a2.numel() as i64;
    let descents = a2.narrow(0, 1, n - 1).lt_tensor(&a2.narrow(0, 0, n - 1)).sum(Kind::Int64);
    let read = read(&[per_positive.sum(Kind::Int64), descents])?;
    let [triplets, descents] = read[..] else { return Ok(None) };
    if triplets * 4 > a1.numel() as i64 * columns {
        return Ok(None);
    }
    // The negative pairs grouped by anchor, keeping their order within an anchor.
    let order = (descents > 0).then(|| a2.argsort_stable(true, 0, false));
    let first_of_anchor = per_anchor.cumsum(0, Kind::Int64) - &per_anchor;
    let positive_pair = Tensor::repeat_interleave(&per_positive, Some(triplets));
    let first_of_pair = (per_positive.cumsum(0, Kind::Int64) - &per_positive).index_select(0, &positive_pair);
    let rank = Tensor::arange(triplets, (Kind::Int64, device)) - first_of_pair;
    let grouped = first_of_anchor.index_select(0, &a1.index_select(0, &positive_pair)) + rank;
    let negative_pair = match order {
        Some(order) => order.index_select(0, &grouped),
        None => grouped,
    };
    Ok(Some((positive_pair, negative_pair)))
}

/// `per_anchor` random triplets for every anchor that has a positive and a negative: the
/// positive drawn uniformly from the anchor's positives and the negative from its negatives,
/// both with replacement (PML's `get_random_triplet_indices`; the draws differ from PML's).
pub fn random_triplets(labels: &Tensor, ref_labels: Option<&Tensor>, per_anchor: i64) -> Tuples {
    let (positive, negative) = pair_masks(labels, ref_labels);
    let has_both = positive.any_dim(1, false).logical_and(&negative.any_dim(1, false));
    let anchors = has_both.nonzero().select(1, 0);
    if anchors.numel() == 0 || per_anchor <= 0 {
        let empty = Tensor::zeros([0], (Kind::Int64, labels.device()));
        return Tuples::Triplets { a: empty.shallow_clone(), p: empty.shallow_clone(), n: empty };
    }
    let draw = |mask: &Tensor| mask.index_select(0, &anchors).to_kind(Kind::Float).multinomial(per_anchor, true).reshape([-1]);
    let a = anchors.unsqueeze(1).expand([-1, per_anchor], false).reshape([-1]);
    Tuples::Triplets { a, p: draw(&positive), n: draw(&negative) }
}

/// A weight per sample from how often it appears in the tuples, over the most frequent one's
/// count; all ones without tuples (PML's `convert_to_weights`, for classification-style losses).
/// With reference embeddings only the anchors index the samples (`anchors_only`).
pub fn sample_weights(indices: Option<&Tuples>, samples: i64, anchors_only: bool, kind: Kind, device: tch::Device) -> Tensor {
    let all = match (indices, anchors_only) {
        (None, _) => return Tensor::ones([samples], (kind, device)),
        (Some(Tuples::Pairs { a1, a2, .. }), true) => Tensor::cat(&[a1, a2], 0),
        (Some(Tuples::Pairs { a1, p, a2, n }), false) => Tensor::cat(&[a1, p, a2, n], 0),
        (Some(Tuples::Triplets { a, .. }), true) => a.shallow_clone(),
        (Some(Tuples::Triplets { a, p, n }), false) => Tensor::cat(&[a, p, n], 0),
    };
    if all.numel() == 0 {
        return Tensor::ones([samples], (kind, device));
    }
    let counts = all.bincount::<Tensor>(None, samples).to_kind(kind);
    &counts / counts.max()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PML's way: compare every positive pair with every negative pair.
    fn brute_force(a1: &[i64], a2: &[i64]) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for (i, x) in a1.iter().enumerate() {
            for (j, y) in a2.iter().enumerate() {
                if x == y {
                    out.push((i as i64, j as i64));
                }
            }
        }
        out
    }

    #[test]
    fn triplet_pairs_match_the_all_pairs_comparison_in_order() {
        // Row-major negatives (a miner's), and shuffled ones a user could give, with an anchor
        // that has positives but no negatives (3) and one with negatives but no positives (4).
        let a1 = [0i64, 0, 1, 3, 2, 0];
        for a2 in [vec![0i64, 0, 1, 2, 2, 2, 4], vec![2i64, 0, 4, 1, 2, 0, 2]] {
            let (pp, np) = triplet_pairs(&Tensor::from_slice(&a1), &Tensor::from_slice(&a2), 5, 100).expect("few triplets");
            let ours: Vec<(i64, i64)> = Vec::<i64>::try_from(&pp).unwrap().into_iter().zip(Vec::<i64>::try_from(&np).unwrap()).collect();
            assert_eq!(ours, brute_force(&a1, &a2), "negative anchors {a2:?}");
        }
        let (pp, _) = triplet_pairs(&Tensor::from_slice(&a1), &Tensor::from_slice(&[4i64]), 5, 100).expect("few triplets");
        assert_eq!(pp.numel(), 0);
    }

    #[test]
    fn many_triplets_take_the_mask_path_with_the_same_result() {
        let t = |v: &[i64]| Tensor::from_slice(v);
        let v = |x: Tensor| Vec::<i64>::try_from(x).unwrap();
        let pairs = Tuples::Pairs { a1: t(&[0, 0, 1, 3, 2, 0]), p: t(&[1, 2, 0, 4, 3, 4]), a2: t(&[0, 0, 1, 2, 2, 2, 4]), n: t(&[3, 4, 2, 0, 1, 4, 0]) };
        let Tuples::Pairs { a1, a2, .. } = &pairs else { unreachable!() };
        // 10 triplets: against 6 positive pairs x 5 columns the mask is cheaper; against 100, not.
        assert!(triplet_pairs(a1, a2, 5, 5).is_none() && triplet_pairs(a1, a2, 5, 100).is_some());
        let (dense, sparse) = (pairs.to_triplets(5, 5), pairs.to_triplets(5, 100));
        assert_eq!((v(dense.0), v(dense.1), v(dense.2)), (v(sparse.0), v(sparse.1), v(sparse.2)));
    }
}
