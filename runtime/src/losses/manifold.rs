use super::learned_weights::{check_width, LearnedWeights};
use super::{check_embeddings, distance_and_reducer, MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// Ensemble deep manifold similarity with hard proxies (Aziere and Todorovic, 2019; PML's
/// `ManifoldLoss`): a random walk over the graph of the embeddings and `K` learned proxies
/// (similarities clamped at 0, `exp(s / 0.5)`, symmetrically normalised) gives the manifold
/// similarities `F = (1 - α)(I - α S̄)⁻¹`. Each embedding belongs to one proxy, its
/// meta-class; the intrinsic loss asks its manifold similarity to every other proxy to stay
/// `margin` below that to its own, the context loss the same of the cosines between its row
/// of `F` and the proxies' rows: `loss = intrinsic + λC · context`, each
/// `mean(log(1 + Σ exp(violation)))` over the violations of at least zero.
///
/// Labels play no part (PML refuses them; here they are only checked for length). Without
/// given meta-classes every call draws them as PML does, from libtorch's CPU generator: each
/// proxy once, the other embeddings uniformly, in a random order; so the batch needs at least
/// `K` embeddings. Mined tuples and reference embeddings are refused, as in PML. With an
/// infinite λC only the context loss counts (PML then returns `inf · context`).
#[derive(Debug)]
pub struct ManifoldLoss {
    embedding_size: i64,
    num_proxies: i64,
    lambda_c: f64,
    alpha: f64,
    margin: f64,
    proxies: LearnedWeights,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

/// The proxies, `(K, l)` from N(0, 1) as PML draws them.
fn proxies(num_proxies: i64, embedding_size: i64, device: Device) -> LearnedWeights {
    LearnedWeights::new("proxies", [num_proxies, embedding_size], Init::Randn { mean: 0.0, stdev: 1.0 }, device)
}

impl ManifoldLoss {
    /// For embeddings `embedding_size` (PML's `l`) wide, with PML's defaults: 50 proxies,
    /// λC 1, α 0.8, margin 5e-4, cosine similarity.
    pub fn new(embedding_size: i64) -> ManifoldLoss {
        ManifoldLoss {
            embedding_size,
            num_proxies: 50,
            lambda_c: 1.0,
            alpha: 0.8,
            margin: 5e-4,
            proxies: proxies(50, embedding_size, Device::cuda_if_available()),
            distance: Box::new(CosineSimilarity::new()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// The number of proxies, PML's `K`; new proxies are drawn on the current device.
    pub fn num_proxies(mut self, num_proxies: i64) -> Self {
        self.proxies = proxies(num_proxies, self.embedding_size, self.proxies.vs.device());
        self.num_proxies = num_proxies;
        self
    }

    /// λC, the weight of the context loss (0: the intrinsic loss alone; infinite: the context
    /// loss alone).
    ///
    /// # Errors
    /// When negative (or NaN), as PML.
    pub fn lambda_c(mut self, lambda_c: f64) -> Result<Self> {
        if !(lambda_c >= 0.0) {
            return Err(Error::mismatch("ManifoldLoss lambdaC", "a non-negative value", lambda_c.to_string()));
        }
        self.lambda_c = lambda_c;
        Ok(self)
    }

    /// α, how much similarity each node of the random walk passes on to its neighbours, in (0, 1).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// How far below its own proxy's similarity the others' must stay.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The loss with each embedding's proxy given (PML's `indices_tuple` of this loss: one
    /// proxy index per embedding), or drawn as PML draws them when `None`.
    ///
    /// # Errors
    /// When the embeddings are not 2-D and `l` wide or contain NaN; when drawing, fewer
    /// embeddings than proxies; when given, meta-classes that are not one per embedding in
    /// `0..K`.
    pub fn compute_with_meta_classes(&mut self, embeddings: &Tensor, meta_classes: Option<&Tensor>) -> Result<Tensor> {
        let e = embeddings.size();
        if e.len() != 2 {
            return Err(Error::data(format!("ManifoldLoss: embeddings must be 2-D (batch, width), found shape {e:?}")));
        }
        let rows = e[0];
        let device = embeddings.device();
        check_embeddings("ManifoldLoss", embeddings, &Tensor::zeros([rows], (Kind::Int64, device)))?;
        check_width("ManifoldLoss", embeddings, self.embedding_size)?;
        let meta_classes = match meta_classes {
            Some(given) => self.checked_meta_classes(given, rows)?,
            None => self.draw_meta_classes(rows)?,
        }
        .to_device(device);

        let k = self.num_proxies;
        let nodes = Tensor::cat(&[embeddings, &self.proxies.weights.to_kind(embeddings.kind())], 0);
        let eye = Tensor::eye(rows + k, (embeddings.kind(), device));
        let affinity = (self.distance.matrix(&nodes, &nodes).clamp_min(0.0) / 0.5).exp();
        let affinity = &affinity - &affinity * &eye;
        let degree = affinity.sum_dim_intlist(1i64, false, None::<Kind>).pow_tensor_scalar(-0.5);
        let normalised = degree.unsqueeze(1) * affinity * degree.unsqueeze(0);
        // In float32: libtorch has no inverse in half precision.
        let walk = (eye.to_kind(Kind::Float) - normalised.to_kind(Kind::Float) * self.alpha).f_inverse()?.to_kind(embeddings.kind());
        let manifold = walk * (1.0 - self.alpha);
        let (of_embeddings, of_proxies) = (manifold.narrow(0, 0, rows), manifold.narrow(0, rows, k));

        let context = self.hinge(&unit_rows(&of_embeddings).matmul(&unit_rows(&of_proxies).transpose(0, 1)), &meta_classes);
        let loss = if self.lambda_c.is_infinite() {
            context
        } else {
            self.hinge(&of_embeddings.narrow(1, rows, k), &meta_classes) + context * self.lambda_c
        };
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced)], embeddings, &meta_classes)
    }

    /// `mean(log(1 + Σ exp(s_j - s_own + margin)))` over each row's proxies `j` other than its
    /// own where that is at least zero, for similarities `s` (embeddings x proxies).
    fn hinge(&self, similarities: &Tensor, meta_classes: &Tensor) -> Tensor {
        let own_column = meta_classes.unsqueeze(1);
        let violations = similarities - similarities.gather(1, &own_column, false) + self.margin;
        let own = violations.zeros_like().scatter_value(1, &own_column, 1.0).to_kind(Kind::Bool);
        let ignored = own.logical_or(&violations.lt(0.0));
        let terms = violations.masked_fill(&ignored, f64::NEG_INFINITY).exp();
        (terms.sum_dim_intlist(1i64, false, None::<Kind>) + 1.0).log().mean(similarities.kind())
    }

    /// PML's draw: every proxy once and the other rows uniformly, shuffled, on the CPU
    /// generator (so that a seed gives PML's meta-classes).
    fn draw_meta_classes(&self, rows: i64) -> Result<Tensor> {
        let k = self.num_proxies;
        if rows < k {
            return Err(Error::data(format!(
                "ManifoldLoss: drawing meta-classes needs at least one embedding per proxy ({k}), found {rows}; give fewer proxies or the meta-classes"
            )));
        }
        let cpu = (Kind::Int64, Device::Cpu);
        let others = Tensor::randint(k, [rows - k], cpu);
        let classes = Tensor::cat(&[Tensor::arange(k, cpu), others], 0);
        Ok(classes.index_select(0, &Tensor::randperm(rows, cpu)))
    }

    fn checked_meta_classes(&self, given: &Tensor, rows: i64) -> Result<Tensor> {
        if given.size() != [rows] {
            return Err(Error::data(format!("ManifoldLoss: one meta-class per embedding ({rows}) expected, found shape {:?}", given.size())));
        }
        let given = given.to_kind(Kind::Int64);
        let range = Vec::<i64>::try_from(Tensor::stack(&[given.min(), given.max()], 0)).unwrap_or_default();
        if let [min, max] = range[..] {
            if min < 0 || max >= self.num_proxies {
                return Err(Error::data(format!(
                    "ManifoldLoss: meta-classes must lie in 0..{} (one per proxy); found {min}..={max}",
                    self.num_proxies
                )));
            }
        }
        Ok(given)
    }
}

/// Each row over its norm (at least 1e-8), as libtorch's `cosine_similarity` divides.
fn unit_rows(x: &Tensor) -> Tensor {
    x / x.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-8)
}

distance_and_reducer!(ManifoldLoss);

super::learned_weights::accessors!(ManifoldLoss, proxies, proxies, set_proxies, "proxies, `(K, l)`");

impl Component for ManifoldLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.proxies.vs)
    }

    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "K", value: self.num_proxies as f64 },
            Record { name: "l", value: self.embedding_size as f64 },
            Record { name: "lambdaC", value: self.lambda_c },
            Record { name: "alpha", value: self.alpha },
            Record { name: "margin", value: self.margin },
        ];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for ManifoldLoss {
    /// The loss with meta-classes drawn; `labels` are only checked for length.
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config(
                "ManifoldLoss takes meta-classes, not mined tuples: use it without a tuple miner, or give them to compute_with_meta_classes",
            ));
        }
        if reference.is_some() {
            return Err(Error::data("ManifoldLoss: reference embeddings are not supported (as in PML)"));
        }
        check_embeddings("ManifoldLoss", embeddings, labels)?;
        self.compute_with_meta_classes(embeddings, None)
    }
}
