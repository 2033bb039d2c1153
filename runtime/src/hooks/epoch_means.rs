//! Running means of named values over the iterations of one epoch (losses, learning rates), for
//! the hooks that summarise an epoch; kept in a checkpoint, so that an epoch resumed in its middle
//! has the mean the uninterrupted run would have had.

use crate::{Error, Result};
use serde_json::{json, Value};

/// Sums and counts by name, in the order the names first came.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct EpochMeans {
    sums: Vec<(String, f64, usize)>,
}

impl EpochMeans {
    /// Adds one iteration's value of `name`.
    pub(crate) fn add(&mut self, name: &str, value: f64) {
        match self.sums.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, sum, count)) => {
                *sum += value;
                *count += 1;
            }
            None => self.sums.push((name.to_string(), value, 1)),
        }
    }

    /// Each name's mean over the iterations that had it.
    pub(crate) fn means(&self) -> Vec<(String, f64)> {
        self.sums.iter().map(|(name, sum, count)| (name.clone(), sum / *count as f64)).collect()
    }

    /// Forgets everything: a new epoch.
    pub(crate) fn clear(&mut self) {
        self.sums.clear();
    }

    /// As JSON; the sums as their bits, exact and safe for infinities.
    pub(crate) fn state(&self) -> Value {
        Value::Array(self.sums.iter().map(|(name, sum, count)| json!([name, sum.to_bits(), count])).collect())
    }

    /// Reads what [`state`](Self::state) wrote.
    ///
    /// # Errors
    /// [`Error::Data`] when `state` is not that.
    pub(crate) fn from_state(state: &Value) -> Result<EpochMeans> {
        let bad = || Error::data(format!("expected a list of [name, sum bits, count], found {state}"));
        let entries = state.as_array().ok_or_else(bad)?;
        let sums = entries
            .iter()
            .map(|entry| match entry.as_array().map(Vec::as_slice) {
                Some([name, bits, count]) => Some((name.as_str()?.to_string(), f64::from_bits(bits.as_u64()?), count.as_u64()? as usize)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        Ok(EpochMeans { sums })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_in_first_seen_order_through_a_checkpoint() {
        let mut means = EpochMeans::default();
        means.add("b", 1.0);
        means.add("a", 0.1);
        means.add("b", 2.0);
        let restored = EpochMeans::from_state(&means.state()).unwrap();
        assert_eq!(restored, means);
        assert_eq!(restored.means(), vec![("b".to_string(), 1.5), ("a".to_string(), 0.1)]);
        assert!(EpochMeans::from_state(&json!({"b": 1})).is_err());
        means.clear();
        assert!(means.means().is_empty());
    }
}
