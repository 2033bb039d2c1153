//! Samplers by PML's names; they see the training set's labels.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::prelude::*;

pub static SAMPLERS: Family<Box<dyn Sampler>> = Family {
    word: "sampler",
    modules: &[Module {
        name: "MPerClassSampler",
        params: M_PER_CLASS,
        make: |p, context| {
            let m = p.int("m").unwrap_or(0);
            if m < 1 {
                return Err(Error::mismatch("MPerClassSampler's m", "at least 1", m.to_string()));
            }
            let mut sampler = MPerClassSampler::new(context.labels, m as usize);
            if let Some(length) = p.int("length_before_new_iter") {
                sampler = sampler.length_before_new_iter(length.max(0) as usize);
            }
            if let Some(batch) = p.int("batch_size") {
                sampler = sampler.batch_size(batch.max(0) as usize);
            }
            Ok(Box::new(sampler))
        },
    }],
};

const M_PER_CLASS: &[Param] = &[
    param("m", Kind::Int, Default::Required),
    param("batch_size", Kind::Int, Default::Absent),
    param("length_before_new_iter", Kind::Int, Default::Absent),
];
