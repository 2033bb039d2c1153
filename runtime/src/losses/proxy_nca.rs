use super::learned_weights::LearnedWeights;
use super::margin_softmax::classification_input;
use super::nca::{nca_losses, NcaQuery, ReferenceLabels};
use super::{distance_and_reducer, MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::distances::{Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::Result;
use tch::nn::{Init, VarStore};
use tch::{Device, Tensor};

/// Proxy NCA (Movshovitz-Attias et al., 2017): NCA of each embedding against one learned proxy
/// per class instead of against the other embeddings (PML's `ProxyNCALoss`: squared Euclidean
/// distance on normalised embeddings and proxies, `MeanReducer`). With mined tuples, only their
/// anchors weight the samples, as PML weights queries against a reference set. The proxies are
/// a parameter: give the loss key an optimizer.
#[derive(Debug)]
pub struct ProxyNCALoss {
    num_classes: i64,
    softmax_scale: f64,
    proxies: LearnedWeights,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl ProxyNCALoss {
    /// Proxies of shape (num_classes, embedding_size) from N(0, 1) as PML's, on the CUDA device
    /// when there is one; softmax scale 1.
    pub fn new(num_classes: i64, embedding_size: i64) -> ProxyNCALoss {
        let init = Init::Randn { mean: 0.0, stdev: 1.0 };
        ProxyNCALoss {
            num_classes,
            softmax_scale: 1.0,
            proxies: LearnedWeights::new("proxies", [num_classes, embedding_size], init, Device::cuda_if_available()),
            distance: Box::new(LpDistance::new().power(2.0)),
            reducer: Box::new(MeanReducer),
        }
    }

    /// Multiplies the (negated) distances before the softmax.
    pub fn softmax_scale(mut self, softmax_scale: f64) -> Self {
        self.softmax_scale = softmax_scale;
        self
    }

    /// The distances from the embeddings to every proxy (PML's `get_logits`).
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        self.distance.matrix(embeddings, &self.proxies.weights.to_kind(embeddings.kind()))
    }
}

distance_and_reducer!(ProxyNCALoss);

super::learned_weights::accessors!(ProxyNCALoss, proxies, weights, set_weights, "proxies, `(num_classes, embedding_size)`");

impl Component for ProxyNCALoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.proxies.vs)
    }

    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "softmax_scale", value: self.softmax_scale },
            Record { name: "num_classes", value: self.num_classes as f64 },
        ];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for ProxyNCALoss {
    /// The proxies, `(num_classes, embedding_size)`.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.proxies.weights.shallow_clone())
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = classification_input("ProxyNCALoss", embeddings, labels, indices, reference, self.proxies.weights.size()[1], self.num_classes)?;
        let proxies = self.proxies.weights.to_kind(embeddings.kind());
        let query = NcaQuery { embeddings, labels: &input.labels, indices };
        let (losses, kept) = nca_losses(self.distance.as_ref(), self.softmax_scale, query, &proxies, ReferenceLabels::RowIsClass, false);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element).indices(LossIndices::ElementMask(kept))], embeddings, &input.labels)
    }
}
