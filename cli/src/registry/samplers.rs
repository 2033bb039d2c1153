//! Samplers by PML's (and PyTorch's) names; they see the training set's labels.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::prelude::*;
use metric_learning::samplers::{FixedSetOfTriplets, HierarchicalSampler, RandomSampler, SequentialSampler};

pub static SAMPLERS: Family<Box<dyn Sampler>> = Family {
    word: "sampler",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module {
            name: "MPerClassSampler",
            params: M_PER_CLASS,
            make: |p, context| {
                let mut sampler = MPerClassSampler::new(context.labels, p.count("MPerClassSampler", "m", 1)?);
                if p.has("length_before_new_iter") {
                    sampler = sampler.length_before_new_iter(p.count("MPerClassSampler", "length_before_new_iter", 1)?);
                }
                if p.has("batch_size") {
                    sampler = sampler.batch_size(p.count("MPerClassSampler", "batch_size", 1)?);
                }
                Ok(Box::new(sampler))
            },
        },
        Module {
            name: "RandomSampler",
            params: RANDOM,
            make: |p, context| {
                let n = context.labels.len();
                Ok(match (p.bool("replacement"), p.has("num_samples")) {
                    (true, _) => Box::new(RandomSampler::with_replacement(n, if p.has("num_samples") { p.count("RandomSampler", "num_samples", 1)? } else { n })),
                    (false, false) => Box::new(RandomSampler::new(n)),
                    (false, true) => return Err(Error::config("RandomSampler: `num_samples` needs `replacement = true` (a permutation has the dataset's length)")),
                })
            },
        },
        Module { name: "SequentialSampler", params: &[], make: |_, context| Ok(Box::new(SequentialSampler::new(context.labels.len()))) },
        Module {
            name: "HierarchicalSampler",
            params: HIERARCHICAL,
            make: |p, context| {
                let count = |name| p.count("HierarchicalSampler", name, 1);
                let level = |name| p.count("HierarchicalSampler", name, 0);
                let sampler = HierarchicalSampler::new(
                    context.label_rows,
                    count("batch_size")?,
                    count("samples_per_class")?,
                    count("batches_per_super_tuple")?,
                    count("super_classes_per_batch")?,
                    level("inner_label")?,
                    level("outer_label")?,
                )?;
                Ok(Box::new(sampler))
            },
        },
        Module {
            name: "FixedSetOfTriplets",
            params: FIXED_TRIPLETS,
            make: |p, context| Ok(Box::new(FixedSetOfTriplets::new(context.labels, p.count("FixedSetOfTriplets", "num_triplets", 1)?, p.int("seed").unwrap_or(0).max(0) as u64))),
        },
    ],
};

const M_PER_CLASS: &[Param] = &[
    param("m", Kind::Int, Default::Required),
    param("batch_size", Kind::Int, Default::Absent),
    param("length_before_new_iter", Kind::Int, Default::Absent),
];
const RANDOM: &[Param] = &[param("replacement", Kind::Bool, Default::Bool(false)), param("num_samples", Kind::Int, Default::Absent)];
const HIERARCHICAL: &[Param] = &[
    param("batch_size", Kind::Int, Default::Required),
    param("samples_per_class", Kind::Int, Default::Required),
    param("batches_per_super_tuple", Kind::Int, Default::Int(4)),
    param("super_classes_per_batch", Kind::Int, Default::Int(2)),
    param("inner_label", Kind::Int, Default::Int(0)),
    param("outer_label", Kind::Int, Default::Int(1)),
];
const FIXED_TRIPLETS: &[Param] = &[param("num_triplets", Kind::Int, Default::Required), param("seed", Kind::Int, Default::Int(0))];
