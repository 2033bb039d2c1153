//! Gradient clippers by PyTorch's function names (`clip_grad_norm_`'s `max_norm`).

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::optim::{ClipGradNorm, ClipGradValue, GradClipper};
use metric_learning::Error;

pub static CLIPPERS: Family<Box<dyn GradClipper>> = Family {
    word: "gradient clipper",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module {
            name: "ClipGradNorm",
            params: NORM,
            make: |p, _| {
                let (max_norm, norm_type) = (p.float("max_norm"), p.float("norm_type"));
                if !(max_norm > 0.0) || !(norm_type > 0.0) {
                    return Err(Error::mismatch("ClipGradNorm's max_norm and norm_type", "positive numbers", format!("{max_norm} and {norm_type}")));
                }
                Ok(Box::new(ClipGradNorm::new(max_norm).norm_type(norm_type)))
            },
        },
        Module {
            name: "ClipGradValue",
            params: VALUE,
            make: |p, _| {
                let clip_value = p.float("clip_value");
                if !(clip_value > 0.0) {
                    return Err(Error::mismatch("ClipGradValue's clip_value", "a positive number", clip_value.to_string()));
                }
                Ok(Box::new(ClipGradValue::new(clip_value)))
            },
        },
    ],
};

const NORM: &[Param] = &[param("max_norm", Kind::Float, Default::Required), param("norm_type", Kind::Float, Default::Float(2.0))];
const VALUE: &[Param] = &[param("clip_value", Kind::Float, Default::Required)];
