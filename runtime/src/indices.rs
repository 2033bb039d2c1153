//! Mined tuples and the index helpers that build and convert them (PML's `loss_and_miner_utils`).

use tch::{Kind, Tensor};

/// Tuples of batch indices a miner selects and a loss consumes.
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
    /// The tuple as triplets: pairs become every `(a, p, n)` whose positive and negative pair
    /// share the anchor, ordered by anchor, then positive, then negative, as PML orders them.
    /// `batch_size` is the number of embeddings the indices point into.
    pub fn to_triplets(&self, batch_size: i64) -> (Tensor, Tensor, Tensor) {
        match self {
            Tuples::Triplets { a, p, n } => (a.shallow_clone(), p.shallow_clone(), n.shallow_clone()),
            Tuples::Pairs { a1, p, a2, n } => {
                if a1.numel() == 0 || a2.numel() == 0 {
                    let empty = Tensor::zeros([0], (Kind::Int64, a1.device()));
                    return (empty.shallow_clone(), empty.shallow_clone(), empty);
                }
                // Two ways to the same set: match every positive pair against every negative
                // pair (PML's way, |P| x |N| comparisons), or intersect the pair masks in a
                // (batch, batch, batch) cube. Take the smaller; the cube treats repeated pairs
                // as one.
                let pairs_product = (a1.numel() * a2.numel()) as i64;
                if batch_size.pow(3) < pairs_product {
                    let positive = pair_mask(a1, p, batch_size);
                    let negative = pair_mask(a2, n, batch_size);
                    let triplets = positive.unsqueeze(2).logical_and(&negative.unsqueeze(1)).nonzero();
                    return (triplets.select(1, 0), triplets.select(1, 1), triplets.select(1, 2));
                }
                let same_anchor = a1.unsqueeze(1).eq_tensor(&a2.unsqueeze(0)).nonzero();
                let (pi, ni) = (same_anchor.select(1, 0), same_anchor.select(1, 1));
                (a1.index_select(0, &pi), p.index_select(0, &pi), n.index_select(0, &ni))
            }
        }
    }

    /// Counts PML records for mined tuples: positive and negative pairs, or triplets.
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

/// A (batch, batch) mask that is true at every `(rows[i], columns[i])`.
fn pair_mask(rows: &Tensor, columns: &Tensor, batch_size: i64) -> Tensor {
    let mask = Tensor::zeros([batch_size * batch_size], (Kind::Bool, rows.device()));
    mask.index_fill(0, &(rows * batch_size + columns), 1).reshape([batch_size, batch_size])
}

/// Boolean masks of positive pairs (same label, not the same sample) and negative pairs
/// (different labels) within one batch.
pub fn pair_masks(labels: &Tensor) -> (Tensor, Tensor) {
    let same = labels.unsqueeze(1).eq_tensor(&labels.unsqueeze(0));
    let diagonal = Tensor::eye(labels.size()[0], (Kind::Bool, labels.device()));
    let positive = same.logical_and(&diagonal.logical_not());
    let negative = same.logical_not();
    (positive, negative)
}

/// Every positive and negative pair of a batch, row-major.
pub fn all_pairs(labels: &Tensor) -> Tuples {
    let (positive, negative) = pair_masks(labels);
    let (pos, neg) = (positive.nonzero(), negative.nonzero());
    Tuples::Pairs { a1: pos.select(1, 0), p: pos.select(1, 1), a2: neg.select(1, 0), n: neg.select(1, 1) }
}

/// Every triplet `(a, p, n)` of a batch: `p` shares `a`'s label, `n` does not.
pub fn all_triplets(labels: &Tensor) -> Tuples {
    let (positive, negative) = pair_masks(labels);
    let valid = positive.unsqueeze(2).logical_and(&negative.unsqueeze(1)).nonzero();
    Tuples::Triplets { a: valid.select(1, 0), p: valid.select(1, 1), n: valid.select(1, 2) }
}

/// `per_anchor` random triplets for every anchor that has a positive and a negative: the
/// positive drawn uniformly from the anchor's other same-label samples and the negative from
/// the different-label ones, both with replacement (PML's `get_random_triplet_indices`).
pub fn random_triplets(labels: &Tensor, per_anchor: i64) -> Tuples {
    let (positive, negative) = pair_masks(labels);
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
