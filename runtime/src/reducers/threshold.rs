use super::{zero_loss, Reducer, Values};
use crate::component::Record;
use crate::Result;
use tch::{Kind, Tensor};

/// The mean of the values strictly between `low` and `high`, or a zero with a gradient when
/// none is (PML's `ThresholdReducer`).
#[derive(Debug)]
pub struct ThresholdReducer {
    low: Option<f64>,
    high: Option<f64>,
    num_past_filter: Option<i64>,
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
        // Counted on the host, as PML does: when nothing is kept the result is a zero outside
        // the losses' graph, and the backward pass skips them entirely (with many pairs, most
        // of the work).
        let count = keep.sum(Kind::Int64).int64_value(&[]);
        self.num_past_filter = Some(count);
        if count == 0 {
            return Ok(zero_loss(part.embeddings));
        }
        // The kept values' sum over their count: masked_select would gather them first and
        // wait for the device to know how many there are.
        Ok(losses.where_scalarother(&keep, 0.0).sum(losses.kind()) / count as f64)
    }

    fn ignores_zeros(&self) -> bool {
        self.low.is_some_and(|low| low >= 0.0)
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }

    fn reset(&mut self) {
        self.num_past_filter = Some(0);
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
            records.push(Record { name: "num_past_filter", value: *count as f64 });
        }
        records
    }
}
