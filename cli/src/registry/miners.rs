//! Tuple miners by PML's names. `MaximumLossMiner` is left out: it is a subset-batch miner
//! (it chooses samples, not tuples, and wraps a loss), and no key a file fills takes one.

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::prelude::*;

fn boxed(miner: impl TupleMiner + 'static) -> metric_learning::Result<Box<dyn TupleMiner>> {
    Ok(Box::new(miner))
}

/// The miner with the file's `distance` table, where it gives one.
macro_rules! with_distance {
    ($miner:expr, $params:expr, $context:expr) => {{
        let miner = $miner;
        match $params.distance("distance", $context)? {
            Some(distance) => miner.distance(distance),
            None => miner,
        }
    }};
}

pub static MINERS: Family<Box<dyn TupleMiner>> = Family {
    word: "miner",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "MultiSimilarityMiner", params: MULTI_SIMILARITY, make: |p, c| boxed(with_distance!(MultiSimilarityMiner::new(p.float("epsilon")), p, c)) },
        Module {
            name: "TripletMarginMiner",
            params: TRIPLET_MARGIN,
            make: |p, c| {
                let kind = match p.text("type_of_triplets") {
                    "all" => TripletType::All,
                    "hard" => TripletType::Hard,
                    "semihard" => TripletType::Semihard,
                    "easy" => TripletType::Easy,
                    other => return Err(Error::mismatch("TripletMarginMiner's type_of_triplets", "\"all\", \"hard\", \"semihard\" or \"easy\"", format!("{other:?}"))),
                };
                boxed(with_distance!(TripletMarginMiner::new(p.float("margin"), kind), p, c))
            },
        },
        Module {
            name: "PairMarginMiner",
            params: PAIR_MARGIN,
            make: |p, c| boxed(with_distance!(PairMarginMiner::new(p.float("pos_margin"), p.float("neg_margin")), p, c)),
        },
        Module {
            name: "BatchEasyHardMiner",
            params: BATCH_EASY_HARD,
            make: |p, c| {
                let mut miner = BatchEasyHardMiner::new(strategy(p, "pos_strategy")?, strategy(p, "neg_strategy")?)?;
                if let Some((low, high)) = range(p, "allowed_pos_range")? {
                    miner = miner.allowed_pos_range(low, high);
                }
                if let Some((low, high)) = range(p, "allowed_neg_range")? {
                    miner = miner.allowed_neg_range(low, high);
                }
                boxed(with_distance!(miner, p, c))
            },
        },
        Module { name: "BatchHardMiner", params: DISTANCE_ONLY, make: |p, c| boxed(with_distance!(BatchHardMiner::new(), p, c)) },
        Module { name: "HDCMiner", params: HDC, make: |p, c| boxed(with_distance!(HdcMiner::new(p.float("filter_percentage")), p, c)) },
        Module {
            name: "UniformHistogramMiner",
            params: UNIFORM_HISTOGRAM,
            make: |p, c| {
                let count = |name: &str| p.count("UniformHistogramMiner", name, 0).map(|n| n as i64);
                let miner = UniformHistogramMiner::new(p.count("UniformHistogramMiner", "num_bins", 1)? as i64, count("pos_per_bin")?, count("neg_per_bin")?);
                boxed(with_distance!(miner, p, c))
            },
        },
        // Its distance is fixed (PML asserts normalised Euclidean): no `distance` parameter.
        Module { name: "AngularMiner", params: ANGULAR, make: |p, _| boxed(AngularMiner::new(p.float("angle"))) },
        // Its distance is fixed (PML asserts normalised Euclidean): no `distance` parameter.
        Module {
            name: "DistanceWeightedMiner",
            params: DISTANCE_WEIGHTED,
            make: |p, _| boxed(DistanceWeightedMiner::new(p.float("cutoff"), p.float("nonzero_loss_cutoff"))),
        },
        Module { name: "EmbeddingsAlreadyPackagedAsTriplets", params: &[], make: |_, _| boxed(EmbeddingsAlreadyPackagedAsTriplets::new()) },
    ],
};

