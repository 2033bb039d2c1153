use super::{Reducer, Values};
use crate::Result;
use tch::Tensor;

/// The mean of all values (PML's `MeanReducer`, the default of most losses).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanReducer;

/// The sum of all values (PML's `SumReducer`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SumReducer;

/// No reduction: the loss returns its values as they are (PML's `DoNothingReducer`, for a
/// single sub-loss).
#[derive(Clone, Copy, Debug, Default)]
pub struct DoNothingReducer;

impl Reducer for MeanReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        Ok(part.values.mean(part.values.kind()))
    }
    fn weighs_values_alike(&self) -> bool {
        true
    }
    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(*self)
    }
}

impl Reducer for SumReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        Ok(part.values.sum(part.values.kind()))
    }
    fn weighs_values_alike(&self) -> bool {
        true
    }
    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(*self)
    }
}

impl Reducer for DoNothingReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        Ok(part.values.shallow_clone())
    }
    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(*self)
    }
}
