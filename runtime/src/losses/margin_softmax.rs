use super::learned_weights::LearnedWeights;
use super::{LossInput, MetricLoss, Reference};
use crate::indices::{sample_weights, Tuples};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Tensor};

/// How the target class's cosine is changed before the softmax.
#[derive(Clone, Copy, Debug)]
enum Margin {
    /// ArcFace: `cos(theta + m)`, `m` in radians.
    Additive(f64),
    /// CosFace: `cos(theta) - m`.
    Subtractive(f64),
}

/// Softmax cross-entropy over scaled cosines to learned class weights, with a margin on the
/// target class: PML's `ArcFaceLoss` and `CosFaceLoss` (via their `LargeMarginSoftmaxLoss`
/// base). The weights are a parameter: give the loss key an optimizer.
#[derive(Debug)]
pub struct MarginSoftmaxLoss {
    name: &'static str,
    num_classes: i64,
    margin: Margin,
    scale: f64,
    weights: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

/// ArcFace (Deng et al., 2019): an additive angular margin, given in degrees (PML's default
/// 28.6, about 0.5 radians), scale 64.
pub struct ArcFaceLoss;

/// CosFace (Wang et al., 2018): a cosine margin (default 0.35), scale 64.
pub struct CosFaceLoss;

impl ArcFaceLoss {
    /// Weights of shape (embedding_size, num_classes), drawn from N(0, 1) as PML does, on the
    /// CUDA device when there is one.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(num_classes: i64, embedding_size: i64) -> MarginSoftmaxLoss {
        MarginSoftmaxLoss::with_margin("ArcFaceLoss", num_classes, embedding_size, Margin::Additive(28.6f64.to_radians()))
    }
}

impl CosFaceLoss {
    /// Weights of shape (embedding_size, num_classes), drawn from N(0, 1) as PML does.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(num_classes: i64, embedding_size: i64) -> MarginSoftmaxLoss {
        MarginSoftmaxLoss::with_margin("CosFaceLoss", num_classes, embedding_size, Margin::Subtractive(0.35))
    }
}

impl MarginSoftmaxLoss {
    fn with_margin(name: &'static str, num_classes: i64, embedding_size: i64, margin: Margin) -> MarginSoftmaxLoss {
        let init = Init::Randn { mean: 0.0, stdev: 1.0 };
        MarginSoftmaxLoss {
            name,
            num_classes,
            margin,
            scale: 64.0,
            weights: LearnedWeights::new("W", [embedding_size, num_classes], init, Device::cuda_if_available()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// The margin: degrees for ArcFace, a cosine for CosFace.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = match self.margin {
            Margin::Additive(_) => Margin::Additive(margin.to_radians()),
            Margin::Subtractive(_) => Margin::Subtractive(margin),
        };
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

    /// Scaled cosines to every class, without the margin (PML's `get_logits`).
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        weight_cosines(embeddings, &self.weights.weights) * self.scale
    }
}

super::learned_weights::accessors!(MarginSoftmaxLoss, weights, weights, set_weights, "class weights, `(embedding_size, num_classes)`");

impl Component for MarginSoftmaxLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.weights.vs)
    }

    fn records(&self) -> Vec<Record> {
        // ArcFace's margin is recorded in radians, as PML records it.
        let margin = match self.margin {
            Margin::Additive(m) | Margin::Subtractive(m) => m,
        };
        vec![
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "margin", value: margin },
            Record { name: "scale", value: self.scale },
        ]
    }
}

impl MetricLoss for MarginSoftmaxLoss {
    /// The class weights as rows, `(num_classes, embedding_size)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.weights.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let input = classification_input(self.name, embeddings, labels, indices, reference, self.weights.weights.size()[0], self.num_classes)?;
        let cosine = weight_cosines(embeddings, &self.weights.weights);
        let target_cosine = cosine.gather(1, &input.labels.unsqueeze(1), false).squeeze_dim(1);
        let modified = match self.margin {
            Margin::Additive(m) => additive_angular_margin(&target_cosine, m),
            Margin::Subtractive(m) => &target_cosine - m,
        };
        let logits = with_target_cosine(&cosine, &input.labels, &target_cosine, &modified) * self.scale;
        reduced_cross_entropy(&logits, &input, indices, self.reducer.as_mut())
    }
}

