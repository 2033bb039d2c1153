use super::{check_rows, with_reducer, Regularizer};
use crate::component::{Component, Record};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::Result;
use tch::{Kind, Tensor};

/// How far each class weight's squared norm is from the mean squared norm: `(n_i - mean)^2 / 4`
/// (Wu et al., 2017; PML's `CenterInvariantRegularizer`, a weight regularizer; `MeanReducer`).
#[derive(Debug)]
pub struct CenterInvariantRegularizer {
    reducer: Box<dyn Reducer>,
}

impl Default for CenterInvariantRegularizer {
    fn default() -> Self {
        CenterInvariantRegularizer::new()
    }
}

impl CenterInvariantRegularizer {
    /// With `MeanReducer`, as PML.
    pub fn new() -> CenterInvariantRegularizer {
        CenterInvariantRegularizer { reducer: Box::new(MeanReducer) }
    }
}

with_reducer!(CenterInvariantRegularizer);

impl Component for CenterInvariantRegularizer {
    fn records(&self) -> Vec<Record> {
        self.reducer.records()
    }
}

impl Regularizer for CenterInvariantRegularizer {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        check_rows("CenterInvariantRegularizer", rows)?;
        let squared_norms = rows.f_norm_scalaropt_dim(2.0, [1i64].as_slice(), false)?.square();
        let deviations = &squared_norms - squared_norms.mean(None::<Kind>);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", deviations.square() / 4.0, Reduction::Element)], rows, &super::row_numbers(rows))
    }
}
