use super::learned_weights::LearnedWeights;
use super::margin_softmax::{classification_input, reduced_cross_entropy, weight_cosines, with_target_cosine};
use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::reducers::{MeanReducer, Reducer};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// Which magnitudes multiply the cosines into logits.
#[derive(Clone, Copy, Debug)]
enum Magnitudes {
    /// L-Softmax: the embedding's norm times the class weight's.
    EmbeddingAndWeight,
    /// SphereFace: the embedding's norm only (the weights count as normalised).
    Embedding,
}

/// Softmax cross-entropy with a multiplicative angular margin on the target class: its
/// `cos(theta)` becomes `(-1)^k cos(m theta) - 2k` for `theta` in `[k pi / m, (k + 1) pi / m]`,
/// which decreases monotonically in the angle. PML's `LargeMarginSoftmaxLoss` (Liu et al.,
/// 2016) and its `SphereFaceLoss` subclass (Liu et al., 2017). The weights are a parameter:
/// give the loss key an optimizer.
#[derive(Debug)]
pub struct LargeMarginSoftmaxLoss {
    name: &'static str,
    num_classes: i64,
    margin: i64,
    scale: f64,
    magnitudes: Magnitudes,
    weights: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

/// SphereFace (A-Softmax, Liu et al., 2017): the large-margin softmax with the logits scaled by
/// the embeddings' norms only, as if the class weights were normalised; margin 4, scale 1.
pub struct SphereFaceLoss;

impl SphereFaceLoss {
    /// Weights of shape (embedding_size, num_classes), drawn from N(0, 1) as PML does, on the
    /// CUDA device when there is one.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(num_classes: i64, embedding_size: i64) -> LargeMarginSoftmaxLoss {
        LargeMarginSoftmaxLoss::with_magnitudes("SphereFaceLoss", num_classes, embedding_size, Magnitudes::Embedding)
    }
}

impl LargeMarginSoftmaxLoss {
    /// L-Softmax: weights of shape (embedding_size, num_classes), drawn from N(0, 1) as PML
    /// does, on the CUDA device when there is one; margin 4, scale 1.
    pub fn new(num_classes: i64, embedding_size: i64) -> LargeMarginSoftmaxLoss {
        LargeMarginSoftmaxLoss::with_magnitudes("LargeMarginSoftmaxLoss", num_classes, embedding_size, Magnitudes::EmbeddingAndWeight)
    }

    fn with_magnitudes(name: &'static str, num_classes: i64, embedding_size: i64, magnitudes: Magnitudes) -> LargeMarginSoftmaxLoss {
        let init = Init::Randn { mean: 0.0, stdev: 1.0 };
        LargeMarginSoftmaxLoss {
            name,
            num_classes,
            margin: 4,
            scale: 1.0,
            magnitudes,
            weights: LearnedWeights::new("W", [embedding_size, num_classes], init, Device::cuda_if_available()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// The angle multiplier `m`, a positive integer (PML truncates a float to one).
    pub fn margin(mut self, margin: i64) -> Self {
        self.margin = margin;
        self
    }

    /// The logits' scale.
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// How the per-sample values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// Cosines to every class times the magnitudes and the scale, without the margin (PML's
    /// `get_logits`).
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        self.scaled(weight_cosines(embeddings, &self.weights.weights), embeddings)
    }

    fn scaled(&self, logits: Tensor, embeddings: &Tensor) -> Tensor {
        let embedding_norms = embeddings.norm_scalaropt_dim(2, [1i64].as_slice(), false).unsqueeze(1);
        let magnitudes = match self.magnitudes {
            Magnitudes::EmbeddingAndWeight => {
                let weight_norms = self.weights.weights.to_kind(embeddings.kind()).norm_scalaropt_dim(2, [0i64].as_slice(), false);
                weight_norms.unsqueeze(0) * embedding_norms
            }
            Magnitudes::Embedding => embedding_norms,
        };
        logits * magnitudes * self.scale
    }

    /// `(-1)^k cos(m theta) - 2k` of the target cosines, `cos(m theta)` by the multiple-angle
    /// expansion in powers of the cosine (the paper's equation 7, as PML evaluates it:
    /// `sum_n (-1)^n C(m, 2n) cos^(m-2n) (1 - cos^2)^n` over `n = 0..=m/2`, all terms at once).
    fn with_margin(&self, target_cosine: &Tensor) -> Tensor {
        let m = self.margin;
        let options = (target_cosine.kind(), target_cosine.device());
        let n: Vec<f64> = (0..=m / 2).map(|n| n as f64).collect();
        let coefficients = |f: &dyn Fn(i64) -> f64| Tensor::from_slice(&(0..=m / 2).map(f).collect::<Vec<f64>>()).to_kind(options.0).to_device(options.1);
        let alternating = coefficients(&|n| if n % 2 == 0 { 1.0 } else { -1.0 });
        let choose = coefficients(&|n| binomial(m, 2 * n));
        let cos_powers = coefficients(&|n| (m - 2 * n) as f64);
        let n_range = Tensor::from_slice(&n).to_kind(options.0).to_device(options.1);
        let cosine = target_cosine.unsqueeze(1);
        let cos_powered = cosine.pow(&cos_powers);
        let sin_powered = (1.0f64 - cosine.pow_tensor_scalar(2i64)).pow(&n_range);
        let cos_m_theta = (alternating * choose * cos_powered * sin_powered).sum_dim_intlist(1i64, false, None::<Kind>);
        let angles = target_cosine.clamp(-1.0, 1.0).acos();
        let k = tch::no_grad(|| (&angles / (std::f64::consts::PI / m as f64)).floor());
        Tensor::pow_scalar(-1i64, &k) * cos_m_theta - k * 2i64
    }
}

/// `C(n, k)` as a float, as exact as f64 holds it.
fn binomial(n: i64, k: i64) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

super::learned_weights::accessors!(LargeMarginSoftmaxLoss, weights, weights, set_weights, "class weights, `(embedding_size, num_classes)`");

impl Component for LargeMarginSoftmaxLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.weights.vs)
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "margin", value: self.margin as f64 },
            Record { name: "scale", value: self.scale },
        ]
    }
}

impl MetricLoss for LargeMarginSoftmaxLoss {
    /// The class weights as rows, `(num_classes, embedding_size)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.weights.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if self.margin < 1 {
            return Err(Error::data(format!("{}: the margin must be a positive integer, found {}", self.name, self.margin)));
        }
        let input = classification_input(self.name, embeddings, labels, indices, reference, self.weights.weights.size()[0], self.num_classes)?;
        let cosine = weight_cosines(embeddings, &self.weights.weights);
        let target_cosine = cosine.gather(1, &input.labels.unsqueeze(1), false).squeeze_dim(1);
        let modified = self.with_margin(&target_cosine);
        let logits = self.scaled(with_target_cosine(&cosine, &input.labels, &target_cosine, &modified), embeddings);
        reduced_cross_entropy(&logits, &input, indices, self.reducer.as_mut())
    }
}
