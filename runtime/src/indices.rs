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
        let (pos, neg) = (positive.nonzero(), negative.nonzero());
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
    /// share the anchor, ordered by anchor, then positive, then negative, as PML orders them.
    /// `rows` and `columns` are the numbers of queries and references the indices point into.
    pub fn to_triplets(&self, rows: i64, columns: i64) -> (Tensor, Tensor, Tensor) {
        match self {
            Tuples::Triplets { a, p, n } => (a.shallow_clone(), p.shallow_clone(), n.shallow_clone()),
            Tuples::Pairs { a1, p, a2, n } => {
                // Each positive pair meets every negative pair of its anchor: gather the anchors'
                // rows of the negative mask, (positive pairs x references), rather than compare
                // every positive pair with every negative pair as PML does. Same triplets, same
                // order when the negative pairs are row-major, as mined pairs are.
                let negative = pair_mask(a2, n, rows, columns);
                triplets_from_positive_pairs(a1, p, &negative)
            }
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
