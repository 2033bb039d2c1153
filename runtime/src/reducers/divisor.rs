use super::{zero_loss, Reducer, Values};
use crate::component::Record;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The sum of the values over the divisor the loss gives with them, or a zero with a gradient
/// when the divisor is 0 (PML's `DivisorReducer`, the default of `ProxyAnchorLoss` and
/// `MarginLoss`). Only losses that define a divisor work with it.
#[derive(Debug, Default)]
pub struct DivisorReducer {
    divisor: Option<Tensor>,
}

impl DivisorReducer {
    /// The reducer.
    pub fn new() -> DivisorReducer {
        DivisorReducer::default()
    }
}

impl Clone for DivisorReducer {
    fn clone(&self) -> Self {
        DivisorReducer { divisor: None }
    }
}

impl Reducer for DivisorReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        let divisor = part.divisor.ok_or_else(|| {
            Error::data(format!("DivisorReducer: the sub-loss `{}` comes without a divisor (only losses that define one, such as ProxyAnchorLoss and MarginLoss, work with this reducer)", part.name))
        })?;
        let values = part.values;
        let divisor = divisor.to_device(values.device());
        self.divisor = Some(divisor.detach());
        // Decided on the device, not by a host sync as PML's `if divisor != 0`: same value.
        let nonzero = divisor.ne(0);
        let safe_divisor = divisor.where_self(&nonzero, &divisor.ones_like());
        let mut quotient = values.sum(values.kind()) / &safe_divisor;
        if values.kind() == Kind::Half {
            // PML sums again in float32 when the half sum overflowed into NaN.
            let wide = (values.sum(Kind::Float) / &safe_divisor).to_kind(Kind::Half);
            quotient = wide.where_self(&quotient.isnan(), &quotient);
        }
        Ok(quotient.where_self(&nonzero, &zero_loss(part.embeddings)))
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }

    fn reset(&mut self) {
        self.divisor = None;
    }

    fn records(&self) -> Vec<Record> {
        self.divisor.iter().map(|d| Record { name: "divisor", value: d.double_value(&[]) }).collect()
    }
}
