use super::{check_embeddings, MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// VICReg (Bardes, Ponce and LeCun, 2022): for two views of one batch, row `i` of each a pair,
/// `λ·invariance + μ·(variance(Z) + variance(Z')) + ν·(covariance(Z) + covariance(Z'))`
/// (PML's `VICRegLoss`). Invariance is each pair's mean squared difference; variance, per
/// dimension, how far the standard deviation `sqrt(var + eps)` falls short of 1 (halved, to
/// average the two views); covariance, the squared off-diagonal covariances over the width.
///
/// Labels play no part and mined tuples are refused, as in PML. Through [`MetricLoss`] the
/// second view is the [`Reference`] (required; its labels are ignored); [`VICRegLoss::compute_pair`]
/// takes the two views directly. The reducers see each row as its own label.
#[derive(Debug)]
pub struct VICRegLoss {
    invariance_lambda: f64,
    variance_mu: f64,
    covariance_v: f64,
    eps: f64,
    reducer: Box<dyn Reducer>,
}

impl Default for VICRegLoss {
    fn default() -> Self {
        VICRegLoss::new()
    }
}

impl VICRegLoss {
    /// PML's defaults: λ = 25, μ = 25, ν = 1, eps 1e-4.
    pub fn new() -> VICRegLoss {
        VICRegLoss { invariance_lambda: 25.0, variance_mu: 25.0, covariance_v: 1.0, eps: 1e-4, reducer: Box::new(MeanReducer) }
    }

    /// λ, the weight of the invariance term.
    pub fn invariance_lambda(mut self, invariance_lambda: f64) -> Self {
        self.invariance_lambda = invariance_lambda;
        self
    }

    /// μ, the weight of the variance terms.
    pub fn variance_mu(mut self, variance_mu: f64) -> Self {
        self.variance_mu = variance_mu;
        self
    }

    /// ν, the weight of the covariance terms.
    pub fn covariance_v(mut self, covariance_v: f64) -> Self {
        self.covariance_v = covariance_v;
        self
    }

    /// Added to each variance before its square root, so that a collapsed dimension still has
    /// a gradient.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// How the per-pair and per-dimension values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// The loss of two views, row `i` of `embeddings` paired with row `i` of `ref_emb`.
    ///
    /// # Errors
    /// When the two are not 2-D of one shape with at least 2 rows (a variance needs two), or
    /// contain NaN.
    pub fn compute_pair(&mut self, embeddings: &Tensor, ref_emb: &Tensor) -> Result<Tensor> {
        let (e, r) = (embeddings.size(), ref_emb.size());
        if e.len() != 2 || e != r {
            return Err(Error::data(format!(
                "VICRegLoss: embeddings and ref_emb must be 2-D of one shape (row i of each a pair), found {e:?} and {r:?}"
            )));
        }
        let (rows, width) = (e[0], e[1]);
        if rows < 2 {
            // PML divides by rows - 1 and returns NaN.
            return Err(Error::data(format!("VICRegLoss: the variance and covariance need at least 2 rows, found {rows}")));
        }
        let own_labels = Tensor::arange(rows, (Kind::Int64, embeddings.device()));
        check_embeddings("VICRegLoss", embeddings, &own_labels)?;
        check_embeddings("VICRegLoss (ref_emb)", ref_emb, &own_labels)?;
        let ref_emb = ref_emb.to_device(embeddings.device()).to_kind(embeddings.kind());

        let invariance = (embeddings - &ref_emb).square().mean_dim(1i64, false, None::<Kind>) * self.invariance_lambda;
        let dimensions = Tensor::arange(width, (Kind::Int64, embeddings.device()));
        let variance = |x: &Tensor| -> Tensor {
            let deviation: Tensor = (x.var_dim(0i64, true, false) + self.eps).sqrt();
            deviation.neg().g_add_scalar(1.0).relu() * (self.variance_mu / 2.0)
        };
        let off_diagonal = Tensor::eye(width, (embeddings.kind(), embeddings.device())).neg().g_add_scalar(1.0);
        let covariance = |x: &Tensor| {
            let centred = x - x.mean_dim(0i64, true, None::<Kind>);
            let matrix = centred.transpose(0, 1).matmul(&centred) / (rows - 1) as f64;
            (matrix * &off_diagonal).square().sum(x.kind()) / width as f64
        };
        let parts = vec![
            SubLoss::new("invariance_loss", invariance, Reduction::Element).indices(LossIndices::Elements(own_labels.shallow_clone())),
            SubLoss::new("variance_loss1", variance(embeddings), Reduction::Element).indices(LossIndices::Elements(dimensions.shallow_clone())),
            SubLoss::new("variance_loss2", variance(&ref_emb), Reduction::Element).indices(LossIndices::Elements(dimensions)),
            SubLoss::new("covariance_loss", (covariance(embeddings) + covariance(&ref_emb)) * self.covariance_v, Reduction::AlreadyReduced),
        ];
        reduce(self.reducer.as_mut(), parts, embeddings, &own_labels)
    }
}

impl Component for VICRegLoss {
    fn records(&self) -> Vec<Record> {
        self.reducer.records()
    }
}

impl MetricLoss for VICRegLoss {
    /// The loss of `embeddings` against the reference embeddings, their second view; `labels`
    /// are only checked for length.
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config("VICRegLoss takes no mined tuples (PML refuses them too): use it without a tuple miner"));
        }
        let Some(reference) = reference else {
            return Err(Error::data(
                "VICRegLoss needs the second view as reference embeddings (ref_emb, row i of each a pair); none were given",
            ));
        };
        check_embeddings("VICRegLoss", embeddings, labels)?;
        self.compute_pair(embeddings, reference.embeddings)
    }
}
