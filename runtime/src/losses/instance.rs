use super::{LossInput, MetricLoss, Reference};
use crate::distances::{Common, CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::Tensor;

/// Instance loss (Zheng et al., 2020): softmax cross-entropy over each sample's scaled cosine
/// similarities to the batch, the target being the column whose number is the sample's label
/// rank among the batch's distinct labels (PML's `InstanceLoss`, with its reading of labels as
/// column numbers; `MeanReducer`). Takes neither mined tuples nor reference embeddings, as PML.
#[derive(Debug)]
pub struct InstanceLoss {
    gamma: f64,
    distance: CosineSimilarity,
    reducer: Box<dyn Reducer>,
}

impl Default for InstanceLoss {
    fn default() -> Self {
        InstanceLoss::new()
    }
}

impl InstanceLoss {
    /// Scale 64, as PML.
    pub fn new() -> InstanceLoss {
        InstanceLoss { gamma: 64.0, distance: CosineSimilarity::new(), reducer: Box::new(MeanReducer) }
    }

    /// The scale of the similarities before the softmax.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// How the per-sample losses become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl Component for InstanceLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "gamma", value: self.gamma }];
        records.extend(self.distance.records());
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for InstanceLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config("InstanceLoss takes no mined tuples (PML refuses them too): use it without a tuple miner"));
        }
        if reference.is_some() {
            return Err(Error::config("InstanceLoss takes no reference embeddings (PML refuses them too)"));
        }
        let input = LossInput::new("InstanceLoss", embeddings, labels, indices, None)?;
        let (_, ranks, _) = input.labels.f_internal_unique2(true, true, false)?;
        // The scale multiplies one side before the product (exactly so for PML's 64, a power of
        // two): a (batch x width) product instead of a (batch x batch) one, forward and backward.
        let normalized = Common::new().maybe_normalize(embeddings);
        let logits = (&normalized * self.gamma).matmul(&normalized.transpose(0, 1));
        let losses = logits.f_cross_entropy_loss::<Tensor>(&ranks, None, tch::Reduction::None, -100, 0.0)?;
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}
