//! Distances between embeddings (PML's `distances`): a matrix between a query set and a
//! reference set, and the distance of row-aligned pairs. Similarities (cosine, dot product) are
//! *inverted*: larger means closer. Losses and miners stay correct with either kind through
//! [`margin`], [`smallest`] and `is_inverted`.

mod batched;
mod dot_product;
mod lp;
mod snr;

pub use batched::BatchedDistance;
pub use dot_product::{CosineSimilarity, DotProductSimilarity};
pub use lp::{LpDistance, NegativeLpDistance};
pub use snr::{SNRDistance, SnrDistance};

use crate::component::Record;
use tch::{Kind, Tensor};

/// A distance or similarity between embeddings.
pub trait Distance: Send + std::fmt::Debug {
    /// The (queries, references) matrix, after the optional normalisation and `power`.
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor;
    /// The distance of each row of `x` to the same row of `y`, on the rows as given: as PML's
    /// `pairwise_distance`, neither normalisation nor `power` applies.
    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor;
    /// The matrix's entries at `(rows[i], columns[i])`, as `matrix(query, reference)` would
    /// give them; distances that can compute an entry alone do so when the entries are
    /// [`few`] (a handful of mined tuples in a large batch), and skip the rest of the matrix
    /// and its backward pass.
    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        gather_pairs(&self.matrix(query, reference), rows, columns)
    }
    /// Whether `entries` of the (queries x references) matrix, each computed on its own with its
    /// gradient, cost less than the backward pass through the whole matrix: for distances from
    /// a matrix product, when there are fewer than a 64th of the entries (the break-even
    /// measured at width 128, batches 256 and 1024).
    fn few_pairs(&self, entries: i64, queries: i64, references: i64) -> bool {
        entries * 64 <= queries * references
    }
    /// Whether larger values mean closer (similarities).
    fn is_inverted(&self) -> bool;
    /// A copy, so that a loss can own a distance it changes (DAML's negated one).
    fn clone_box(&self) -> Box<dyn Distance>;
    /// PML's `record_these`: `p`, `power`.
    fn records(&self) -> Vec<Record>;
}

impl Clone for Box<dyn Distance> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A distance chosen at run time (by name, from an experiment file) goes wherever a distance
/// does.
impl Distance for Box<dyn Distance> {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        (**self).matrix(query, reference)
    }
    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        (**self).pairwise(x, y)
    }
    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        (**self).entries(query, reference, rows, columns)
    }
    fn few_pairs(&self, entries: i64, queries: i64, references: i64) -> bool {
        (**self).few_pairs(entries, queries, references)
    }
    fn is_inverted(&self) -> bool {
        (**self).is_inverted()
    }
    fn clone_box(&self) -> Box<dyn Distance> {
        (**self).clone_box()
    }
    fn records(&self) -> Vec<Record> {
        (**self).records()
    }
}

/// How far `x` is beyond `y` in the "further apart" direction: `x - y` for distances, `y - x`
/// for similarities (PML's `distance.margin`).
pub fn margin(distance: &dyn Distance, x: &Tensor, y: &Tensor) -> Tensor {
    if distance.is_inverted() { y - x } else { x - y }
}

/// The element-wise closer of two distances: the minimum, or the maximum for similarities.
pub fn smallest(distance: &dyn Distance, x: &Tensor, y: &Tensor) -> Tensor {
    if distance.is_inverted() { x.maximum(y) } else { x.minimum(y) }
}

/// The entries of `matrix` at `(rows[i], columns[i])`.
pub(crate) fn gather_pairs(matrix: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
    let width = matrix.size()[1];
    matrix.reshape([-1]).index_select(0, &(rows * width + columns))
}

/// Whether `entries` of a (queries x references) matrix are few enough to compute one by one:
/// per entry that costs a gather and a reduction over the width, forward and backward, about
/// sixteen times what a matrix product spends on one.
pub fn few(entries: i64, queries: i64, references: i64) -> bool {
    entries * 16 <= queries * references
}

