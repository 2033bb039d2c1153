use super::learned_weights::LearnedWeights;
use super::margin_softmax::{classification_input, reduced_cross_entropy};
use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{MeanReducer, Reducer};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// SoftTriple (Qian et al., 2019): `centers_per_class` learned centers per class; an
/// embedding's similarity to a class is the softmax-weighted (at `1 / gamma`) mean of its
/// similarities to the class's centers, and the loss is the cross-entropy over those at scale
/// `la`, with `margin` off the target class (PML's `SoftTripleLoss`: cosine similarity,
/// `MeanReducer`, no center regulariser). The centers are a parameter: give the loss key an
/// optimizer.
#[derive(Debug)]
pub struct SoftTripleLoss {
    num_classes: i64,
    centers_per_class: i64,
    la: f64,
    gamma: f64,
    margin: f64,
    centers: LearnedWeights,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

/// PML's initialisation: `kaiming_uniform_(a = sqrt 5)` of an (embedding_size,
/// num_classes * centers_per_class) matrix, whose fan-in is its second dimension; that is
/// U(-b, b) with `b = 1 / sqrt(fan_in)`.
fn centers(embedding_size: i64, columns: i64, device: Device) -> LearnedWeights {
    let bound = 1.0 / (columns.max(1) as f64).sqrt();
    LearnedWeights::new("fc", [embedding_size, columns], Init::Uniform { lo: -bound, up: bound }, device)
}

impl SoftTripleLoss {
    /// Centers of shape (embedding_size, num_classes * 10), initialised as PML's, on the CUDA
    /// device when there is one; `la` 20, `gamma` 0.1, `margin` 0.01.
    pub fn new(num_classes: i64, embedding_size: i64) -> SoftTripleLoss {
        SoftTripleLoss {
            num_classes,
            centers_per_class: 10,
            la: 20.0,
            gamma: 0.1,
            margin: 0.01,
            centers: centers(embedding_size, num_classes * 10, Device::cuda_if_available()),
            distance: Box::new(CosineSimilarity::new()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// How many centers each class has; draws new centers of the new shape (on the same device).
    pub fn centers_per_class(mut self, centers_per_class: i64) -> Self {
        self.centers_per_class = centers_per_class;
        let embedding_size = self.centers.weights.size()[0];
        self.centers = centers(embedding_size, self.num_classes * centers_per_class, self.centers.vs.device());
        self
    }

    /// The scale of the class similarities in the cross-entropy (PML's `la`, lambda).
    pub fn la(mut self, la: f64) -> Self {
        self.la = la;
        self
    }

    /// The temperature of the softmax over a class's centers; PML records its inverse as
    /// `gamma`.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// Subtracted from the similarity to the target class.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The similarity between embeddings and centers: a similarity (larger is closer) only,
    /// as PML asserts; another is refused when the loss is computed.
    pub fn distance(mut self, distance: impl Distance + 'static) -> Self {
        self.distance = Box::new(distance);
        self
    }

    /// How the per-sample values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// The similarity of each embedding to each class, (batch, num_classes) (PML's
    /// `get_logits`).
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        // The centers are ordered center-major (all classes' first centers, then their second...)
        // before the distance, so that the softmax over a class's few centers runs across
        // contiguous rows of classes rather than along rows of 10: a fifth less time at batch
        // 1024, where the softmax is the largest cost after the matrix product.
        let embedding_size = self.centers.weights.size()[0];
        let centers = self
            .centers
            .weights
            .to_kind(embeddings.kind())
            .view([embedding_size, self.num_classes, self.centers_per_class])
            .permute([2, 1, 0])
            .reshape([self.centers_per_class * self.num_classes, embedding_size]);
        let to_centers = self.distance.matrix(embeddings, &centers).view([-1, self.centers_per_class, self.num_classes]);
        let weights = (&to_centers * (1.0 / self.gamma)).softmax(1, None::<Kind>);
        (weights * to_centers).sum_dim_intlist(1i64, false, None::<Kind>)
    }
}

super::learned_weights::accessors!(SoftTripleLoss, centers, weights, set_weights, "centres, `(embedding_size, num_classes * centers_per_class)`");

impl Component for SoftTripleLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.centers.vs)
    }

    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "la", value: self.la },
            Record { name: "gamma", value: 1.0 / self.gamma },
            Record { name: "margin", value: self.margin },
            Record { name: "centers_per_class", value: self.centers_per_class as f64 },
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "embedding_size", value: self.centers.weights.size()[0] as f64 },
        ];
        records.extend(self.distance.records());
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for SoftTripleLoss {
    /// The centres as rows, `(num_classes * centers_per_class, embedding_size)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.centers.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if !self.distance.is_inverted() {
            return Err(Error::data("SoftTripleLoss: the distance must be a similarity (larger is closer), such as CosineSimilarity"));
        }
        if self.centers_per_class < 1 {
            return Err(Error::data(format!("SoftTripleLoss: centers_per_class must be at least 1, found {}", self.centers_per_class)));
        }
        let input = classification_input("SoftTripleLoss", embeddings, labels, indices, reference, self.centers.weights.size()[0], self.num_classes)?;
        let to_classes = self.logits(embeddings);
        let margin = crate::indices::one_hot(&input.labels, self.num_classes, to_classes.kind()) * self.margin;
        let logits = (to_classes - margin) * self.la;
        reduced_cross_entropy(&logits, &input, indices, self.reducer.as_mut())
    }
}
