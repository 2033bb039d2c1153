use super::{Reducer, Values};
use crate::component::Record;
use crate::Result;
use tch::{Kind, Tensor};

/// The mean of the values strictly between `low` and `high`, or a zero with a gradient when
/// none is (PML's `ThresholdReducer`).
#[derive(Debug)]
pub struct ThresholdReducer {
    low: Option<f64>,
    high: Option<f64>,
    /// The count of the last reduction's kept values, on the device until a record reads it.
    num_past_filter: Option<Tensor>,
}

impl Clone for ThresholdReducer {
    fn clone(&self) -> Self {
        ThresholdReducer { low: self.low, high: self.high, num_past_filter: None }
    }
}

/// The mean of the positive values (PML's `AvgNonZeroReducer`, `ThresholdReducer(low=0)`).
pub type AvgNonZeroReducer = ThresholdReducer;

impl ThresholdReducer {
    /// Keep values above `low` and below `high` (either may be `None`).
    pub fn new(low: Option<f64>, high: Option<f64>) -> ThresholdReducer {
        ThresholdReducer { low, high, num_past_filter: None }
    }

    /// Keep the positive values.
    pub fn avg_non_zero() -> ThresholdReducer {
        ThresholdReducer::new(Some(0.0), None)
    }
}

impl Default for ThresholdReducer {
    fn default() -> Self {
        ThresholdReducer::avg_non_zero()
    }
}

impl Reducer for ThresholdReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        let losses = part.values;
        let keep = match (self.low, self.high) {
            (Some(low), Some(high)) => losses.gt(low).logical_and(&losses.lt(high)),
            (Some(low), None) => losses.gt(low),
            (None, Some(high)) => losses.lt(high),
            (None, None) => losses.ones_like().to_kind(Kind::Bool),
        };
        // The kept values' sum over their count (a zero when none is kept, as PML's), without
        // waiting for the device: PML's `masked_select` and count read it.
        let count = keep.sum(Kind::Int64);
        let sum = losses.where_scalarother(&keep, 0.0).sum(losses.kind());
        self.num_past_filter = Some(count.shallow_clone());
        let count = count.clamp_min(1);
        Ok(match losses.kind() {
            // A count above 256 is not a bfloat16: divide in f32.
            Kind::Half | Kind::BFloat16 => (sum.to_kind(Kind::Float) / count.to_kind(Kind::Float)).to_kind(losses.kind()),
            kind => sum / count.to_kind(kind),
        })
    }

    fn ignores_zeros(&self) -> bool {
        self.low.is_some_and(|low| low >= 0.0)
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }

    fn reset(&mut self) {
        self.num_past_filter = Some(Tensor::from(0i64));
    }

    fn records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        if let Some(low) = self.low {
            records.push(Record { name: "low", value: low });
        }
        if let Some(high) = self.high {
            records.push(Record { name: "high", value: high });
        }
        if let Some(count) = &self.num_past_filter {
            records.push(Record { name: "num_past_filter", value: count.int64_value(&[]) as f64 });
        }
        records
    }
}
