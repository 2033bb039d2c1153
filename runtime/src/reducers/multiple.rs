use super::{MeanReducer, Reducer, Values};
use crate::component::Record;
use crate::Result;
use tch::Tensor;

/// A reducer per sub-loss, chosen by the sub-loss's name (`pos_loss`, `neg_loss`, ...), and a
/// default for the others; the loss sums the parts (PML's `MultipleReducers`, default
/// `MeanReducer`).
#[derive(Debug, Clone)]
pub struct MultipleReducers {
    named: Vec<(String, Box<dyn Reducer>)>,
    default: Box<dyn Reducer>,
}

impl Default for MultipleReducers {
    fn default() -> Self {
        MultipleReducers::new()
    }
}

impl MultipleReducers {
    /// No named reducers yet; `MeanReducer` for every sub-loss.
    pub fn new() -> MultipleReducers {
        MultipleReducers { named: Vec::new(), default: Box::new(MeanReducer) }
    }

    /// The reducer of the sub-loss called `name` (replacing an earlier one of that name).
    pub fn reducer(mut self, name: impl Into<String>, reducer: impl Reducer + 'static) -> Self {
        let name = name.into();
        self.named.retain(|(n, _)| *n != name);
        self.named.push((name, Box::new(reducer)));
        self
    }

    /// The reducer of every sub-loss without one of its own.
    pub fn default_reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.default = Box::new(reducer);
        self
    }

    fn all(&self) -> impl Iterator<Item = &dyn Reducer> {
        self.named.iter().map(|(_, r)| r.as_ref()).chain(std::iter::once(self.default.as_ref()))
    }
}

impl Reducer for MultipleReducers {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        match self.named.iter_mut().find(|(name, _)| name == part.name) {
            Some((_, reducer)) => reducer.reduce_values(part),
            None => self.default.reduce_values(part),
        }
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }

    fn reset(&mut self) {
        self.named.iter_mut().for_each(|(_, r)| r.reset());
        self.default.reset();
    }

    /// The named reducers' statistics in the order they were given, then the default's; a
    /// statistic another reducer already recorded under the same name is left out.
    fn records(&self) -> Vec<Record> {
        let mut records: Vec<Record> = Vec::new();
        for record in self.all().flat_map(|r| r.records()) {
            if !records.iter().any(|r| r.name == record.name) {
                records.push(record);
            }
        }
        records
    }
}
