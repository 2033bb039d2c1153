use super::input::masked_logsumexp;
use super::learned_weights::LearnedWeights;
use super::margin_softmax::classification_input;
use super::{MetricLoss, Reference};
use crate::indices::{sample_weights, Tuples};
use crate::reducers::{reduce, DivisorReducer, LossIndices, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// Proxy anchor loss (Kim et al., 2020): one learned proxy per class; per proxy, a soft maximum
/// over its class's embeddings pulled within `margin` and over other classes' pushed beyond it
/// (PML's `ProxyAnchorLoss`: cosine similarity; by default `DivisorReducer`, which averages the
/// positive part over proxies with a sample in the batch and the negative part over all
/// proxies). The proxies are a parameter: give the loss key an optimizer.
#[derive(Debug)]
pub struct ProxyAnchorLoss {
    num_classes: i64,
    margin: f64,
    alpha: f64,
    proxies: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

impl ProxyAnchorLoss {
    /// Proxies of shape (num_classes, embedding_size), Kaiming-normal (fan out) as PML's;
    /// margin 0.1, alpha 32.
    pub fn new(num_classes: i64, embedding_size: i64) -> ProxyAnchorLoss {
        let init = Init::Kaiming { dist: NormalOrUniform::Normal, fan: FanInOut::FanOut, non_linearity: NonLinearity::ReLU };
        ProxyAnchorLoss {
            num_classes,
            margin: 0.1,
            alpha: 32.0,
            proxies: LearnedWeights::new("proxies", [num_classes, embedding_size], init, Device::cuda_if_available()),
            reducer: Box::new(DivisorReducer::new()),
        }
    }

    /// The margin around the proxies.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The scale of the soft maxima.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// How the per-proxy values become one number: `DivisorReducer` (PML's default) divides
    /// each part's sum by its number of proxies; another reducer sees one value per proxy.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

super::learned_weights::accessors!(ProxyAnchorLoss, proxies, proxies, set_proxies, "proxies, `(num_classes, embedding_size)`");

impl Component for ProxyAnchorLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.proxies.vs)
    }

    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "alpha", value: self.alpha },
            Record { name: "margin", value: self.margin },
        ];
        records.extend(self.reducer.records());
        records
    }
}

/// Per class, `log(1 + sum(exp(values)))` over the values of its rows, 0 for a class without
/// any (PML's masked `logsumexp` with `add_one` over a one-hot mask, from the values alone).
/// Shifted by the class's largest value or 0 (the added one), detached: the result is exact
/// for any shift, and the gradient flows through the values.
fn log_one_plus_sum_exp_per_class(values: &Tensor, labels: &Tensor, classes: i64) -> Tensor {
    let zeros = Tensor::zeros([classes], (values.kind(), values.device()));
    let shift = tch::no_grad(|| zeros.internal_scatter_reduce(0, labels, &values.detach(), "amax", true));
    let sums = zeros.index_add(0, labels, &(values - shift.index_select(0, labels)).exp());
    (sums + (-&shift).exp()).log() + shift
}

impl MetricLoss for ProxyAnchorLoss {
    /// The proxies, `(num_classes, embedding_size)`.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.proxies.weights.shallow_clone())
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = classification_input("ProxyAnchorLoss", embeddings, labels, indices, reference, self.proxies.weights.size()[1], self.num_classes)?;
        let e = embeddings / embeddings.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
        let proxies = self.proxies.weights.to_kind(embeddings.kind());
        let proxies = &proxies / proxies.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
        let cosine = e.matmul(&proxies.transpose(0, 1));
        // PML adds the miner weights minus one: zeros without tuples, left out then.
        let miner_weights = indices.map(|_| sample_weights(indices, input.rows(), false, cosine.kind(), cosine.device()) - 1.0);
        let weighted = |x: Tensor, weights: Option<&Tensor>| match weights {
            Some(w) => x + w,
            None => x,
        };
        // A row's one positive proxy is its label's: its term gathers one entry per row
        // rather than soft-maximising a (batch x classes) matrix that is all but masked out.
        let own = cosine.gather(1, &input.labels.unsqueeze(1), false).squeeze_dim(1);
        let pos_term = log_one_plus_sum_exp_per_class(&weighted((-own + self.margin) * self.alpha, miner_weights.as_ref()), &input.labels, self.num_classes);
        let negative = crate::indices::one_hot(&input.labels, self.num_classes, Kind::Bool).logical_not();
        // Per proxy (a column): the soft maximum over the batch (the rows).
        let column_weights = miner_weights.as_ref().map(|w| w.unsqueeze(1));
        let neg_term = masked_logsumexp(&weighted((&cosine + self.margin) * self.alpha, column_weights.as_ref()).transpose(0, 1), &negative.transpose(0, 1), true).squeeze_dim(1);
        let with_positives = Tensor::zeros([self.num_classes], (Kind::Int64, cosine.device())).index_fill(0, &input.labels, 1).sum(Kind::Int64);
        let proxy_rows = || LossIndices::Elements(Tensor::arange(self.num_classes, (Kind::Int64, cosine.device())));
        let parts = vec![
            SubLoss::new("pos_loss", pos_term, Reduction::Element).indices(proxy_rows()).divisor(with_positives),
            SubLoss::new("neg_loss", neg_term, Reduction::Element).indices(proxy_rows()).divisor(Tensor::from(self.num_classes)),
        ];
        reduce(self.reducer.as_mut(), parts, embeddings, &input.labels)
    }
}
