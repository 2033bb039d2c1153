use crate::{Error, Result};

/// Labels on the host: integers or strings, one row per sample and one column per hierarchy
/// level (PML's `label_hierarchy_level` picks a column).
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// Integer labels, row-major, `levels` per sample.
    Int {
        /// The values.
        values: Vec<i64>,
        /// Columns per sample.
        levels: usize,
    },
    /// String labels (class names), row-major, `levels` per sample. They need
    /// `set_min_label_to_zero`, which maps them to their rank in sorted order, as PML does.
    Text {
        /// The values.
        values: Vec<String>,
        /// Columns per sample.
        levels: usize,
    },
}

impl Labels {
    /// One integer label per sample.
    pub fn int(values: impl Into<Vec<i64>>) -> Labels {
        Labels::Int { values: values.into(), levels: 1 }
    }

    /// One string label per sample.
    pub fn text<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Labels {
        Labels::Text { values: values.into_iter().map(Into::into).collect(), levels: 1 }
    }

    /// Integer labels with several hierarchy levels, row-major.
    ///
    /// # Errors
    /// When `values` is not a whole number of rows.
    pub fn int_levels(values: impl Into<Vec<i64>>, levels: usize) -> Result<Labels> {
        let values = values.into();
        if levels == 0 || values.len() % levels != 0 {
            return Err(Error::data(format!("{} label values do not form rows of {levels} levels", values.len())));
        }
        Ok(Labels::Int { values, levels })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Labels::Int { values, levels } => values.len() / levels,
            Labels::Text { values, levels } => values.len() / levels,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Columns per sample.
    pub fn levels(&self) -> usize {
        match self {
            Labels::Int { levels, .. } | Labels::Text { levels, .. } => *levels,
        }
    }

    /// The rows at `indices`.
    pub fn select(&self, indices: &[usize]) -> Labels {
        fn rows<T: Clone>(values: &[T], levels: usize, indices: &[usize]) -> Vec<T> {
            indices.iter().flat_map(|&i| values[i * levels..(i + 1) * levels].iter().cloned()).collect()
        }
        match self {
            Labels::Int { values, levels } => Labels::Int { values: rows(values, *levels, indices), levels: *levels },
            Labels::Text { values, levels } => Labels::Text { values: rows(values, *levels, indices), levels: *levels },
        }
    }

    /// One level's integer labels; `None` for string labels (map them first).
    pub fn int_column(&self, level: usize) -> Option<Vec<i64>> {
        match self {
            Labels::Int { values, levels } if level < *levels => {
                Some(values.iter().skip(level).step_by(*levels).copied().collect())
            }
            _ => None,
        }
    }

    pub(crate) fn concat(parts: impl IntoIterator<Item = Labels>) -> Result<Labels> {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else { return Err(Error::data("no labels to concatenate")) };
        for part in parts {
            match (&mut all, part) {
                (Labels::Int { values, levels }, Labels::Int { values: more, levels: l }) if *levels == l => values.extend(more),
                (Labels::Text { values, levels }, Labels::Text { values: more, levels: l }) if *levels == l => values.extend(more),
                (_, other) => {
                    return Err(Error::data(format!(
                        "samples of one batch have different kinds or numbers of labels: {:?} and {:?}",
                        kind_of(&all),
                        kind_of(&other)
                    )))
                }
            }
        }
        Ok(all)
    }
}

fn kind_of(labels: &Labels) -> String {
    match labels {
        Labels::Int { levels, .. } => format!("{levels} integer level(s)"),
        Labels::Text { levels, .. } => format!("{levels} string level(s)"),
    }
}
