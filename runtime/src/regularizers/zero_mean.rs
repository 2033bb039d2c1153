use super::{check_rows, with_reducer, Regularizer};
use crate::component::{Component, Record};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::Result;
use tch::{Kind, Tensor};

/// The absolute value of each row's sum (PML's `ZeroMeanRegularizer`; `MeanReducer`).
#[derive(Debug)]
pub struct ZeroMeanRegularizer {
    reducer: Box<dyn Reducer>,
}

impl Default for ZeroMeanRegularizer {
    fn default() -> Self {
        ZeroMeanRegularizer::new()
    }
}

impl ZeroMeanRegularizer {
    /// With `MeanReducer`, as PML.
    pub fn new() -> ZeroMeanRegularizer {
        ZeroMeanRegularizer { reducer: Box::new(MeanReducer) }
    }
}

with_reducer!(ZeroMeanRegularizer);

impl Component for ZeroMeanRegularizer {
    fn records(&self) -> Vec<Record> {
        self.reducer.records()
    }
}

impl Regularizer for ZeroMeanRegularizer {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        check_rows("ZeroMeanRegularizer", rows)?;
        let sums = rows.f_sum_dim_intlist(1i64, false, None::<Kind>)?.abs();
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", sums, Reduction::Element)], rows, &super::row_numbers(rows))
    }
}
