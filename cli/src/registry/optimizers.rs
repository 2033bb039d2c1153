//! Optimizers by PyTorch's names, with its parameter names (`lr`).

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::optim::Optimizer;
use metric_learning::prelude::*;

pub static OPTIMIZERS: Family<Box<dyn Optimizer>> = Family {
    word: "optimizer",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module {
            name: "SGD",
            params: SGD,
            make: |p, _| Ok(Box::new(Sgd::new(p.float("lr")).momentum(p.float("momentum")).nesterov(p.bool("nesterov")).weight_decay(p.float("weight_decay")))),
        },
        Module { name: "Adam", params: ADAM, make: |p, _| Ok(Box::new(Adam::new(p.float("lr")).weight_decay(p.float("weight_decay")))) },
        Module { name: "AdamW", params: ADAMW, make: |p, _| Ok(Box::new(AdamW::new(p.float("lr")).weight_decay(p.float("weight_decay")))) },
    ],
};

const SGD: &[Param] = &[
    param("lr", Kind::Float, Default::Required),
    param("momentum", Kind::Float, Default::Float(0.0)),
    param("nesterov", Kind::Bool, Default::Bool(false)),
    param("weight_decay", Kind::Float, Default::Float(0.0)),
];
const ADAM: &[Param] = &[param("lr", Kind::Float, Default::Float(0.001)), param("weight_decay", Kind::Float, Default::Float(0.0))];
const ADAMW: &[Param] = &[param("lr", Kind::Float, Default::Float(0.001)), param("weight_decay", Kind::Float, Default::Float(0.01))];
