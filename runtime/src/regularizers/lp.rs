use super::{check_rows, with_reducer, Regularizer};
use crate::component::{Component, Record};
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::Result;
use tch::Tensor;

/// The Lp norm of each row, raised to `power` (PML's `LpRegularizer`; `MeanReducer`).
#[derive(Debug)]
pub struct LpRegularizer {
    p: f64,
    power: f64,
    reducer: Box<dyn Reducer>,
}

impl Default for LpRegularizer {
    fn default() -> Self {
        LpRegularizer::new()
    }
}

impl LpRegularizer {
    /// The L2 norm, to the power 1, as PML.
    pub fn new() -> LpRegularizer {
        LpRegularizer { p: 2.0, power: 1.0, reducer: Box::new(MeanReducer) }
    }

    /// The norm's p.
    pub fn p(mut self, p: f64) -> Self {
        self.p = p;
        self
    }

    /// The power the norms are raised to.
    pub fn power(mut self, power: f64) -> Self {
        self.power = power;
        self
    }
}

with_reducer!(LpRegularizer);

impl Component for LpRegularizer {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "p", value: self.p }, Record { name: "power", value: self.power }];
        records.extend(self.reducer.records());
        records
    }
}

impl Regularizer for LpRegularizer {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        check_rows("LpRegularizer", rows)?;
        let mut norms = rows.f_norm_scalaropt_dim(self.p, [1i64].as_slice(), false)?;
        if self.power != 1.0 {
            norms = norms.pow_tensor_scalar(self.power);
        }
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", norms, Reduction::Element)], rows, &super::row_numbers(rows))
    }
}
