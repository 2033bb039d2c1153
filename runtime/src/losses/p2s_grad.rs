use super::learned_weights::LearnedWeights;
use super::margin_softmax::classification_input_reading;
use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// P2SGrad (Zhang et al., 2019): the mean squared error between each sample's cosines to
/// learned class weights (clamped to [-1, 1]) and its one-hot label, the loss whose gradient is
/// the paper's (PML's `P2SGradLoss`). The weights are a parameter: give the loss key an
/// optimizer.
///
/// As PML does, every call first rescales the stored weights in place, outside the graph, to
/// columns of unit norm (`renorm(2.0, 1, 1e-5) * 1e5`), and the gradient is that of the loss at
/// the rescaled weights. Takes neither mined tuples nor reference embeddings, as PML.
#[derive(Debug)]
pub struct P2SGradLoss {
    num_classes: i64,
    weights: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

impl P2SGradLoss {
    /// Weights of shape (descriptors_dim, num_classes), uniform in [-1, 1] then rescaled to
    /// unit columns, as PML draws them.
    pub fn new(descriptors_dim: i64, num_classes: i64) -> P2SGradLoss {
        let init = Init::Uniform { lo: -1.0, up: 1.0 };
        let weights = LearnedWeights::new("weight", [descriptors_dim, num_classes], init, Device::cuda_if_available());
        let loss = P2SGradLoss { num_classes, weights, reducer: Box::new(MeanReducer) };
        loss.renormalise();
        loss
    }

    /// Passes the (already reduced) loss through, for the records of a reducer.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// Each column to norm `n / (n + 1e-7)`, about 1: libtorch's `renorm` to 1e-5 scaled back
    /// by 1e5, which is how PML normalises (a column of norm at most 1e-5 is only scaled up).
    fn renormalise(&self) {
        tch::no_grad(|| {
            let unit = self.weights.weights.renorm(2.0, 1, 1e-5) * 1e5;
            self.weights.weights.shallow_clone().copy_(&unit);
        });
    }

    /// The columns' distances from unit norm; PML asserts that each is under 1e-5 after the
    /// rescaling, which a column of norm at most 1e-5 (all zeros, say) cannot reach.
    fn off_unit_norm(&self) -> Tensor {
        let norms = self.weights.weights.detach().to_kind(Kind::Float).square().sum_dim_intlist(0i64, false, None::<Kind>).sqrt();
        (norms - 1.0).abs()
    }

    /// How many columns are not within 1e-5 of unit norm (NaN counts), to read with the call's
    /// other checks.
    fn columns_off_unit_norm(&self) -> Tensor {
        self.off_unit_norm().lt(1e-5).logical_not().sum(Kind::Int64)
    }

    fn off_unit_norm_error(&self) -> Error {
        let worst = self.off_unit_norm().max().double_value(&[]);
        Error::data(format!("P2SGradLoss: every weight column must rescale to unit norm, but one is {worst} away (a column of norm at most 1e-5, or NaN)"))
    }
}

super::learned_weights::accessors!(P2SGradLoss, weights, weights, set_weights, "class weights, `(descriptors_dim, num_classes)` (each call first rescales them to unit columns)");

impl Component for P2SGradLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.weights.vs)
    }

    fn records(&self) -> Vec<Record> {
        self.reducer.records()
    }
}

impl MetricLoss for P2SGradLoss {
    /// The class weights as rows, `(num_classes, descriptors_dim)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.weights.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config("P2SGradLoss takes no mined tuples (PML refuses them too): use it without a tuple miner"));
        }
        let embedding_size = self.weights.weights.size()[0];
        let (input, read) = classification_input_reading("P2SGradLoss", embeddings, labels, indices, reference, embedding_size, self.num_classes, || {
            self.renormalise();
            vec![self.columns_off_unit_norm()]
        })?;
        if read[0] > 0 {
            return Err(self.off_unit_norm_error());
        }
        let weights = self.weights.weights.to_kind(embeddings.kind());
        // No epsilon, as PML: a zero row has no direction, and its cosines are NaN.
        let modulus = embeddings.square().sum_dim_intlist(1i64, true, None::<Kind>).sqrt();
        // hardtanh is clamp(-1, 1) with a fused backward pass (clamp's takes three); its gradient
        // is zero at exactly +-1 where clamp's passes, a difference only for an embedding
        // exactly parallel to a class weight.
        let cosines = (embeddings.matmul(&weights) / modulus).f_hardtanh()?;
        let targets = crate::indices::one_hot(&input.labels, self.num_classes, cosines.kind());
        let loss = cosines.mse_loss(&targets, tch::Reduction::Mean);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced)], embeddings, &input.labels)
    }
}
