use super::{uniform, Transform};
use rand::rngs::StdRng;
use tch::{Kind, Tensor};

/// Random brightness, contrast and (for RGB) saturation, each a factor drawn from
/// `[1 - x, 1 + x]` (torchvision's `ColorJitter`, applied in that order).
#[derive(Clone, Debug, Default)]
pub struct ColorJitter {
    brightness: f64,
    contrast: f64,
    saturation: f64,
}

impl ColorJitter {
    /// Jitter amounts; 0 leaves that property alone.
    pub fn new(brightness: f64, contrast: f64, saturation: f64) -> ColorJitter {
        ColorJitter { brightness, contrast, saturation }
    }
}

fn grey(image: &Tensor) -> Tensor {
    if image.size()[0] == 3 {
        let w = Tensor::from_slice(&[0.299f32, 0.587, 0.114]).to_kind(image.kind()).to_device(image.device()).view([3, 1, 1]);
        (image * w).sum_dim_intlist(0i64, true, None::<Kind>)
    } else {
        image.shallow_clone()
    }
}

impl Transform for ColorJitter {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        let factor = |rng: &mut StdRng, x: f64| uniform(rng, (1.0 - x).max(0.0), 1.0 + x);
        let mut out = image.shallow_clone();
        if self.brightness > 0.0 {
            out = (out * factor(rng, self.brightness)).clamp(0.0, 1.0);
        }
        if self.contrast > 0.0 {
            let mean = grey(&out).mean(None::<Kind>);
            out = ((&out - &mean) * factor(rng, self.contrast) + &mean).clamp(0.0, 1.0);
        }
        if self.saturation > 0.0 && out.size()[0] == 3 {
            let g = grey(&out);
            out = ((&out - &g) * factor(rng, self.saturation) + &g).clamp(0.0, 1.0);
        }
        out
    }
}

/// A standard normal draw (Box-Muller), so that noise comes from the seeded generator.
fn standard_normal(rng: &mut StdRng) -> f64 {
    use rand::Rng;
    let (u, v): (f64, f64) = (rng.gen::<f64>().max(f64::MIN_POSITIVE), rng.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Adds Gaussian noise of standard deviation `std`, drawn from the seeded generator.
#[derive(Clone, Debug)]
pub struct GaussianNoise {
    std: f64,
}

impl GaussianNoise {
    /// Noise with this standard deviation.
    pub fn new(std: f64) -> GaussianNoise {
        GaussianNoise { std }
    }
}

impl Transform for GaussianNoise {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        let noise: Vec<f32> = (0..image.numel()).map(|_| (standard_normal(rng) * self.std) as f32).collect();
        image + Tensor::from_slice(&noise).to_kind(image.kind()).to_device(image.device()).view(image.size().as_slice())
    }
}

/// Blurs with a Gaussian kernel of odd size `kernel_size` and a standard deviation drawn from
/// `sigma` (torchvision's `GaussianBlur`, zero padding).
#[derive(Clone, Debug)]
pub struct GaussianBlur {
    kernel_size: i64,
    sigma: (f64, f64),
}

impl GaussianBlur {
    /// A `kernel_size` kernel (made odd), sigma drawn from `[sigma.0, sigma.1]`.
    pub fn new(kernel_size: i64, sigma: (f64, f64)) -> GaussianBlur {
        GaussianBlur { kernel_size: kernel_size.max(1) | 1, sigma }
    }
}

impl Transform for GaussianBlur {
    fn apply(&self, image: &Tensor, rng: &mut StdRng) -> Tensor {
        let sigma = uniform(rng, self.sigma.0, self.sigma.1).max(1e-3);
        let half = self.kernel_size / 2;
        let weights: Vec<f32> = (-half..=half).map(|x| (-(x * x) as f64 / (2.0 * sigma * sigma)).exp() as f32).collect();
        let kernel = Tensor::from_slice(&weights).to_kind(image.kind()).to_device(image.device());
        let kernel = &kernel / kernel.sum(None::<Kind>);
        let channels = image.size()[0];
        let x = image.unsqueeze(0);
        let horizontal = kernel.view([1, 1, 1, -1]).repeat([channels, 1, 1, 1]);
        let vertical = kernel.view([1, 1, -1, 1]).repeat([channels, 1, 1, 1]);
        let x = x.conv2d(&horizontal, None::<Tensor>, [1, 1], [0, half], [1, 1], channels);
        x.conv2d(&vertical, None::<Tensor>, [1, 1], [half, 0], [1, 1], channels).squeeze_dim(0)
    }
}

/// `(x - mean) / std` per channel (torchvision's `Normalize`).
#[derive(Clone, Debug)]
pub struct Normalize {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Normalize {
    /// One mean and standard deviation per channel.
    pub fn new(mean: impl Into<Vec<f64>>, std: impl Into<Vec<f64>>) -> Normalize {
        Normalize { mean: mean.into(), std: std.into() }
    }
}

impl Transform for Normalize {
    fn apply(&self, image: &Tensor, _: &mut StdRng) -> Tensor {
        let per_channel = |v: &[f64]| Tensor::from_slice(v).to_kind(image.kind()).to_device(image.device()).view([-1, 1, 1]);
        (image - per_channel(&self.mean)) / per_channel(&self.std)
    }
}