const MULTI_SIMILARITY: &[Param] = &[param("epsilon", Kind::Float, Default::Float(0.1)), param("distance", Kind::Distance, Default::Module("CosineSimilarity()"))];
const TRIPLET_MARGIN: &[Param] = &[
    param("margin", Kind::Float, Default::Float(0.2)),
    param("type_of_triplets", Kind::Text, Default::Text("all")),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
];
const PAIR_MARGIN: &[Param] = &[
    param("pos_margin", Kind::Float, Default::Float(0.2)),
    param("neg_margin", Kind::Float, Default::Float(0.8)),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
];
/// Each range is `[low, high]`: only pairs whose distance lies within it are chosen.
const BATCH_EASY_HARD: &[Param] = &[
    param("pos_strategy", Kind::Text, Default::Text("easy")),
    param("neg_strategy", Kind::Text, Default::Text("semihard")),
    param("allowed_pos_range", Kind::FloatList, Default::Absent),
    param("allowed_neg_range", Kind::FloatList, Default::Absent),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
];
const DISTANCE_ONLY: &[Param] = &[param("distance", Kind::Distance, Default::Module("LpDistance()"))];
const HDC: &[Param] = &[param("filter_percentage", Kind::Float, Default::Float(0.5)), param("distance", Kind::Distance, Default::Module("LpDistance()"))];
const UNIFORM_HISTOGRAM: &[Param] = &[
    param("num_bins", Kind::Int, Default::Int(100)),
    param("pos_per_bin", Kind::Int, Default::Int(10)),
    param("neg_per_bin", Kind::Int, Default::Int(10)),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
];
/// Degrees, as PML takes it (it records radians).
const ANGULAR: &[Param] = &[param("angle", Kind::Float, Default::Float(20.0))];
const DISTANCE_WEIGHTED: &[Param] = &[param("cutoff", Kind::Float, Default::Float(0.5)), param("nonzero_loss_cutoff", Kind::Float, Default::Float(1.4))];

/// A `BatchEasyHardMiner` strategy by PML's name.
fn strategy(p: &Params, name: &str) -> metric_learning::Result<Strategy> {
    match p.text(name) {
        "easy" => Ok(Strategy::Easy),
        "semihard" => Ok(Strategy::Semihard),
        "hard" => Ok(Strategy::Hard),
        "all" => Ok(Strategy::All),
        other => Err(Error::mismatch(format!("BatchEasyHardMiner's {name}"), "\"easy\", \"semihard\", \"hard\" or \"all\"", format!("{other:?}"))),
    }
}

/// A `[low, high]` range the file gives, or `None`.
fn range(p: &Params, name: &str) -> metric_learning::Result<Option<(f64, f64)>> {
    if !p.has(name) {
        return Ok(None);
    }
    match p.float_list(name)[..] {
        [low, high] if low <= high => Ok(Some((low, high))),
        ref other => Err(Error::mismatch(format!("BatchEasyHardMiner's {name}"), "two numbers, [low, high] with low <= high", format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::losses::tests::{defaults_are_the_library_s, minimal, misspelt_text_is_refused, names_are_unique};
    use super::super::{Context, Value};
    use super::*;

    /// The library's own miner of that name, from its constructor alone (PML's defaults where
    /// it takes them as arguments). A miner added to the registry must be added here.
    fn library_miner(name: &str) -> Box<dyn Component> {
        match name {
            "MultiSimilarityMiner" => Box::new(MultiSimilarityMiner::default()),
            "TripletMarginMiner" => Box::new(TripletMarginMiner::default()),
            "PairMarginMiner" => Box::new(PairMarginMiner::default()),
            "BatchEasyHardMiner" => Box::new(BatchEasyHardMiner::new(Strategy::Easy, Strategy::Semihard).expect("PML's defaults")),
            "BatchHardMiner" => Box::new(BatchHardMiner::new()),
            "HDCMiner" => Box::new(HdcMiner::default()),
            "UniformHistogramMiner" => Box::new(UniformHistogramMiner::default()),
            "AngularMiner" => Box::new(AngularMiner::default()),
            "DistanceWeightedMiner" => Box::new(DistanceWeightedMiner::default()),
            "EmbeddingsAlreadyPackagedAsTriplets" => Box::new(EmbeddingsAlreadyPackagedAsTriplets::new()),
            other => panic!("{other}: no library constructor in the test; add it to `library_miner`"),
        }
    }

    #[test]
    fn every_default_is_the_library_s() {
        let radians: fn(f64) -> f64 = f64::to_radians;
        defaults_are_the_library_s(&MINERS, |miner| miner.records(), library_miner, &[("AngularMiner", "angle", radians)]);
    }

    #[test]
    fn names_are_unique_and_misspellings_refused() {
        names_are_unique(&MINERS);
        misspelt_text_is_refused(&MINERS);
    }

    #[test]
    fn batch_easy_hard_refuses_what_pml_refuses() {
        let module = MINERS.find("BatchEasyHardMiner").unwrap();
        let make = |settings: &[(&'static str, Value)]| {
            let mut params = minimal(module);
            for (name, value) in settings {
                params.set(name, value.clone());
            }
            (module.make)(&params, &Context::EMPTY).map(|_| ())
        };
        assert!(make(&[("pos_strategy", Value::Text("hard".into())), ("allowed_neg_range", Value::FloatList(vec![0.1, 0.9]))]).is_ok());
        assert!(make(&[("pos_strategy", Value::Text("semihard".into()))]).is_err(), "both semihard");
        assert!(matches!(make(&[("allowed_pos_range", Value::FloatList(vec![0.5]))]), Err(Error::Mismatch { .. })), "a range of one number");
        assert!(matches!(make(&[("allowed_pos_range", Value::FloatList(vec![0.9, 0.1]))]), Err(Error::Mismatch { .. })), "a range upside down");
    }
}
