//! Reducers turn a loss's per-element, per-pair or per-triplet values into one number (PML's
//! `reducers`). A loss with several sub-losses reduces each and sums them.

mod mean;
mod threshold;

pub use mean::{DoNothingReducer, MeanReducer, SumReducer};
pub use threshold::{AvgNonZeroReducer, ThresholdReducer};

use crate::component::Record;
use tch::Tensor;

/// What the values of a sub-loss are one of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// One value per embedding.
    Element,
    /// One value per positive pair.
    PosPair,
    /// One value per negative pair.
    NegPair,
    /// One value per triplet.
    Triplet,
    /// Already a scalar.
    AlreadyReduced,
}

/// One named part of a loss before reduction. `values: None` is PML's integer 0: the part had
/// nothing to compute, and reduces to a zero that keeps the graph (`sum(embeddings * 0)`).
#[derive(Debug)]
pub struct SubLoss {
    /// `loss`, `pos_loss`, `neg_loss`, ...
    pub name: &'static str,
    /// The values, or `None` for nothing.
    pub values: Option<Tensor>,
    /// What the values are one of.
    pub reduction: Reduction,
}

impl SubLoss {
    /// A part with values.
    pub fn new(name: &'static str, values: Tensor, reduction: Reduction) -> SubLoss {
        SubLoss { name, values: Some(values), reduction }
    }

    /// A part with nothing to compute.
    pub fn zero(name: &'static str) -> SubLoss {
        SubLoss { name, values: None, reduction: Reduction::AlreadyReduced }
    }
}

/// Reduces a sub-loss to a scalar.
pub trait Reducer: Send + std::fmt::Debug {
    /// The scalar for `losses` (non-empty, not already reduced).
    fn reduce_values(&mut self, losses: &Tensor, reduction: Reduction, embeddings: &Tensor) -> Tensor;
    /// A copy, one per sub-loss.
    fn clone_box(&self) -> Box<dyn Reducer>;
    /// Zeroes the statistics at the start of every call, as PML's `reset_stats`, so that a call
    /// with nothing to reduce records zeros rather than the previous call's values.
    fn reset(&mut self) {}
    /// Statistics of the last reduction (PML's reducer records).
    fn records(&self) -> Vec<Record> {
        Vec::new()
    }
}

impl Clone for Box<dyn Reducer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// PML's `zero_loss`: a zero in the autograd graph of the embeddings.
pub fn zero_loss(embeddings: &Tensor) -> Tensor {
    (embeddings * 0.0).sum(embeddings.kind())
}

/// Reduces every sub-loss with `reducer` and sums them (PML's `MultipleReducers` when there is
/// more than one part, the reducer itself when there is one).
pub fn reduce(reducer: &mut dyn Reducer, parts: Vec<SubLoss>, embeddings: &Tensor) -> Tensor {
    reducer.reset();
    let mut total: Option<Tensor> = None;
    for part in parts {
        let value = match (&part.values, part.reduction) {
            (None, _) => zero_loss(embeddings),
            (Some(values), Reduction::AlreadyReduced) => values.reshape([] as [i64; 0]),
            (Some(values), _) if values.numel() == 0 => zero_loss(embeddings),
            (Some(values), kind) => reducer.reduce_values(values, kind, embeddings),
        };
        total = Some(match total {
            None => value,
            Some(sum) => sum + value,
        });
    }
    total.unwrap_or_else(|| zero_loss(embeddings))
}
