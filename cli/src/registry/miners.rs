//! Tuple miners by PML's names.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::prelude::*;

pub static MINERS: Family<Box<dyn TupleMiner>> = Family {
    word: "miner",
    modules: &[
        Module { name: "MultiSimilarityMiner", params: MULTI_SIMILARITY, make: |p, _| Ok(Box::new(MultiSimilarityMiner::new(p.float("epsilon")))) },
        Module {
            name: "TripletMarginMiner",
            params: TRIPLET_MARGIN,
            make: |p, _| {
                let kind = match p.text("type_of_triplets") {
                    "all" => TripletType::All,
                    "hard" => TripletType::Hard,
                    "semihard" => TripletType::Semihard,
                    "easy" => TripletType::Easy,
                    other => return Err(Error::mismatch("TripletMarginMiner's type_of_triplets", "\"all\", \"hard\", \"semihard\" or \"easy\"", format!("{other:?}"))),
                };
                Ok(Box::new(TripletMarginMiner::new(p.float("margin"), kind)))
            },
        },
    ],
};

const MULTI_SIMILARITY: &[Param] = &[param("epsilon", Kind::Float, Default::Float(0.1))];
const TRIPLET_MARGIN: &[Param] = &[param("margin", Kind::Float, Default::Float(0.2)), param("type_of_triplets", Kind::Text, Default::Text("all"))];
