//! Reducers turn a loss's per-element, per-pair or per-triplet values into one number (PML's
//! `reducers`). A loss with several sub-losses reduces each and sums them.

mod class_weighted;
mod divisor;
mod mean;
mod multiple;
mod per_anchor;
mod threshold;

pub use class_weighted::ClassWeightedReducer;
pub use divisor::DivisorReducer;
pub use mean::{DoNothingReducer, MeanReducer, SumReducer};
pub use multiple::MultipleReducers;
pub use per_anchor::PerAnchorReducer;
pub use threshold::{AvgNonZeroReducer, ThresholdReducer};

use crate::component::Record;
use crate::Result;
use tch::{Kind, Tensor};

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

/// Which sample, pair or triplet each value of a sub-loss belongs to (PML's `indices` in a loss
/// dict). Reducers that weigh or group values by anchor read it; the others never do, so a
/// mask stays a mask until one asks.
#[derive(Debug)]
pub enum LossIndices {
    /// The row (sample, or proxy) of each value.
    Elements(Tensor),
    /// One value per row where this boolean mask is true, in order.
    ElementMask(Tensor),
    /// `(anchor, other)` of each value.
    Pairs(Tensor, Tensor),
    /// One value per entry where this boolean (rows, columns) mask is true, row-major (as
    /// `matrix.masked_select(mask)` gives them): `(row, column)` is the pair.
    PairMask(Tensor),
    /// `(anchor, positive, negative)` of each value.
    Triplets(Tensor, Tensor, Tensor),
}

impl LossIndices {
    /// The anchor (or the row) of each value: what PML's `ClassWeightedReducer` weighs by.
    pub fn anchors(&self) -> Tensor {
        match self {
            LossIndices::Elements(rows) => rows.shallow_clone(),
            LossIndices::ElementMask(mask) => mask.nonzero().select(1, 0),
            LossIndices::Pairs(anchors, _) | LossIndices::Triplets(anchors, _, _) => anchors.shallow_clone(),
            LossIndices::PairMask(mask) => mask.nonzero().select(1, 0),
        }
    }

    /// `(anchor, other)` of each value for pairs, `None` for elements and triplets.
    pub fn pairs(&self) -> Option<(Tensor, Tensor)> {
        match self {
            LossIndices::Pairs(anchors, others) => Some((anchors.shallow_clone(), others.shallow_clone())),
            LossIndices::PairMask(mask) => {
                let pairs = mask.nonzero();
                Some((pairs.select(1, 0), pairs.select(1, 1)))
            }
            _ => None,
        }
    }
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
    /// Which sample, pair or triplet each value belongs to; `None` for element values means
    /// one per row, in order.
    pub indices: Option<LossIndices>,
    /// What [`DivisorReducer`] divides the sum by (a scalar tensor), for losses that define it.
    pub divisor: Option<Tensor>,
}

impl SubLoss {
    /// A part with values.
    pub fn new(name: &'static str, values: Tensor, reduction: Reduction) -> SubLoss {
        SubLoss { name, values: Some(values), reduction, indices: None, divisor: None }
    }

    /// A part with nothing to compute.
    pub fn zero(name: &'static str) -> SubLoss {
        SubLoss { name, values: None, reduction: Reduction::AlreadyReduced, indices: None, divisor: None }
    }

    /// With the sample, pair or triplet of each value.
    pub fn indices(mut self, indices: LossIndices) -> SubLoss {
        self.indices = Some(indices);
        self
    }

    /// With the divisor of its sum.
    pub fn divisor(mut self, divisor: Tensor) -> SubLoss {
        self.divisor = Some(divisor);
        self
    }
}

/// One sub-loss's values with everything PML hands a reducer: the loss dict's entry, the
/// embeddings and the queries' labels.
#[derive(Debug)]
pub struct Values<'a> {
    /// The sub-loss's name (what [`MultipleReducers`] chooses by).
    pub name: &'static str,
    /// The values, non-empty.
    pub values: &'a Tensor,
    /// What they are one of (not [`Reduction::AlreadyReduced`]).
    pub reduction: Reduction,
    /// Which sample, pair or triplet each belongs to, when the loss says.
    pub indices: Option<&'a LossIndices>,
    /// The divisor, when the loss defines one.
    pub divisor: Option<&'a Tensor>,
    /// The loss's embeddings (the zero of an empty reduction keeps their graph).
    pub embeddings: &'a Tensor,
    /// The queries' labels, on the embeddings' device.
    pub labels: &'a Tensor,
}

