//! Image transforms by torchvision's names, for the loader's `augmentation` and the views of
//! UnsupervisedEmbeddingsUsingAugmentations. They take (channels, height, width) images.

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::transforms::{ColorJitter, GaussianBlur, GaussianNoise, HorizontalFlip, Normalize, RandomCrop, RandomResizedCrop, Transform};
use metric_learning::{Error, Result};

fn boxed(transform: impl Transform + 'static) -> Result<Box<dyn Transform>> {
    Ok(Box::new(transform))
}

/// A `[low, high]` pair.
fn range(p: &Params, module: &str, name: &str) -> Result<(f64, f64)> {
    match p.float_list(name)[..] {
        [low, high] if low <= high => Ok((low, high)),
        _ => Err(Error::mismatch(format!("{module}'s {name}"), "[low, high] with low <= high", format!("{:?}", p.float_list(name)))),
    }
}

pub static TRANSFORMS: Family<Box<dyn Transform>> = Family {
    word: "transform",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "RandomResizedCrop", params: RESIZED_CROP, make: |p, _| boxed(RandomResizedCrop::new(range(p, "RandomResizedCrop", "scale")?)) },
        Module { name: "RandomHorizontalFlip", params: FLIP, make: |p, _| boxed(HorizontalFlip::new(p.float("p"))) },
        Module {
            name: "RandomCrop",
            params: CROP,
            make: |p, _| match p.int_list("size")[..] {
                [height, width] if height > 0 && width > 0 => boxed(RandomCrop::new(height, width)),
                _ => Err(Error::mismatch("RandomCrop's size", "[height, width], both positive", format!("{:?}", p.int_list("size")))),
            },
        },
        Module { name: "ColorJitter", params: JITTER, make: |p, _| boxed(ColorJitter::new(p.float("brightness"), p.float("contrast"), p.float("saturation"))) },
        Module { name: "GaussianNoise", params: NOISE, make: |p, _| boxed(GaussianNoise::new(p.float("std"))) },
        Module {
            name: "GaussianBlur",
            params: BLUR,
            make: |p, _| {
                let size = p.int("kernel_size").unwrap_or(0);
                if size < 1 || size % 2 == 0 {
                    return Err(Error::mismatch("GaussianBlur's kernel_size", "a positive odd number", size.to_string()));
                }
                boxed(GaussianBlur::new(size, range(p, "GaussianBlur", "sigma")?))
            },
        },
        Module {
            name: "Normalize",
            params: NORMALIZE,
            make: |p, _| {
                let (mean, std) = (p.float_list("mean"), p.float_list("std"));
                if mean.is_empty() || mean.len() != std.len() || std.iter().any(|&s| s <= 0.0) {
                    return Err(Error::mismatch("Normalize's mean and std", "lists of one value per channel, of one length, std positive", format!("mean {mean:?}, std {std:?}")));
                }
                boxed(Normalize::new(mean, std))
            },
        },
    ],
};

const RESIZED_CROP: &[Param] = &[param("scale", Kind::FloatList, Default::Required)];
const FLIP: &[Param] = &[param("p", Kind::Float, Default::Float(0.5))];
const CROP: &[Param] = &[param("size", Kind::IntList, Default::Required)];
const JITTER: &[Param] =
    &[param("brightness", Kind::Float, Default::Float(0.0)), param("contrast", Kind::Float, Default::Float(0.0)), param("saturation", Kind::Float, Default::Float(0.0))];
const NOISE: &[Param] = &[param("std", Kind::Float, Default::Required)];
const BLUR: &[Param] = &[param("kernel_size", Kind::Int, Default::Required), param("sigma", Kind::FloatList, Default::Required)];
const NORMALIZE: &[Param] = &[param("mean", Kind::FloatList, Default::Required), param("std", Kind::FloatList, Default::Required)];
