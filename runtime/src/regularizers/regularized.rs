use super::Regularizer;
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::losses::{MetricLoss, Reference};
use crate::{Error, Result};
use tch::nn::VarStore;
use tch::Tensor;

/// A loss plus weighted regularizers: `loss + embedding_reg_weight * r(embeddings)` and
/// `+ weight_reg_weight * r(class weights)` (PML's `embedding_regularizer` and
/// `weight_regularizer` arguments, which every loss takes). Made with
/// [`WithRegularizers`]; records the loss's records and the weights.
#[derive(Debug)]
pub struct Regularized<L> {
    loss: L,
    embedding: Option<(Box<dyn Regularizer>, f64)>,
    weight: Option<(Box<dyn Regularizer>, f64)>,
}

/// `.embedding_regularizer(r, weight)` and `.weight_regularizer(r, weight)` on every loss.
///
/// ```
/// use metric_learning::losses::ContrastiveLoss;
/// use metric_learning::regularizers::{LpRegularizer, WithRegularizers};
/// let loss = ContrastiveLoss::new().embedding_regularizer(LpRegularizer::new(), 0.5);
/// ```
pub trait WithRegularizers: MetricLoss + Sized {
    /// Adds `weight * regularizer(embeddings)` (PML's `embedding_regularizer`,
    /// `embedding_reg_weight`); the queries' embeddings, not the references'.
    fn embedding_regularizer(self, regularizer: impl Regularizer + 'static, weight: f64) -> Regularized<Self> {
        Regularized { loss: self, embedding: None, weight: None }.embedding_regularizer(regularizer, weight)
    }

    /// Adds `weight * regularizer(class weights)` (PML's `weight_regularizer`,
    /// `weight_reg_weight`), for a loss with learned class weights
    /// ([`MetricLoss::class_weights`]); another loss fails on its first call, saying so.
    fn weight_regularizer(self, regularizer: impl Regularizer + 'static, weight: f64) -> Regularized<Self> {
        Regularized { loss: self, embedding: None, weight: None }.weight_regularizer(regularizer, weight)
    }
}

impl<L: MetricLoss> WithRegularizers for L {}

impl<L: MetricLoss> Regularized<L> {
    /// Sets (or replaces) the embedding regularizer and its weight.
    pub fn embedding_regularizer(mut self, regularizer: impl Regularizer + 'static, weight: f64) -> Self {
        self.embedding = Some((Box::new(regularizer), weight));
        self
    }

    /// Sets (or replaces) the weight regularizer and its weight.
    pub fn weight_regularizer(mut self, regularizer: impl Regularizer + 'static, weight: f64) -> Self {
        self.weight = Some((Box::new(regularizer), weight));
        self
    }

    /// The loss inside.
    pub fn inner(&self) -> &L {
        &self.loss
    }

    /// The loss inside, to change.
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.loss
    }
}

impl<L: MetricLoss> Component for Regularized<L> {
    fn var_store(&self) -> Option<&VarStore> {
        self.loss.var_store()
    }
    fn set_training(&mut self, training: bool) {
        self.loss.set_training(training)
    }
    fn records(&self) -> Vec<Record> {
        let mut records = self.loss.records();
        if let Some((_, weight)) = &self.embedding {
            records.push(Record { name: "embedding_reg_weight", value: *weight });
        }
        if let Some((_, weight)) = &self.weight {
            records.push(Record { name: "weight_reg_weight", value: *weight });
        }
        records
    }
    fn bind_key(&mut self, key: &str) {
        self.loss.bind_key(key)
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.loss.state()
    }
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> std::result::Result<(), String> {
        self.loss.load_state(state)
    }
}

impl<L: MetricLoss> MetricLoss for Regularized<L> {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let mut total = self.loss.compute_with_reference(embeddings, labels, indices, reference)?;
        if let Some((regularizer, weight)) = &mut self.embedding {
            total = total + regularizer.regularize(embeddings)? * *weight;
        }
        if let Some((regularizer, weight)) = &mut self.weight {
            let Some(class_weights) = self.loss.class_weights() else {
                return Err(Error::config(format!(
                    "a weight regularizer ({regularizer:?}) on a loss without learned class weights: only losses with class weights or proxies (ArcFace, ProxyAnchor, ...) take one"
                )));
            };
            total = total + regularizer.regularize(&class_weights)? * *weight;
        }
        Ok(total)
    }

    fn class_weights(&self) -> Option<Tensor> {
        self.loss.class_weights()
    }
}
