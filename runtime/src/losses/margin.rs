use super::learned_weights::LearnedWeights;
use super::{LossInput, MetricLoss, Reference, TripletsPerAnchor};
use crate::distances::{margin, Distance, LpDistance};
use crate::indices::Tuples;
use super::distance_and_reducer;
use crate::reducers::{reduce, DivisorReducer, LossIndices, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// Margin loss (Wu et al., 2017): per triplet, `relu(d(a,p) - beta + margin)` and
/// `relu(beta - d(a,n) + margin)`, summed over triplets and divided by the number of non-zero
/// terms (PML's `MarginLoss` with its default `DivisorReducer`); `beta` fixed or learned, one
/// for all or one per class. A learned beta is a parameter: give the loss key an optimizer.
#[derive(Debug)]
pub struct MarginLoss {
    margin: f64,
    nu: f64,
    triplets_per_anchor: TripletsPerAnchor,
    beta: LearnedWeights,
    learn_beta: bool,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for MarginLoss {
    fn default() -> Self {
        MarginLoss::new()
    }
}

impl MarginLoss {
    /// PML's defaults: margin 0.2, nu 0, beta 1.2 (fixed, one for all classes), all triplets.
    pub fn new() -> MarginLoss {
        MarginLoss {
            margin: 0.2,
            nu: 0.0,
            triplets_per_anchor: TripletsPerAnchor::All,
            beta: LearnedWeights::new("beta", [1, 1], Init::Const(1.2), Device::cuda_if_available()),
            learn_beta: false,
            distance: Box::new(LpDistance::new()),
            reducer: Box::new(DivisorReducer::new()),
        }
    }
    /// The margin around beta.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
    /// The weight of the beta regulariser (with a learned beta).
    pub fn nu(mut self, nu: f64) -> Self {
        self.nu = nu;
        self
    }
    /// Beta's value: one for all classes, or one per class when `num_classes` is given.
    pub fn beta(mut self, beta: f64, num_classes: Option<i64>) -> Self {
        let device = self.beta.vs.device();
        self.beta = LearnedWeights::new("beta", [num_classes.unwrap_or(1), 1], Init::Const(beta), device);
        self
    }
    /// Whether beta is a parameter the optimizer updates.
    pub fn learn_beta(mut self, learn: bool) -> Self {
        self.learn_beta = learn;
        self
    }
    /// Which triplets to use when no miner gives any.
    pub fn triplets_per_anchor(mut self, triplets_per_anchor: TripletsPerAnchor) -> Self {
        self.triplets_per_anchor = triplets_per_anchor;
        self
    }
    /// Moves beta to a device.
    pub fn device(mut self, device: Device) -> Self {
        self.beta.vs.set_device(device);
        self
    }
    /// Beta, one value per class (or one).
    pub fn beta_values(&self) -> Tensor {
        self.beta.weights.reshape([-1])
    }
}

distance_and_reducer!(MarginLoss);

impl Component for MarginLoss {
    fn var_store(&self) -> Option<&VarStore> {
        self.learn_beta.then_some(&self.beta.vs)
    }

    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "margin", value: self.margin }, Record { name: "nu", value: self.nu }];
        if self.beta.weights.numel() == 1 {
            records.push(Record { name: "beta", value: self.beta.weights.double_value(&[0, 0]) });
        }
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for MarginLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = LossInput::new("MarginLoss", embeddings, labels, indices, reference)?;
        let (a, p, n) = input.triplets(indices, self.triplets_per_anchor);
        if a.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("margin_loss"), SubLoss::zero("beta_reg_loss")], embeddings, &input.labels);
        }
        let all_beta = self.beta.weights.reshape([-1]).to_kind(embeddings.kind());
        let all_beta = if self.learn_beta { all_beta } else { all_beta.detach() };
        let per_class = all_beta.numel() > 1;
        let beta = if per_class { all_beta.index_select(0, &input.labels.index_select(0, &a)) } else { all_beta.shallow_clone() };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let d_ap = super::gather_pairs(&matrix, &a, &p);
        let d_an = super::gather_pairs(&matrix, &a, &n);
        let distance = self.distance.as_ref();
        let pos = (margin(distance, &d_ap, &beta) + self.margin).relu();
        let neg = (margin(distance, &beta, &d_an) + self.margin).relu();
        let divisor = pos.gt(0.0).sum(Kind::Int64) + neg.gt(0.0).sum(Kind::Int64);
        let beta_reg = match (self.learn_beta, per_class) {
            (false, _) => SubLoss::zero("beta_reg_loss"),
            (true, false) => SubLoss::new("beta_reg_loss", beta.sum(beta.kind()) * self.nu, Reduction::AlreadyReduced),
            (true, true) => {
                SubLoss::new("beta_reg_loss", beta * self.nu, Reduction::Element).indices(LossIndices::Elements(a.shallow_clone())).divisor(divisor.shallow_clone())
            }
        };
        let margin_loss = SubLoss::new("margin_loss", pos + neg, Reduction::Triplet).indices(LossIndices::Triplets(a, p, n)).divisor(divisor);
        reduce(self.reducer.as_mut(), vec![margin_loss, beta_reg], embeddings, &input.labels)
    }
}
