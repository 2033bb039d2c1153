//! Image augmentations on tensors, run by the loader on its workers (the builders'
//! `.augmentation`) and by UnsupervisedEmbeddingsUsingAugmentations for its views: each takes
//! one sample of shape (channels, height, width), grey (1 channel) or RGB (3), with values in
//! `[0, 1]` (until `Normalize`), and draws its randomness from a seeded generator, so runs
//! repeat.

mod geometric;
mod photometric;

pub use geometric::{HorizontalFlip, RandomCrop, RandomResizedCrop};
pub use photometric::{ColorJitter, GaussianBlur, GaussianNoise, Normalize};

use crate::{Error, Result};
use rand::rngs::StdRng;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// One augmentation of one image. `Sync` because the loader's workers share one.
pub trait Transform: Send + Sync {
    /// The transformed image, of the same shape (but for `RandomCrop`'s height and width).
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor;
}

/// Several transforms, applied in order (torchvision's `Compose`).
pub struct Compose(pub Vec<Box<dyn Transform>>);

impl Transform for Compose {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        self.0.iter().fold(image.shallow_clone(), |x, t| t.apply(&x, rng))
    }
}

/// Each sample through each of several transforms, as one transform: a sample becomes its
/// views stacked along a new first dimension (PML's UnsupervisedEmbeddingsUsingAugmentations
/// collate, which the trainer runs on the loader's workers); [`flatten`](Self::flatten) turns
/// a batch of them into the views of every sample and their pseudo-labels.
#[derive(Clone)]
pub struct Augmentations {
    transforms: Arc<Vec<Box<dyn Transform>>>,
    image_shape: Option<Vec<i64>>,
}

impl Augmentations {
    /// Views through these transforms.
    pub fn new(transforms: Vec<Box<dyn Transform>>) -> Augmentations {
        Augmentations { transforms: Arc::new(transforms), image_shape: None }
    }

    /// Samples are flat rows to be seen as images of this shape (Fashion-MNIST's 784 as
    /// `[1, 28, 28]`); views are flattened back.
    pub fn image_shape(mut self, shape: impl Into<Vec<i64>>) -> Self {
        self.image_shape = Some(shape.into());
        self
    }

    /// How many views each sample gives.
    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    /// Whether there are no transforms.
    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// `(views, pseudo_labels)` of a batch of samples that went through this transform (of
    /// shape `(batch, views, ...)`): views of shape `(batch * views, ...)`, grouped per sample,
    /// the views of sample `i` labelled `i`.
    ///
    /// # Errors
    /// When the batch does not have this many views per sample.
    pub fn flatten(&self, batch: &Tensor, device: Device) -> Result<(Tensor, Tensor)> {
        let size = batch.size();
        if size.len() < 2 || size[1] != self.len() as i64 {
            return Err(Error::data(format!(
                "augmentations: expected a batch of shape (samples, {} views, ...), found {size:?}",
                self.len()
            )));
        }
        let views = batch.f_flatten(0, 1)?;
        let labels = Tensor::f_arange(size[0], (Kind::Int64, device))?.f_repeat_interleave_self_int(self.len() as i64, 0, None)?;
        Ok((views, labels))
    }
}

impl Transform for Augmentations {
    /// The sample's views, stacked: `(views, ...)`. No transforms, or a sample that cannot be
    /// seen as the image shape, panics saying so, which the loader turns into an error.
    fn apply(&self, sample: &Tensor, rng: &mut StdRng) -> Tensor {
        assert!(!self.is_empty(), "augmentations: no transforms; each sample needs at least one view");
        let sample_shape = sample.size();
        let image = match &self.image_shape {
            Some(shape) => {
                let (want, have): (i64, i64) = (shape.iter().product(), sample_shape.iter().product());
                assert!(want == have, "augmentations: samples of shape {sample_shape:?} cannot be seen as images of shape {shape:?}");
                sample.reshape(shape.as_slice())
            }
            None => sample.shallow_clone(),
        };
        let views: Vec<Tensor> = self.transforms.iter().map(|t| t.apply(&image, rng).reshape(sample_shape.as_slice())).collect();
        Tensor::stack(&views, 0)
    }
}

/// A uniform draw in `[low, high)`.
pub(crate) fn uniform(rng: &mut StdRng, low: f64, high: f64) -> f64 {
    use rand::Rng;
    if high <= low { low } else { rng.gen_range(low..high) }
}
