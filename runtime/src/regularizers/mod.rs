//! Regularizers: a penalty on embeddings (PML's `embedding_regularizer`) or on a loss's learned
//! class weights (`weight_regularizer`), added to any loss with a weight through
//! [`WithRegularizers`]. Each reduces its per-row values with a reducer, as PML's do.

mod center_invariant;
mod lp;
mod regular_face;
mod regularized;
mod sparse_centers;
mod zero_mean;

pub use center_invariant::CenterInvariantRegularizer;
pub use lp::LpRegularizer;
pub use regular_face::RegularFaceRegularizer;
pub use regularized::{Regularized, WithRegularizers};
pub use sparse_centers::SparseCentersRegularizer;
pub use zero_mean::ZeroMeanRegularizer;

use crate::component::Component;
use crate::{Error, Result};
use tch::Tensor;

/// A penalty on a set of rows (embeddings, or class weights as `(classes, width)`).
pub trait Regularizer: Component + Send + std::fmt::Debug {
    /// The penalty, a scalar in the rows' autograd graph.
    ///
    /// # Errors
    /// When the rows are not a 2-D tensor, or do not fit the regularizer.
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor>;
}

impl<R: Regularizer + ?Sized> Regularizer for Box<R> {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        (**self).regularize(rows)
    }
}

/// The rows must be (rows, width) with at least one row.
fn check_rows(module: &str, rows: &Tensor) -> Result<()> {
    let size = rows.size();
    if size.len() != 2 || size[0] == 0 {
        return Err(Error::data(format!("{module}: expected a non-empty (rows, width) tensor, found shape {size:?}")));
    }
    Ok(())
}

/// Labels for a reducer: each row its own (PML passes `torch.arange` as a regularizer's labels).
fn row_numbers(rows: &Tensor) -> Tensor {
    Tensor::arange(rows.size()[0], (tch::Kind::Int64, rows.device()))
}

/// `.reducer(...)` and the reducer's records for a regularizer struct with a `reducer` field.
macro_rules! with_reducer {
    ($ty:ty) => {
        impl $ty {
            /// How the per-row values become one number.
            pub fn reducer(mut self, reducer: impl $crate::reducers::Reducer + 'static) -> Self {
                self.reducer = ::std::boxed::Box::new(reducer);
                self
            }
        }
    };
}
use with_reducer;
