use super::{common_options, Common, Distance};
use crate::component::Record;
use tch::{Kind, Tensor};

/// The `p`-norm distance, on L2-normalised embeddings by default (PML's `LpDistance()`).
#[derive(Clone, Debug)]
pub struct LpDistance {
    common: Common,
}

impl Default for LpDistance {
    fn default() -> Self {
        LpDistance::new()
    }
}

impl LpDistance {
    /// Euclidean distance between L2-normalised rows.
    pub fn new() -> LpDistance {
        LpDistance { common: Common::new() }
    }
    /// The norm, for the distance and for normalisation.
    pub fn p(mut self, p: f64) -> Self {
        self.common.p = p;
        self
    }
}

common_options!(LpDistance);

/// `|q|^2 + |r|^2 - 2 q.r`, what `cdist` squares its root of (clamped at zero): the squared
/// distance without the root and the square, forward and backward.
fn squared_euclidean(q: &Tensor, r: &Tensor) -> Tensor {
    let squared_norms = |x: &Tensor| x.square().sum_dim_intlist(1i64, true, None::<Kind>);
    let q_norms = squared_norms(q);
    let r_norms = if q.data_ptr() == r.data_ptr() && q.size() == r.size() { q_norms.shallow_clone() } else { squared_norms(r) };
    (q_norms + r_norms.tr()).addmm(&(q * -2.0), &r.tr()).clamp_min(0.0)
}

impl Distance for LpDistance {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        let (q, r) = self.common.maybe_normalize_both(query, reference);
        if self.common.p == 2.0 && self.common.power == 2.0 && !matches!(q.kind(), Kind::Half | Kind::BFloat16) {
            return squared_euclidean(&q, &r);
        }
        // cdist has no half-precision kernel on every device; PML falls back to pairs, we to f32.
        let matrix = if matches!(q.kind(), Kind::Half | Kind::BFloat16) {
            Tensor::cdist(&q.to_kind(Kind::Float), &r.to_kind(Kind::Float), self.common.p, None).to_kind(q.kind())
        } else {
            Tensor::cdist(&q, &r, self.common.p, None)
        };
        self.common.maybe_power(matrix)
    }

    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        if !super::few(rows.numel() as i64, query.size()[0], reference.size()[0]) {
            return super::gather_pairs(&self.matrix(query, reference), rows, columns);
        }
        let (q, r) = self.common.entry_rows(query, reference, rows, columns);
        let kind = q.kind();
        // As `cdist` computes a small matrix; in f32 for half precision, as `matrix` does.
        let (q, r) = if matches!(kind, Kind::Half | Kind::BFloat16) { (q.to_kind(Kind::Float), r.to_kind(Kind::Float)) } else { (q, r) };
        let distances = (q - r).norm_scalaropt_dim(self.common.p, [1i64].as_slice(), false).to_kind(kind);
        self.common.maybe_power(distances)
    }

    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        Tensor::pairwise_distance(x, y, self.common.p, 1e-6, false)
    }

    fn is_inverted(&self) -> bool {
        false
    }

    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }

    fn records(&self) -> Vec<Record> {
        self.common.records()
    }
}

/// The negated Euclidean distance on normalised embeddings, not inverted: what
/// DeepAdversarialMetricLearning's generator loss measures with, so that a triplet loss with a
/// negated margin rewards a synthetic negative closer to the anchor than the positive (PML's
/// `NegativeLpDistance`).
#[derive(Clone, Debug, Default)]
pub struct NegativeLpDistance {
    inner: LpDistance,
}

impl NegativeLpDistance {
    /// `-LpDistance()`.
    pub fn new() -> NegativeLpDistance {
        NegativeLpDistance { inner: LpDistance::new() }
    }
}

impl Distance for NegativeLpDistance {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        -self.inner.matrix(query, reference)
    }

    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        -self.inner.entries(query, reference, rows, columns)
    }

    fn few_pairs(&self, entries: i64, queries: i64, references: i64) -> bool {
        self.inner.few_pairs(entries, queries, references)
    }

    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        -self.inner.pairwise(x, y)
    }

    fn is_inverted(&self) -> bool {
        false
    }

    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }

    fn records(&self) -> Vec<Record> {
        self.inner.records()
    }
}