impl Values<'_> {
    /// Which sample, pair or triplet each value belongs to; element values without indices are
    /// one per row, in order (PML's `torch_arange_from_size`).
    pub fn anchors(&self) -> Tensor {
        match self.indices {
            Some(indices) => indices.anchors(),
            None => Tensor::arange(self.values.size()[0], (Kind::Int64, self.values.device())),
        }
    }

    /// The same values as another kind of reduction, for a reducer that hands on what it made.
    pub fn derived<'b>(&'b self, values: &'b Tensor, reduction: Reduction, indices: Option<&'b LossIndices>) -> Values<'b> {
        Values { name: self.name, values, reduction, indices, divisor: self.divisor, embeddings: self.embeddings, labels: self.labels }
    }
}

/// Reduces a sub-loss to a scalar.
pub trait Reducer: Send + std::fmt::Debug {
    /// The scalar for one sub-loss's values (non-empty, not already reduced).
    ///
    /// # Errors
    /// When the reducer needs something the loss did not give (a divisor, pair indices) or
    /// the values do not fit it (a label without a class weight).
    fn reduce_values(&mut self, values: &Values<'_>) -> Result<Tensor>;
    /// A copy, one per sub-loss.
    fn clone_box(&self) -> Box<dyn Reducer>;
    /// Zeroes the statistics at the start of every call, as PML's `reset_stats`, so that a call
    /// with nothing to reduce records zeros rather than the previous call's values.
    fn reset(&mut self) {}
    /// Whether values of zero never change the result (a threshold reducer keeping only values
    /// above a non-negative `low`): a loss may then leave out the values it knows are zero.
    fn ignores_zeros(&self) -> bool {
        false
    }
    /// Whether the result is the values' sum times a factor of their count alone (the mean, the
    /// sum): a loss may then spread the result's gradient over its values as it likes, provided
    /// their sum has the right gradient.
    fn weighs_values_alike(&self) -> bool {
        false
    }
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

/// A reducer chosen at run time (by name, from an experiment file) goes wherever a reducer
/// does.
impl Reducer for Box<dyn Reducer> {
    fn reduce_values(&mut self, values: &Values<'_>) -> Result<Tensor> {
        (**self).reduce_values(values)
    }
    fn clone_box(&self) -> Box<dyn Reducer> {
        (**self).clone_box()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn ignores_zeros(&self) -> bool {
        (**self).ignores_zeros()
    }
    fn weighs_values_alike(&self) -> bool {
        (**self).weighs_values_alike()
    }
    fn records(&self) -> Vec<Record> {
        (**self).records()
    }
}

/// PML's `zero_loss`: a zero in the autograd graph of the embeddings.
pub fn zero_loss(embeddings: &Tensor) -> Tensor {
    (embeddings * 0.0).sum(embeddings.kind())
}

/// Reduces every sub-loss with `reducer` and sums them (PML's `MultipleReducers` when there is
/// more than one part, the reducer itself when there is one). `labels` are the queries'.
///
/// # Errors
/// As [`Reducer::reduce_values`].
pub fn reduce(reducer: &mut dyn Reducer, parts: Vec<SubLoss>, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
    reducer.reset();
    let mut total: Option<Tensor> = None;
    for part in parts {
        let value = reduce_part(reducer, &part, embeddings, labels)?;
        total = Some(match total {
            None => value,
            Some(sum) => sum + value,
        });
    }
    Ok(total.unwrap_or_else(|| zero_loss(embeddings)))
}

/// What every PML reducer does with a part before its own reduction: nothing is a zero, an
/// already reduced value stays as it is, an empty one is a zero.
fn reduce_part(reducer: &mut dyn Reducer, part: &SubLoss, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
    Ok(match (&part.values, part.reduction) {
        (None, _) => zero_loss(embeddings),
        (Some(values), Reduction::AlreadyReduced) => values.reshape([] as [i64; 0]),
        (Some(values), _) if values.numel() == 0 => zero_loss(embeddings),
        (Some(values), reduction) => reducer.reduce_values(&Values {
            name: part.name,
            values,
            reduction,
            indices: part.indices.as_ref(),
            divisor: part.divisor.as_ref(),
            embeddings,
            labels,
        })?,
    })
}
