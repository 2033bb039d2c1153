//! Image augmentations on tensors, for UnsupervisedEmbeddingsUsingAugmentations: each takes one
//! sample of shape (channels, height, width), grey (1 channel) or RGB (3), with values in
//! `[0, 1]`, and draws its randomness from a seeded generator, so runs repeat.

mod geometric;
mod photometric;

pub use geometric::{HorizontalFlip, RandomResizedCrop};
pub use photometric::{ColorJitter, GaussianBlur, GaussianNoise, Normalize};

use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tch::{Device, Kind, Tensor};

/// One augmentation of one image. `Sync` because the loader's workers share one.
pub trait Transform: Send + Sync {
    /// The transformed image, of the same shape.
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor;
}

/// Several transforms, applied in order (torchvision's `Compose`).
pub struct Compose(pub Vec<Box<dyn Transform>>);

impl Transform for Compose {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        self.0.iter().fold(image.shallow_clone(), |x, t| t.apply(&x, rng))
    }
}

/// Each sample of a batch through each of several transforms, with pseudo-labels: the views
/// of sample `i` are labelled `i` (PML's UnsupervisedEmbeddingsUsingAugmentations collate).
pub struct Augmentations {
    transforms: Vec<Box<dyn Transform>>,
    image_shape: Option<Vec<i64>>,
    seed: u64,
    rng: StdRng,
}

impl Augmentations {
    /// Views through these transforms, seeded with 0.
    pub fn new(transforms: Vec<Box<dyn Transform>>) -> Augmentations {
        Augmentations { transforms, image_shape: None, seed: 0, rng: StdRng::seed_from_u64(0) }
    }

    /// Samples are flat rows to be seen as images of this shape (Fashion-MNIST's 784 as
    /// `[1, 28, 28]`); views are flattened back.
    pub fn image_shape(mut self, shape: impl Into<Vec<i64>>) -> Self {
        self.image_shape = Some(shape.into());
        self
    }

    /// Seeds the random draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Restarts the draws from this seed combined with [`seed`](Self::seed)'s: a trainer calls
    /// it with each iteration's seed, so that a resumed run augments as the uninterrupted one.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(self.seed ^ seed.rotate_left(29));
    }

    /// How many views each sample gives.
    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    /// Whether there are no transforms.
    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// `(views, pseudo_labels)`: views of shape `(batch * transforms, ...)`, grouped per sample.
    ///
    /// # Errors
    /// When there are no transforms, or a sample cannot be seen as the image shape.
    pub fn views(&mut self, batch: &Tensor, device: Device) -> Result<(Tensor, Tensor)> {
        if self.transforms.is_empty() {
            return Err(Error::config("UnsupervisedEmbeddingsUsingAugmentations: no transforms; each sample needs at least one view"));
        }
        let samples = batch.size()[0];
        let sample_shape: Vec<i64> = batch.size()[1..].to_vec();
        if let Some(shape) = &self.image_shape {
            let (want, have): (i64, i64) = (shape.iter().product(), sample_shape.iter().product());
            if want != have {
                return Err(Error::data(format!("augmentations: samples of shape {sample_shape:?} cannot be seen as images of shape {shape:?}")));
            }
        }
        let mut views = Vec::with_capacity(samples as usize * self.transforms.len());
        for i in 0..samples {
            let sample = batch.get(i);
            let image = match &self.image_shape {
                Some(shape) => sample.reshape(shape.as_slice()),
                None => sample,
            };
            for transform in &self.transforms {
                views.push(transform.apply(&image, &mut self.rng).reshape(sample_shape.as_slice()));
            }
        }
        let labels = Tensor::arange(samples, (Kind::Int64, device)).repeat_interleave_self_int(self.transforms.len() as i64, 0, None);
        Ok((Tensor::stack(&views, 0), labels))
    }
}

/// A uniform draw in `[low, high)`.
pub(crate) fn uniform(rng: &mut StdRng, low: f64, high: f64) -> f64 {
    use rand::Rng;
    if high <= low { low } else { rng.gen_range(low..high) }
}
