//! Distances by PML's names, for a loss's or miner's `distance` table.

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::distances::{CosineSimilarity, Distance, DotProductSimilarity, LpDistance, SnrDistance};

fn boxed(distance: impl Distance + 'static) -> metric_learning::Result<Box<dyn Distance>> {
    Ok(Box::new(distance))
}

pub static DISTANCES: Family<Box<dyn Distance>> = Family {
    word: "distance",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module {
            name: "LpDistance",
            params: LP,
            make: |p, _| boxed(LpDistance::new().p(p.float("p")).power(p.float("power")).normalize_embeddings(p.bool("normalize_embeddings"))),
        },
        Module { name: "CosineSimilarity", params: &[], make: |_, _| boxed(CosineSimilarity::new()) },
        Module { name: "DotProductSimilarity", params: COMMON, make: |p, _| boxed(common(DotProductSimilarity::new(), p)) },
        Module { name: "SNRDistance", params: COMMON, make: |p, _| boxed(SnrDistance::new().power(p.float("power")).normalize_embeddings(p.bool("normalize_embeddings"))) },
    ],
};

fn common(distance: DotProductSimilarity, p: &Params) -> DotProductSimilarity {
    distance.power(p.float("power")).normalize_embeddings(p.bool("normalize_embeddings"))
}

const LP: &[Param] = &[
    param("p", Kind::Float, Default::Float(2.0)),
    param("power", Kind::Float, Default::Float(1.0)),
    param("normalize_embeddings", Kind::Bool, Default::Bool(true)),
];
const COMMON: &[Param] = &[param("power", Kind::Float, Default::Float(1.0)), param("normalize_embeddings", Kind::Bool, Default::Bool(true))];
