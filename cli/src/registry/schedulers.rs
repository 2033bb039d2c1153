//! Learning-rate schedulers by PyTorch's names, each with when it steps (`step = "epoch"` or
//! `"iteration"`, PML's `_scheduler_by_epoch` / `_by_iteration` suffixes; ReduceLROnPlateau
//! steps on the validation score).

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::optim::{CosineAnnealingLr, ExponentialLr, LinearLr, LrScheduler, MultiStepLr, PlateauMode, ReduceLrOnPlateau, StepLr, StepType};
use metric_learning::{Error, Result};

/// A scheduler and when it steps.
pub type Scheduler = (StepType, Box<dyn LrScheduler>);

fn stepped(p: &Params, module: &str, scheduler: impl LrScheduler + 'static) -> Result<Scheduler> {
    let step = match p.text("step") {
        "epoch" => StepType::Epoch,
        "iteration" => StepType::Iteration,
        other => return Err(Error::mismatch(format!("{module}'s step"), "\"epoch\" or \"iteration\"", format!("{other:?}"))),
    };
    Ok((step, Box::new(scheduler)))
}

pub static SCHEDULERS: Family<Scheduler> = Family {
    word: "scheduler",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "StepLR", params: STEP, make: |p, _| stepped(p, "StepLR", StepLr::new(p.count("StepLR", "step_size", 1)?, p.float("gamma"))) },
        Module {
            name: "MultiStepLR",
            params: MULTI_STEP,
            make: |p, _| {
                let milestones = p.int_list("milestones");
                if milestones.iter().any(|&m| m < 1) {
                    return Err(Error::mismatch("MultiStepLR's milestones", "positive whole numbers", format!("{milestones:?}")));
                }
                stepped(p, "MultiStepLR", MultiStepLr::new(milestones.iter().map(|&m| m as usize).collect::<Vec<_>>(), p.float("gamma")))
            },
        },
        Module { name: "ExponentialLR", params: EXPONENTIAL, make: |p, _| stepped(p, "ExponentialLR", ExponentialLr::new(p.float("gamma"))) },
        Module {
            name: "CosineAnnealingLR",
            params: COSINE,
            make: |p, _| stepped(p, "CosineAnnealingLR", CosineAnnealingLr::new(p.count("CosineAnnealingLR", "T_max", 1)?, p.float("eta_min"))),
        },
        Module {
            name: "LinearLR",
            params: LINEAR,
            make: |p, _| stepped(p, "LinearLR", LinearLr::new(p.float("start_factor"), p.float("end_factor"), p.count("LinearLR", "total_iters", 1)?)),
        },
        Module {
            name: "ReduceLROnPlateau",
            params: PLATEAU,
            make: |p, _| {
                let mode = match p.text("mode") {
                    "min" => PlateauMode::Min,
                    "max" => PlateauMode::Max,
                    other => return Err(Error::mismatch("ReduceLROnPlateau's mode", "\"min\" or \"max\"", format!("{other:?}"))),
                };
                let scheduler = ReduceLrOnPlateau::new(mode)
                    .factor(p.float("factor"))
                    .patience(p.count("ReduceLROnPlateau", "patience", 0)?)
                    .threshold(p.float("threshold"))
                    .cooldown(p.count("ReduceLROnPlateau", "cooldown", 0)?)
                    .min_lr(p.float("min_lr"));
                Ok((StepType::Plateau, Box::new(scheduler)))
            },
        },
    ],
};

const STEP: &[Param] = &[param("step_size", Kind::Int, Default::Required), param("gamma", Kind::Float, Default::Float(0.1)), param("step", Kind::Text, Default::Text("epoch"))];
const MULTI_STEP: &[Param] = &[param("milestones", Kind::IntList, Default::Required), param("gamma", Kind::Float, Default::Float(0.1)), param("step", Kind::Text, Default::Text("epoch"))];
const EXPONENTIAL: &[Param] = &[param("gamma", Kind::Float, Default::Required), param("step", Kind::Text, Default::Text("epoch"))];
const COSINE: &[Param] = &[param("T_max", Kind::Int, Default::Required), param("eta_min", Kind::Float, Default::Float(0.0)), param("step", Kind::Text, Default::Text("epoch"))];
const LINEAR: &[Param] = &[
    param("start_factor", Kind::Float, Default::Float(1.0 / 3.0)),
    param("end_factor", Kind::Float, Default::Float(1.0)),
    param("total_iters", Kind::Int, Default::Int(5)),
    param("step", Kind::Text, Default::Text("epoch")),
];
const PLATEAU: &[Param] = &[
    param("mode", Kind::Text, Default::Text("min")),
    param("factor", Kind::Float, Default::Float(0.1)),
    param("patience", Kind::Int, Default::Int(10)),
    param("threshold", Kind::Float, Default::Float(1e-4)),
    param("cooldown", Kind::Int, Default::Int(0)),
    param("min_lr", Kind::Float, Default::Float(0.0)),
];
