//! Splitting a dataset into named parts (train / val / test), by class or by sample, with a
//! seed: what the testers take. Parts are [`Subset`]s, views that share the dataset.

use super::{Batch, Dataset, Labels, Sample};
use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What a split divides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitBy {
    /// Whole classes (of label level 0): no class is in two parts, as metric-learning benchmarks
    /// split (the test classes are unseen in training).
    Class,
    /// Samples: every part has samples of every class, in proportion.
    Sample,
}

/// Some samples of a dataset, by index: a view, not a copy.
#[derive(Clone)]
pub struct Subset {
    dataset: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// The samples of `dataset` at `indices`.
    ///
    /// # Errors
    /// When an index is past the dataset's end.
    pub fn new(dataset: Arc<dyn Dataset>, indices: Vec<usize>) -> Result<Subset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(Error::data(format!("subset index {bad} is past the dataset's {} samples", dataset.len())));
        }
        Ok(Subset { dataset, indices })
    }

    /// The dataset's indices of this subset's samples, in order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    fn map(&self, indices: &[usize]) -> Result<Vec<usize>> {
        indices
            .iter()
            .map(|&i| self.indices.get(i).copied().ok_or_else(|| Error::data(format!("index {i} is past the subset's {} samples", self.indices.len()))))
            .collect()
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        self.dataset.get(self.map(&[index])?[0])
    }

    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        self.dataset.get_batch(&self.map(indices)?)
    }

    fn labels(&self) -> Option<Labels> {
        Some(self.dataset.labels()?.select(&self.indices))
    }
}

/// Splits `dataset` into parts of the given fractions (which must sum to 1), by class or by
/// sample, shuffled with `seed`: the same seed gives the same parts. Rounding gives the last
/// part what the others leave.
///
/// ```no_run
/// # use metric_learning::data::{split, FashionMnist, Split, SplitBy};
/// # use std::sync::Arc;
/// # fn main() -> metric_learning::Result<()> {
/// let train = Arc::new(FashionMnist::load(Split::Train)?);
/// let parts = split(train, &[("train", 0.8), ("val", 0.2)], SplitBy::Class, 0)?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Config`] for fractions that are not positive or do not sum to 1, or no parts;
/// [`Error::Data`] when splitting by class a dataset that cannot list its labels, or with fewer
/// classes (or samples) than parts.
pub fn split(dataset: Arc<dyn Dataset>, parts: &[(&str, f64)], by: SplitBy, seed: u64) -> Result<Vec<(String, Subset)>> {
    if parts.is_empty() {
        return Err(Error::config("split: expected at least one part, found none"));
    }
    if let Some((name, f)) = parts.iter().find(|(_, f)| !(*f > 0.0 && f.is_finite())) {
        return Err(Error::config(format!("split: part `{name}` has fraction {f}; expected a positive fraction")));
    }
    let total: f64 = parts.iter().map(|(_, f)| f).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(Error::config(format!("split: the fractions must sum to 1, found {total}")));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let groups: Vec<Vec<usize>> = match by {
        SplitBy::Sample => {
            let mut order: Vec<usize> = (0..dataset.len()).collect();
            order.shuffle(&mut rng);
            order.into_iter().map(|i| vec![i]).collect()
        }
        SplitBy::Class => {
            let labels = dataset.labels().ok_or_else(|| Error::data("split by class: the dataset cannot list its labels; split by sample"))?;
            let column = class_column(&labels)?;
            let mut classes: Vec<String> = column.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
            classes.shuffle(&mut rng);
            classes.iter().map(|class| column.iter().enumerate().filter(|(_, c)| *c == class).map(|(i, _)| i).collect()).collect()
        }
    };
    if groups.len() < parts.len() {
        let what = if by == SplitBy::Class { "classes" } else { "samples" };
        return Err(Error::data(format!("split: {} {what} cannot make {} non-empty parts", groups.len(), parts.len())));
    }
    let mut result = Vec::new();
    let (mut start, mut cumulative) = (0usize, 0.0);
    for (k, (name, fraction)) in parts.iter().enumerate() {
        cumulative += fraction;
        let end = if k + 1 == parts.len() { groups.len() } else { ((cumulative * groups.len() as f64).round() as usize).clamp(start + 1, groups.len() - (parts.len() - k - 1)) };
        let mut indices: Vec<usize> = groups[start..end].iter().flatten().copied().collect();
        indices.sort_unstable();
        result.push((name.to_string(), Subset::new(dataset.clone(), indices)?));
        start = end;
    }
    Ok(result)
}

