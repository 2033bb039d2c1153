use super::{uniform, Transform};
use rand::rngs::StdRng;
use rand::Rng;
use tch::Tensor;

/// A random crop of random area and aspect ratio, resized back to the image's size
/// (torchvision's `RandomResizedCrop`, bilinear).
#[derive(Clone, Debug)]
pub struct RandomResizedCrop {
    scale: (f64, f64),
    ratio: (f64, f64),
}

impl Default for RandomResizedCrop {
    fn default() -> Self {
        RandomResizedCrop::new((0.08, 1.0))
    }
}

impl RandomResizedCrop {
    /// Crops covering `scale` of the area, aspect ratios in `[3/4, 4/3]`.
    pub fn new(scale: (f64, f64)) -> RandomResizedCrop {
        RandomResizedCrop { scale, ratio: (3.0 / 4.0, 4.0 / 3.0) }
    }

    /// `(top, left, height, width)` as torchvision draws it: ten tries, then the whole image.
    fn window(&self, height: i64, width: i64, rng: &mut StdRng) -> (i64, i64, i64, i64) {
        let area = (height * width) as f64;
        let (log_low, log_high) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * uniform(rng, self.scale.0, self.scale.1);
            let ratio = uniform(rng, log_low, log_high).exp();
            let w = (target * ratio).sqrt().round() as i64;
            let h = (target / ratio).sqrt().round() as i64;
            if 0 < w && w <= width && 0 < h && h <= height {
                return (rng.gen_range(0..=height - h), rng.gen_range(0..=width - w), h, w);
            }
        }
        (0, 0, height, width)
    }
}

impl Transform for RandomResizedCrop {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        let size = image.size();
        let (height, width) = (size[size.len() - 2], size[size.len() - 1]);
        let (top, left, h, w) = self.window(height, width, rng);
        let crop = image.narrow(-2, top, h).narrow(-1, left, w).unsqueeze(0);
        crop.upsample_bilinear2d([height, width], false, None, None).squeeze_dim(0)
    }
}

/// Mirrors the image left to right with probability `p` (torchvision's `RandomHorizontalFlip`).
#[derive(Clone, Debug)]
pub struct HorizontalFlip {
    p: f64,
}

impl Default for HorizontalFlip {
    fn default() -> Self {
        HorizontalFlip::new(0.5)
    }
}

impl HorizontalFlip {
    /// Flips with probability `p`.
    pub fn new(p: f64) -> HorizontalFlip {
        HorizontalFlip { p }
    }
}

impl Transform for HorizontalFlip {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        if rng.gen::<f64>() < self.p { image.flip([-1i64]) } else { image.shallow_clone() }
    }
}

/// A crop of a fixed size at a random place (torchvision's `RandomCrop`, without padding): the
/// one transform here that changes the image's size, as training on crops of larger stored
/// images does.
#[derive(Clone, Debug)]
pub struct RandomCrop {
    height: i64,
    width: i64,
}

impl RandomCrop {
    /// Crops of `height x width`.
    pub fn new(height: i64, width: i64) -> RandomCrop {
        RandomCrop { height, width }
    }
}

impl Transform for RandomCrop {
    /// An image smaller than the crop panics with both sizes (the loader makes it an error).
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        let size = image.size();
        let (height, width) = (size[size.len() - 2], size[size.len() - 1]);
        assert!(
            self.height <= height && self.width <= width,
            "RandomCrop: a {}x{} crop of an image of {height}x{width}",
            self.height,
            self.width
        );
        let top = rng.gen_range(0..=height - self.height);
        let left = rng.gen_range(0..=width - self.width);
        image.narrow(-2, top, self.height).narrow(-1, left, self.width)
    }
}
