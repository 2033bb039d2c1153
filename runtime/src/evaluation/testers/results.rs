//! What a tester returns: typed accuracies per split and label level, readable by a program,
//! keyed as PML keys them (`precision_at_1_level0`, `AVERAGE_precision_at_1`), and printed as a
//! table.

use crate::evaluation::{Accuracies, Metric, Score};
use std::fmt;

/// One label level's accuracies.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelAccuracies {
    /// The label column scored.
    pub level: usize,
    /// The calculator's result.
    pub accuracies: Accuracies,
}

/// One query split's accuracies.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitAccuracies {
    /// The query split.
    pub split: String,
    /// Its reference splits, the query first when it is among them.
    pub reference_splits: Vec<String>,
    /// Each level scored.
    pub levels: Vec<LevelAccuracies>,
}

impl SplitAccuracies {
    pub(crate) fn new(split: String, reference_splits: Vec<String>, levels: Vec<(usize, Accuracies)>) -> SplitAccuracies {
        let levels = levels.into_iter().map(|(level, accuracies)| LevelAccuracies { level, accuracies }).collect();
        SplitAccuracies { split, reference_splits, levels }
    }

    /// A metric at a level, when computed as one number.
    pub fn get(&self, metric: Metric, level: usize) -> Option<f64> {
        self.levels.iter().find(|l| l.level == level)?.accuracies.get(metric)
    }

    /// A metric's plain mean over the levels scored (PML's `AVERAGE_<metric>`).
    pub fn average(&self, metric: Metric) -> Option<f64> {
        let values: Option<Vec<f64>> = self.levels.iter().map(|l| l.accuracies.get(metric)).collect();
        let values = values?;
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Every single-number result under PML's key: `<metric>_level<L>` for each level, and
    /// `AVERAGE_<metric>` when more than one level was scored.
    pub fn keyed(&self) -> Vec<(String, f64)> {
        let mut keyed = Vec::new();
        for level in &self.levels {
            for (metric, score) in level.accuracies.iter() {
                if let Score::Value(value) = score {
                    keyed.push((format!("{}_level{}", metric.name(), level.level), *value));
                }
            }
        }
        if self.levels.len() > 1 {
            for (metric, _) in self.levels[0].accuracies.iter() {
                if let Some(value) = self.average(metric) {
                    keyed.push((format!("AVERAGE_{}", metric.name()), value));
                }
            }
        }
        keyed
    }
}

/// A tester's results: one entry per query split, in the order evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct TestResults {
    /// The epoch given to `test`.
    pub epoch: usize,
    /// The tester's PML name.
    pub tester: &'static str,
    /// Each query split's accuracies.
    pub splits: Vec<SplitAccuracies>,
}

impl TestResults {
    /// One query split's accuracies.
    pub fn split(&self, name: &str) -> Option<&SplitAccuracies> {
        self.splits.iter().find(|s| s.split == name)
    }

    /// A result by split and PML key (`"val"`, `"precision_at_1_level0"`).
    pub fn get(&self, split: &str, key: &str) -> Option<f64> {
        self.split(split)?.keyed().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl fmt::Display for TestResults {
    /// One row per query split, one column per key: the keys of the first split, in its order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} at epoch {}", self.tester, self.epoch)?;
        let Some(first) = self.splits.first() else { return Ok(()) };
        let keys: Vec<String> = first.keyed().into_iter().map(|(k, _)| k).collect();
        let width = self.splits.iter().map(|s| s.split.len() + 4 + s.reference_splits.join("+").len()).max().unwrap_or(0).max(5);
        write!(f, "{:<width$}", "split")?;
        for key in &keys {
            write!(f, "  {key:>w$}", w = key.len().max(8))?;
        }
        writeln!(f)?;
        for split in &self.splits {
            let keyed = split.keyed();
            write!(f, "{:<width$}", format!("{} vs {}", split.split, split.reference_splits.join("+")))?;
            for key in &keys {
                let value = keyed.iter().find(|(k, _)| k == key).map_or("-".to_string(), |(_, v)| format!("{v:.4}"));
                write!(f, "  {value:>w$}", w = key.len().max(8))?;
            }
            writeln!(f)?;
        }
        for warning in self.splits.iter().flat_map(|s| s.levels.iter().flat_map(|l| l.accuracies.warnings.iter())) {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}
