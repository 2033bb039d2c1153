use super::{zero_loss, Reducer, Reduction};
use crate::trainer::Record;
use tch::{Kind, Tensor};

/// The mean of the values strictly between `low` and `high`, or a zero with a gradient when
/// none is (PML's `ThresholdReducer`).
#[derive(Debug)]
pub struct ThresholdReducer {
    low: Option<f64>,
    high: Option<f64>,
    /// Counted on the device; read only when a hook asks for records.
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
    fn reduce_values(&mut self, losses: &Tensor, _: Reduction, embeddings: &Tensor) -> Tensor {
        // A mask instead of PML's boolean indexing: same mean, no device sync for the count.
        let mut keep = losses.ones_like().to_kind(Kind::Bool);
        if let Some(low) = self.low {
            keep = keep.logical_and(&losses.gt(low));
        }
        if let Some(high) = self.high {
            keep = keep.logical_and(&losses.lt(high));
        }
        let count = keep.sum(Kind::Int64);
        let kept = losses.where_self(&keep, &losses.zeros_like());
        let mean = kept.sum(losses.kind()) / count.clamp_min(1).to_kind(losses.kind());
        self.num_past_filter = Some(count.shallow_clone());
        // With nothing kept, PML returns zero_loss(embeddings); adding it always gives the same
        // value otherwise (+0) and carries a NaN in the embeddings through, as PML's does.
        mean + zero_loss(embeddings)
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
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
            records.push(Record { name: "num_past_filter", value: count.double_value(&[]) });
        }
        records
    }
}