/// Options every distance shares (PML's `BaseDistance`), and the statistics of its last call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Common {
    pub normalize_embeddings: bool,
    pub p: f64,
    pub power: f64,
    stats: NormStats,
}

/// PML's `initial_avg_query_norm`, `initial_avg_ref_norm`, `final_avg_query_norm` and
/// `final_avg_ref_norm` of the last call (the mean `p`-norm of the rows before and after
/// normalisation): the call keeps its query and reference rows (detached views, no copy), and
/// a record computes them. A copy of a distance starts without; they never make two distances
/// differ.
#[derive(Debug, Default)]
struct NormStats(std::sync::Mutex<Option<(Tensor, Tensor)>>);

impl Clone for NormStats {
    fn clone(&self) -> Self {
        NormStats::default()
    }
}

impl PartialEq for NormStats {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

const NORM_STATS: [&str; 4] = ["initial_avg_query_norm", "initial_avg_ref_norm", "final_avg_query_norm", "final_avg_ref_norm"];

impl Common {
    pub fn new() -> Common {
        Common { normalize_embeddings: true, p: 2.0, power: 1.0, stats: NormStats::default() }
    }

    /// Rows scaled to unit `p`-norm (`F.normalize`, eps 1e-12) when normalisation is on.
    pub fn maybe_normalize(&self, x: &Tensor) -> Tensor {
        if !self.normalize_embeddings {
            return x.shallow_clone();
        }
        let norm = x.norm_scalaropt_dim(self.p, [1i64].as_slice(), true).clamp_min(1e-12);
        x / norm
    }

    /// Both sides normalised, once when they are the same tensor (a loss comparing a batch
    /// with itself), which halves the normalisation work of most calls; both kept for the
    /// norm statistics.
    pub fn maybe_normalize_both(&self, query: &Tensor, reference: &Tensor) -> (Tensor, Tensor) {
        let q = self.maybe_normalize(query);
        let same = query.data_ptr() == reference.data_ptr() && query.size() == reference.size() && query.stride() == reference.stride() && query.kind() == reference.kind();
        let r = if same { q.shallow_clone() } else { self.maybe_normalize(reference) };
        if let Ok(mut stats) = self.stats.0.lock() {
            *stats = Some((query.detach(), reference.detach()));
        }
        (q, r)
    }

    /// The mean norm of the rows before and after normalisation: a row's norm after is its
    /// norm over the divisor normalisation used (1, or 0 for a zero row).
    fn mean_norms(&self, x: &Tensor) -> (f64, f64) {
        let norm = x.norm_scalaropt_dim(self.p, [1i64].as_slice(), false).to_kind(Kind::Double);
        let before = norm.mean(Kind::Double).double_value(&[]);
        let after = if self.normalize_embeddings { (&norm / norm.clamp_min(1e-12)).mean(Kind::Double).double_value(&[]) } else { before };
        (before, after)
    }

    /// The normalised query rows and reference rows of each entry.
    pub fn entry_rows(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> (Tensor, Tensor) {
        let (q, r) = self.maybe_normalize_both(query, reference);
        (q.index_select(0, rows), r.index_select(0, columns))
    }

    pub fn maybe_power(&self, matrix: Tensor) -> Tensor {
        if self.power == 1.0 { matrix } else { matrix.pow_tensor_scalar(self.power) }
    }

    pub fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "p", value: self.p }, Record { name: "power", value: self.power }];
        let last = self.stats.0.lock().ok().and_then(|last| last.as_ref().map(|(q, r)| (q.shallow_clone(), r.shallow_clone())));
        if let Some((query, reference)) = last {
            let ((query_before, query_after), (reference_before, reference_after)) = tch::no_grad(|| (self.mean_norms(&query), self.mean_norms(&reference)));
            let values = [query_before, reference_before, query_after, reference_after];
            records.extend(NORM_STATS.iter().zip(values).map(|(&name, value)| Record { name, value }));
        }
        records
    }
}

