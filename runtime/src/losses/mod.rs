//! Losses: metric losses on embeddings and labels, and classifier losses on logits.
//! Each is a [`Component`](crate::trainer::Component), so its records reach the hooks and, when
//! it has parameters, it can be optimised and frozen like a model.

mod cross_entropy;
mod triplet_margin;

pub use cross_entropy::CrossEntropyLoss;
pub use triplet_margin::TripletMarginLoss;

use crate::indices::Tuples;
use crate::trainer::Component;
use crate::{Error, Result};
use tch::Tensor;

/// A loss on embeddings and their labels, optionally restricted to mined tuples.
pub trait MetricLoss: Component + Send {
    /// The loss, a scalar tensor that carries a gradient (a zero one when no tuple is valid).
    ///
    /// # Errors
    /// When embeddings and labels do not match in shape or length.
    fn compute(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>) -> Result<Tensor>;
}

/// A loss on classifier logits and labels.
pub trait ClassifierLoss: Component + Send {
    /// The loss, a scalar tensor.
    ///
    /// # Errors
    /// When logits and labels do not match.
    fn compute(&mut self, logits: &Tensor, labels: &Tensor) -> Result<Tensor>;
}

impl<L: MetricLoss + 'static> From<L> for Box<dyn MetricLoss> {
    fn from(loss: L) -> Self {
        Box::new(loss)
    }
}

impl<L: ClassifierLoss + 'static> From<L> for Box<dyn ClassifierLoss> {
    fn from(loss: L) -> Self {
        Box::new(loss)
    }
}

/// The shape checks PML makes on every loss and miner input, with the module named.
pub(crate) fn check_embeddings(module: &str, embeddings: &Tensor, labels: &Tensor) -> Result<()> {
    let e = embeddings.size();
    let l = labels.size();
    if e.len() != 2 {
        return Err(Error::data(format!("{module}: embeddings must be 2-D (batch, width), found shape {e:?}")));
    }
    if l.len() != 1 {
        return Err(Error::data(format!("{module}: labels must be 1-D (batch,), found shape {l:?}")));
    }
    if e[0] != l[0] {
        return Err(Error::data(format!("{module}: {} embeddings but {} labels; they must be equal", e[0], l[0])));
    }
    Ok(())
}

/// A zero that stays in the autograd graph, so that backward runs when no tuple was valid.
pub(crate) fn zero_loss(embeddings: &Tensor) -> Tensor {
    (embeddings * 0.0).sum(embeddings.kind())
}
