//! Losses by PML's names. A metric loss and a classifier loss are different values: a key
//! declared `Box<dyn ClassifierLoss>` refuses a metric loss by name, before anything runs.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::prelude::*;

/// A loss made from the file: the declaration's key says which kind it must be.
pub enum Loss {
    Metric(Box<dyn MetricLoss>),
    Classifier(Box<dyn ClassifierLoss>),
}

impl Loss {
    pub fn word(&self) -> &'static str {
        match self {
            Loss::Metric(_) => "a metric loss (Box<dyn MetricLoss>)",
            Loss::Classifier(_) => "a classifier loss (Box<dyn ClassifierLoss>)",
        }
    }
}

fn metric(loss: impl MetricLoss + 'static) -> metric_learning::Result<Loss> {
    Ok(Loss::Metric(Box::new(loss)))
}

pub static LOSSES: Family<Loss> = Family {
    word: "loss",
    modules: &[
        Module {
            name: "TripletMarginLoss",
            params: TRIPLET_MARGIN,
            make: |p, _| metric(TripletMarginLoss::new().margin(p.float("margin")).swap(p.bool("swap")).smooth_loss(p.bool("smooth_loss"))),
        },
        Module { name: "ContrastiveLoss", params: CONTRASTIVE, make: |p, _| metric(ContrastiveLoss::new().pos_margin(p.float("pos_margin")).neg_margin(p.float("neg_margin"))) },
        Module {
            name: "MultiSimilarityLoss",
            params: MULTI_SIMILARITY,
            make: |p, _| metric(MultiSimilarityLoss::new().alpha(p.float("alpha")).beta(p.float("beta")).base(p.float("base"))),
        },
        Module { name: "NTXentLoss", params: TEMPERATURE, make: |p, _| metric(NTXentLoss::new(p.float("temperature"))) },
        Module { name: "SupConLoss", params: SUPCON, make: |p, _| metric(SupConLoss::new(p.float("temperature"))) },
        Module { name: "CircleLoss", params: &[], make: |_, _| metric(CircleLoss::new()) },
        Module { name: "CrossEntropyLoss", params: &[], make: |_, _| Ok(Loss::Classifier(Box::new(CrossEntropyLoss::new()))) },
    ],
};

const TRIPLET_MARGIN: &[Param] = &[
    param("margin", Kind::Float, Default::Float(0.05)),
    param("swap", Kind::Bool, Default::Bool(false)),
    param("smooth_loss", Kind::Bool, Default::Bool(false)),
];
const CONTRASTIVE: &[Param] = &[param("pos_margin", Kind::Float, Default::Float(0.0)), param("neg_margin", Kind::Float, Default::Float(1.0))];
const MULTI_SIMILARITY: &[Param] =
    &[param("alpha", Kind::Float, Default::Float(2.0)), param("beta", Kind::Float, Default::Float(50.0)), param("base", Kind::Float, Default::Float(0.5))];
const TEMPERATURE: &[Param] = &[param("temperature", Kind::Float, Default::Float(0.07))];
const SUPCON: &[Param] = &[param("temperature", Kind::Float, Default::Float(0.1))];
