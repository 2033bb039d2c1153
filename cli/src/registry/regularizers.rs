//! Regularizers by PML's names, for any metric loss's `embedding_regularizer` and
//! `weight_regularizer` tables.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::regularizers::{CenterInvariantRegularizer, LpRegularizer, RegularFaceRegularizer, Regularizer, SparseCentersRegularizer, ZeroMeanRegularizer};

fn boxed(regularizer: impl Regularizer + 'static) -> metric_learning::Result<Box<dyn Regularizer>> {
    Ok(Box::new(regularizer))
}

pub static REGULARIZERS: Family<Box<dyn Regularizer>> = Family {
    word: "regularizer",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "LpRegularizer", params: LP, make: |p, _| boxed(LpRegularizer::new().p(p.float("p")).power(p.float("power"))) },
        Module { name: "ZeroMeanRegularizer", params: &[], make: |_, _| boxed(ZeroMeanRegularizer::new()) },
        Module { name: "CenterInvariantRegularizer", params: &[], make: |_, _| boxed(CenterInvariantRegularizer::new()) },
        Module { name: "RegularFaceRegularizer", params: &[], make: |_, _| boxed(RegularFaceRegularizer::new()) },
        Module {
            name: "SparseCentersRegularizer",
            params: SPARSE_CENTERS,
            make: |p, _| boxed(SparseCentersRegularizer::new(p.count("SparseCentersRegularizer", "num_classes", 1)? as i64, p.count("SparseCentersRegularizer", "centers_per_class", 2)? as i64)?),
        },
    ],
};

const LP: &[Param] = &[param("p", Kind::Float, Default::Float(2.0)), param("power", Kind::Float, Default::Float(1.0))];
const SPARSE_CENTERS: &[Param] = &[param("num_classes", Kind::Int, Default::Required), param("centers_per_class", Kind::Int, Default::Required)];
