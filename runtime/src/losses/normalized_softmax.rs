use super::learned_weights::LearnedWeights;
use super::margin_softmax::classification_input;
use super::{MetricLoss, Reference};
use crate::indices::{sample_weights, Tuples};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::nn::{Init, VarStore};
use tch::{Device, Tensor};

/// Softmax cross-entropy over cosines to learned class weights at a temperature (Zhai and Wu,
/// 2018; PML's `NormalizedSoftmaxLoss` with its default normalised dot product). The weights are
/// a parameter: give the loss key an optimizer.
#[derive(Debug)]
pub struct NormalizedSoftmaxLoss {
    num_classes: i64,
    temperature: f64,
    weights: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

impl NormalizedSoftmaxLoss {
    /// Weights of shape (embedding_size, num_classes) from N(0, 1), temperature 0.05.
    pub fn new(num_classes: i64, embedding_size: i64) -> NormalizedSoftmaxLoss {
        let init = Init::Randn { mean: 0.0, stdev: 1.0 };
        NormalizedSoftmaxLoss {
            num_classes,
            temperature: 0.05,
            weights: LearnedWeights::new("W", [embedding_size, num_classes], init, Device::cuda_if_available()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// The softmax temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }

    /// Cosines to every class over the temperature.
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        let e = embeddings / embeddings.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
        let w = self.weights.weights.to_kind(embeddings.kind());
        let w = &w / w.norm_scalaropt_dim(2, [0i64].as_slice(), true).clamp_min(1e-12);
        e.matmul(&w) / self.temperature
    }
}

super::learned_weights::accessors!(NormalizedSoftmaxLoss, weights, weights, set_weights, "class weights, `(embedding_size, num_classes)`");

impl Component for NormalizedSoftmaxLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.weights.vs)
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record { name: "embedding_size", value: self.weights.weights.size()[0] as f64 },
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "temperature", value: self.temperature },
        ]
    }
}

impl MetricLoss for NormalizedSoftmaxLoss {
    /// The class weights as rows, `(num_classes, embedding_size)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.weights.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = classification_input("NormalizedSoftmaxLoss", embeddings, labels, indices, reference, self.weights.weights.size()[0], self.num_classes)?;
        let per_sample = self.logits(embeddings).cross_entropy_loss::<Tensor>(&input.labels, None, tch::Reduction::None, -100, 0.0);
        let weights = sample_weights(indices, input.rows(), false, per_sample.kind(), per_sample.device());
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", per_sample * weights, Reduction::Element)], embeddings, &input.labels)
    }
}