/// Level 0 of the labels as text, so that integer and string classes split alike.
fn class_column(labels: &Labels) -> Result<Vec<String>> {
    match labels {
        Labels::Int { .. } => Ok(labels.int_column(0).unwrap_or_default().iter().map(i64::to_string).collect()),
        Labels::Text { values, levels } => Ok(values.iter().step_by(*levels).cloned().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::InMemoryDataset;
    use tch::{Device, Kind, Tensor};

    fn dataset(n: i64, classes: i64) -> Arc<dyn Dataset> {
        let labels: Vec<i64> = (0..n).map(|i| i % classes).collect();
        Arc::new(InMemoryDataset::new(Tensor::arange(n, (Kind::Float, Device::Cpu)).unsqueeze(1), Labels::int(labels)).unwrap())
    }

    fn classes(part: &Subset) -> BTreeSet<i64> {
        part.labels().unwrap().int_column(0).unwrap().into_iter().collect()
    }

    #[test]
    fn by_class_no_class_is_in_two_parts_and_every_sample_is_in_one() {
        let parts = split(dataset(100, 10), &[("train", 0.6), ("val", 0.2), ("test", 0.2)], SplitBy::Class, 3).unwrap();
        let sizes: Vec<usize> = parts.iter().map(|(_, p)| classes(p).len()).collect();
        assert_eq!(sizes, [6, 2, 2]);
        let mut all: Vec<usize> = parts.iter().flat_map(|(_, p)| p.indices().to_vec()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(classes(&parts[0].1).is_disjoint(&classes(&parts[1].1)) && classes(&parts[1].1).is_disjoint(&classes(&parts[2].1)));
        // The same seed, the same parts; another seed, others.
        let again = split(dataset(100, 10), &[("train", 0.6), ("val", 0.2), ("test", 0.2)], SplitBy::Class, 3).unwrap();
        assert_eq!(parts[1].1.indices(), again[1].1.indices());
        let other = split(dataset(100, 10), &[("train", 0.6), ("val", 0.2), ("test", 0.2)], SplitBy::Class, 4).unwrap();
        assert_ne!(classes(&parts[1].1), classes(&other[1].1));
    }

    #[test]
    fn by_sample_parts_have_their_fractions_and_read_through() {
        let data = dataset(50, 5);
        let parts = split(data.clone(), &[("train", 0.8), ("val", 0.2)], SplitBy::Sample, 0).unwrap();
        assert_eq!((parts[0].1.len(), parts[1].1.len()), (40, 10));
        let val = &parts[1].1;
        let batch = val.get_batch(&[0, 1]).unwrap();
        let expected = data.get_batch(&val.indices()[..2]).unwrap();
        assert!(batch.data.equal(&expected.data) && batch.labels == expected.labels);
        assert!(val.get(10).is_err(), "past the subset's end");
    }

    #[test]
    fn bad_fractions_and_too_few_classes_are_errors() {
        let message = |r: Result<Vec<(String, Subset)>>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message(split(dataset(10, 2), &[("a", 0.5), ("b", 0.4)], SplitBy::Sample, 0)).contains("must sum to 1, found 0.9"));
        assert!(message(split(dataset(10, 2), &[("a", 1.5), ("b", -0.5)], SplitBy::Sample, 0)).contains("part `b` has fraction -0.5"));
        assert!(message(split(dataset(10, 2), &[("a", 0.4), ("b", 0.3), ("c", 0.3)], SplitBy::Class, 0)).contains("2 classes cannot make 3 non-empty parts"));
        assert!(message(split(dataset(10, 2), &[], SplitBy::Class, 0)).contains("at least one part"));
    }
}
