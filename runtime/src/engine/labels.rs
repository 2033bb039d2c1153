//! Labels from a batch to the tensor losses see: PML's `process_label`, with its
//! `set_min_label_to_zero` map built from the whole dataset's labels.

use crate::data::Labels;
use crate::{Error, Result};
use std::collections::{BTreeSet, HashMap};
use tch::{Device, Tensor};

pub(crate) struct LabelProcessor {
    level: usize,
    /// One map per hierarchy level from a label to its rank among the dataset's sorted labels.
    map: Option<Vec<LevelMap>>,
}

enum LevelMap {
    Int(HashMap<i64, i64>),
    Text(HashMap<String, i64>),
}

impl LabelProcessor {
    pub fn new(level: usize, dataset_labels: Option<&Labels>) -> Result<LabelProcessor> {
        let map = dataset_labels.map(|labels| (0..labels.levels()).map(|l| LevelMap::build(labels, l)).collect());
        Ok(LabelProcessor { level, map })
    }

    pub fn process(&self, labels: &Labels, device: Device) -> Result<Tensor> {
        if self.level >= labels.levels() {
            return Err(Error::data(format!(
                "label_hierarchy_level is {}, but the labels have {} level(s)",
                self.level,
                labels.levels()
            )));
        }
        let column: Vec<i64> = match (&self.map, labels) {
            (None, Labels::Int { .. }) => labels.int_column(self.level).unwrap_or_default(),
            (None, Labels::Text { .. }) => {
                return Err(Error::config(
                    "string labels need `.set_min_label_to_zero(true)`, which maps them to integers by sorted order",
                ))
            }
            (Some(maps), _) => maps[self.level].apply(labels, self.level)?,
        };
        Ok(Tensor::from_slice(&column).to_device(device))
    }
}

impl LevelMap {
    fn build(labels: &Labels, level: usize) -> LevelMap {
        fn ranks<T: Ord + Clone + std::hash::Hash>(values: impl Iterator<Item = T>) -> HashMap<T, i64> {
            let sorted: BTreeSet<T> = values.collect();
            sorted.into_iter().enumerate().map(|(rank, v)| (v, rank as i64)).collect()
        }
        match labels {
            Labels::Int { values, levels } => LevelMap::Int(ranks(values.iter().skip(level).step_by(*levels).copied())),
            Labels::Text { values, levels } => LevelMap::Text(ranks(values.iter().skip(level).step_by(*levels).cloned())),
        }
    }

    fn apply(&self, labels: &Labels, level: usize) -> Result<Vec<i64>> {
        let unknown = |label: String| {
            Error::data(format!("label {label} at level {level} is not among the dataset labels that set_min_label_to_zero mapped"))
        };
        match (self, labels) {
            (LevelMap::Int(map), Labels::Int { values, levels }) => values
                .iter()
                .skip(level)
                .step_by(*levels)
                .map(|v| map.get(v).copied().ok_or_else(|| unknown(v.to_string())))
                .collect(),
            (LevelMap::Text(map), Labels::Text { values, levels }) => values
                .iter()
                .skip(level)
                .step_by(*levels)
                .map(|v| map.get(v).copied().ok_or_else(|| unknown(format!("{v:?}"))))
                .collect(),
            _ => Err(Error::data("the batch's labels and the dataset labels differ in kind (integer and string)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed(processor: &LabelProcessor, labels: &Labels) -> Vec<i64> {
        Vec::<i64>::try_from(processor.process(labels, Device::Cpu).unwrap()).unwrap()
    }

    #[test]
    fn string_labels_map_to_their_sorted_rank() {
        let all = Labels::text(["dog", "cat", "zebra", "cat", "ant"]);
        let processor = LabelProcessor::new(0, Some(&all)).unwrap();
        assert_eq!(processed(&processor, &Labels::text(["zebra", "ant", "dog", "cat"])), vec![3, 0, 2, 1]);
    }

    #[test]
    fn integer_labels_map_to_rank_per_level() {
        let all = Labels::int_levels([10, 7, 30, 7, 20, 9], 2).unwrap();
        let level1 = LabelProcessor::new(1, Some(&all)).unwrap();
        assert_eq!(processed(&level1, &Labels::int_levels([20, 9, 10, 7], 2).unwrap()), vec![1, 0]);
        let level0 = LabelProcessor::new(0, Some(&all)).unwrap();
        assert_eq!(processed(&level0, &Labels::int_levels([30, 7, 10, 7], 2).unwrap()), vec![2, 0]);
    }

    #[test]
    fn unmapped_strings_and_missing_levels_are_errors() {
        let unmapped = LabelProcessor::new(0, None).unwrap();
        assert!(matches!(unmapped.process(&Labels::text(["a"]), Device::Cpu), Err(Error::Config(_))));
        let deep = LabelProcessor::new(2, None).unwrap();
        let message = deep.process(&Labels::int([1, 2]), Device::Cpu).unwrap_err().to_string();
        assert!(message.contains("label_hierarchy_level is 2, but the labels have 1 level"), "{message}");
        let known = LabelProcessor::new(0, Some(&Labels::text(["a", "b"]))).unwrap();
        assert!(known.process(&Labels::text(["c"]), Device::Cpu).unwrap_err().to_string().contains("\"c\""));
    }
}