/// The checks of every loss that scores classes with learned weights: no reference embeddings
/// (PML refuses them for classification-style losses), embeddings as wide as the weights, and
/// labels within the classes, read from the device with the NaN check.
pub(crate) fn classification_input<'a>(
    module: &'a str,
    embeddings: &'a Tensor,
    labels: &Tensor,
    indices: Option<&Tuples>,
    reference: Option<Reference<'_>>,
    embedding_size: i64,
    num_classes: i64,
) -> Result<LossInput<'a>> {
    Ok(classification_input_reading(module, embeddings, labels, indices, reference, embedding_size, num_classes, Vec::new)?.0)
}

/// [`classification_input`], reading the loss's own `counts` (made once the shapes are known
/// to fit) in the same transfer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn classification_input_reading<'a>(
    module: &'a str,
    embeddings: &'a Tensor,
    labels: &Tensor,
    indices: Option<&Tuples>,
    reference: Option<Reference<'_>>,
    embedding_size: i64,
    num_classes: i64,
    counts: impl FnOnce() -> Vec<Tensor>,
) -> Result<(LossInput<'a>, Vec<i64>)> {
    if reference.is_some() {
        return Err(Error::data(format!("{module}: reference embeddings are not supported")));
    }
    let mut input = LossInput::deferred(module, embeddings, labels, indices, None)?;
    super::learned_weights::check_width(module, embeddings, embedding_size)?;
    let mut values = vec![input.labels.min(), input.labels.max()];
    values.extend(counts());
    let read = input.read(&values)?;
    check_label_range(module, read[0], read[1], num_classes)?;
    Ok((input, read[2..].to_vec()))
}

/// Cosines between the rows of `embeddings` and the columns of `weights` (PML's
/// `CosineSimilarity` of the embeddings and `W.t()`), in the embeddings' kind.
pub(crate) fn weight_cosines(embeddings: &Tensor, weights: &Tensor) -> Tensor {
    let e = embeddings / embeddings.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
    let w = weights.to_kind(embeddings.kind());
    let w = &w / w.norm_scalaropt_dim(2, [0i64].as_slice(), true).clamp_min(1e-12);
    e.matmul(&w)
}

/// ArcFace's target cosine: `cos(theta + m)` while `theta + m` stays within pi, beyond that
/// `cos(theta) - m sin(m)`, which keeps the logit decreasing in the angle.
pub(crate) fn additive_angular_margin(target_cosine: &Tensor, m: f64) -> Tensor {
    let angles = target_cosine.clamp(-1.0, 1.0).acos();
    let within = angles.le(std::f64::consts::PI - m);
    (&angles + m).cos().where_self(&within, &(angles.cos() - m * m.sin()))
}

/// The cosines with each row's target entry moved from `target_cosine` to `modified` (both one
/// per row), by adding the difference on a one-hot mask as PML does, so that the rounding is
/// the same as PML's.
pub(crate) fn with_target_cosine(cosine: &Tensor, labels: &Tensor, target_cosine: &Tensor, modified: &Tensor) -> Tensor {
    let mask = crate::indices::one_hot(labels, cosine.size()[1], cosine.kind());
    cosine + mask * (modified - target_cosine).unsqueeze(1)
}

/// Per-sample cross-entropy of the logits, times the miner weights of the tuples (PML's
/// `convert_to_weights`), through the reducer.
pub(crate) fn reduced_cross_entropy(logits: &Tensor, input: &LossInput<'_>, indices: Option<&Tuples>, reducer: &mut dyn Reducer) -> Result<Tensor> {
    let per_sample = logits.cross_entropy_loss::<Tensor>(&input.labels, None, tch::Reduction::None, -100, 0.0);
    let weights = sample_weights(indices, input.rows(), false, per_sample.kind(), per_sample.device());
    reduce(reducer, vec![SubLoss::new("loss", per_sample * weights, Reduction::Element)], input.embeddings, &input.labels)
}

/// Labels must index the loss's classes. One device sync for both ends of the range.
pub(crate) fn check_classes(module: &str, labels: &Tensor, num_classes: i64) -> Result<()> {
    let range = Vec::<i64>::try_from(Tensor::stack(&[labels.min(), labels.max()], 0)).map_err(|e| Error::data(format!("{module}: reading the labels' range: {e}")))?;
    check_label_range(module, range[0], range[1], num_classes)
}

fn check_label_range(module: &str, min: i64, max: i64, num_classes: i64) -> Result<()> {
    if min < 0 || max >= num_classes {
        return Err(Error::data(format!("{module}: labels must lie in 0..{num_classes}, one per class it scores; found {min}..={max}")));
    }
    Ok(())
}