/// Builder methods every distance shares.
macro_rules! common_options {
    ($ty:ty) => {
        impl $ty {
            /// Whether rows are scaled to unit norm first.
            pub fn normalize_embeddings(mut self, on: bool) -> Self {
                self.common.normalize_embeddings = on;
                self
            }
            /// Raises every distance to this power.
            pub fn power(mut self, power: f64) -> Self {
                self.common.power = power;
                self
            }
        }
    };
}
pub(crate) use common_options;

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Tensor {
        Tensor::from_slice(&[3.0f32, 4.0, 0.0, 2.0]).reshape([2, 2])
    }

    #[test]
    fn hand_computed_matrices() {
        let x = points();
        let lp = LpDistance::new().normalize_embeddings(false).matrix(&x, &x);
        assert!((lp.double_value(&[0, 1]) - (9.0f64 + 4.0).sqrt()).abs() < 1e-5);
        let cosine = CosineSimilarity::new().matrix(&x, &x);
        assert!((cosine.double_value(&[0, 1]) - 0.8).abs() < 1e-6);
        let dot = DotProductSimilarity::new().normalize_embeddings(false).matrix(&x, &x);
        assert!((dot.double_value(&[0, 1]) - 8.0).abs() < 1e-5);
        let squared = LpDistance::new().normalize_embeddings(false).power(2.0).matrix(&x, &x);
        assert!((squared.double_value(&[0, 1]) - 13.0).abs() < 1e-4);
        assert!(CosineSimilarity::new().is_inverted() && !LpDistance::new().is_inverted());
    }

    #[test]
    fn entries_computed_pair_by_pair_are_the_matrix_entries() {
        let (query, reference) = (Tensor::randn([40, 8], (tch::Kind::Float, tch::Device::Cpu)), Tensor::randn([30, 8], (tch::Kind::Float, tch::Device::Cpu)));
        let rows = Tensor::from_slice(&[0i64, 3, 39, 3]);
        let columns = Tensor::from_slice(&[29i64, 0, 7, 0]);
        assert!(few(4, 40, 30));
        let distances: Vec<Box<dyn Distance>> = vec![
            Box::new(LpDistance::new()),
            Box::new(LpDistance::new().normalize_embeddings(false).p(1.0).power(2.0)),
            Box::new(LpDistance::new().power(2.0)),
            Box::new(CosineSimilarity::new()),
            Box::new(DotProductSimilarity::new().normalize_embeddings(false)),
            Box::new(NegativeLpDistance::new()),
            Box::new(SnrDistance::new()),
        ];
        for distance in distances {
            let alone = distance.entries(&query, &reference, &rows, &columns);
            let from_matrix = gather_pairs(&distance.matrix(&query, &reference), &rows, &columns);
            let gap = ((&alone - &from_matrix).abs() / from_matrix.abs().clamp_min(1.0)).max().double_value(&[]);
            assert!(gap < 1e-5, "{distance:?}: {alone} vs {from_matrix}");
        }
    }

    #[test]
    fn a_call_records_the_mean_norms_before_and_after_normalisation() {
        let query = Tensor::from_slice(&[3.0f32, 4.0, 0.0, 0.0]).reshape([2, 2]);
        let reference = Tensor::from_slice(&[0.0f32, 2.0]).reshape([1, 2]);
        let value = |distance: &dyn Distance, name: &str| distance.records().iter().find(|r| r.name == name).map(|r| r.value);
        let distance = LpDistance::new();
        assert_eq!(value(&distance, "initial_avg_query_norm"), None, "nothing before a call");
        let _ = distance.matrix(&query, &reference);
        // Norms 5 and 0 (a zero row stays zero), then 1 and 0; the reference 2, then 1.
        let stats: Vec<Option<f64>> = NORM_STATS.iter().map(|name| value(&distance, name)).collect();
        assert_eq!(stats, vec![Some(2.5), Some(2.0), Some(0.5), Some(1.0)]);
        let raw = DotProductSimilarity::new().normalize_embeddings(false);
        let _ = raw.matrix(&query, &query);
        let stats: Vec<Option<f64>> = NORM_STATS.iter().map(|name| value(&raw, name)).collect();
        assert_eq!(stats, vec![Some(2.5); 4], "without normalisation the norms stay");
    }
}
