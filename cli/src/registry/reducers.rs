//! Reducers by PML's names, for a loss's `reducer` table.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::reducers::{AvgNonZeroReducer, DivisorReducer, DoNothingReducer, MeanReducer, PerAnchorReducer, Reducer, SumReducer, ThresholdReducer};
use metric_learning::Error;

fn boxed(reducer: impl Reducer + 'static) -> metric_learning::Result<Box<dyn Reducer>> {
    Ok(Box::new(reducer))
}

pub static REDUCERS: Family<Box<dyn Reducer>> = Family {
    word: "reducer",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "MeanReducer", params: &[], make: |_, _| boxed(MeanReducer) },
        Module { name: "SumReducer", params: &[], make: |_, _| boxed(SumReducer) },
        Module { name: "DoNothingReducer", params: &[], make: |_, _| boxed(DoNothingReducer) },
        Module { name: "AvgNonZeroReducer", params: &[], make: |_, _| boxed(AvgNonZeroReducer::avg_non_zero()) },
        Module { name: "DivisorReducer", params: &[], make: |_, _| boxed(DivisorReducer::new()) },
        Module {
            name: "ThresholdReducer",
            params: THRESHOLD,
            make: |p, _| {
                let bound = |name| p.has(name).then(|| p.float(name));
                let (low, high) = (bound("low"), bound("high"));
                if low.is_none() && high.is_none() {
                    return Err(Error::config("ThresholdReducer needs `low`, `high` or both"));
                }
                boxed(ThresholdReducer::new(low, high))
            },
        },
        Module {
            name: "PerAnchorReducer",
            params: PER_ANCHOR,
            make: |p, context| {
                let reducer = PerAnchorReducer::new();
                boxed(match p.reducer("reducer", context)? {
                    Some(inner) => reducer.reducer(inner),
                    None => reducer,
                })
            },
        },
    ],
};

const THRESHOLD: &[Param] = &[param("low", Kind::Float, Default::Absent), param("high", Kind::Float, Default::Absent)];
const PER_ANCHOR: &[Param] = &[param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
