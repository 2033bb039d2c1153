use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::miners::TupleMiner;
use crate::reducers::zero_loss;
use crate::{Error, Result};
use tch::nn::VarStore;
use tch::Tensor;

/// One named loss of a [`MultipleLosses`].
struct Part {
    name: &'static str,
    weight: f64,
    loss: Box<dyn MetricLoss>,
    miner: Option<Box<dyn TupleMiner>>,
    /// The loss's value in the last call, for the records.
    last: Option<Tensor>,
}

/// A weighted sum of losses on the same embeddings, each optionally on the tuples of its own
/// miner (PML's `MultipleLosses`, its dict form: every loss has a name). Records each loss's
/// last (unweighted) value under its name, then the losses' and miners' own statistics.
#[derive(Default)]
pub struct MultipleLosses {
    parts: Vec<Part>,
}

impl std::fmt::Debug for MultipleLosses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<(&str, f64, bool)> = self.parts.iter().map(|p| (p.name, p.weight, p.miner.is_some())).collect();
        f.debug_struct("MultipleLosses").field("parts (name, weight, mined)", &parts).finish()
    }
}

impl MultipleLosses {
    /// No losses yet.
    pub fn new() -> MultipleLosses {
        MultipleLosses::default()
    }

    /// Adds `loss`, weighted by `weight` (PML's default weight is 1), on the tuples the caller
    /// gives (or every tuple); a loss of the same name is replaced.
    pub fn loss(self, name: &'static str, weight: f64, loss: impl MetricLoss + 'static) -> Self {
        self.add(Part { name, weight, loss: Box::new(loss), miner: None, last: None })
    }

    /// Adds `loss`, weighted by `weight`, on the tuples `miner` chooses in every call.
    pub fn loss_with_miner(self, name: &'static str, weight: f64, loss: impl MetricLoss + 'static, miner: impl TupleMiner + 'static) -> Self {
        self.add(Part { name, weight, loss: Box::new(loss), miner: Some(Box::new(miner)), last: None })
    }

    fn add(mut self, part: Part) -> Self {
        self.parts.retain(|p| p.name != part.name);
        self.parts.push(part);
        self
    }

    /// The names and weights, in order.
    pub fn weights(&self) -> Vec<(&'static str, f64)> {
        self.parts.iter().map(|p| (p.name, p.weight)).collect()
    }

    /// The loss called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn MetricLoss> {
        self.parts.iter().find(|p| p.name == name).map(|p| p.loss.as_ref())
    }

    /// The names of the losses that have learned weights.
    fn with_parameters(&self) -> Vec<&'static str> {
        self.parts.iter().filter(|p| p.loss.var_store().is_some()).map(|p| p.name).collect()
    }
}

impl Component for MultipleLosses {
    /// The learned weights of the one loss that has any.
    fn var_store(&self) -> Option<&VarStore> {
        self.parts.iter().find_map(|p| p.loss.var_store())
    }
    fn set_training(&mut self, training: bool) {
        self.parts.iter_mut().for_each(|p| p.loss.set_training(training))
    }
    fn records(&self) -> Vec<Record> {
        let mut records: Vec<Record> =
            self.parts.iter().filter_map(|p| p.last.as_ref().map(|v| Record { name: p.name, value: v.double_value(&[]) })).collect();
        let inner = self.parts.iter().flat_map(|p| p.loss.records().into_iter().chain(p.miner.iter().flat_map(|m| m.records())));
        // A statistic two losses share (`margin`, `num_pos_pairs`) is the first one's.
        for record in inner.collect::<Vec<_>>() {
            if !records.iter().any(|r| r.name == record.name) {
                records.push(record);
            }
        }
        records
    }
    fn bind_key(&mut self, key: &str) {
        self.parts.iter_mut().for_each(|p| p.loss.bind_key(key))
    }
    /// Each loss's state, its names prefixed with the loss's (`memory.embedding_memory`).
    fn state(&self) -> Vec<(String, Tensor)> {
        self.parts.iter().flat_map(|p| p.loss.state().into_iter().map(move |(name, t)| (format!("{}.{name}", p.name), t))).collect()
    }
    fn load_state(&mut self, mut state: Vec<(String, Tensor)>) -> std::result::Result<(), String> {
        let mut previous: Vec<Vec<(String, Tensor)>> = Vec::new();
        let mut failure = None;
        for part in self.parts.iter_mut() {
            let prefix = format!("{}.", part.name);
            let (mine, rest): (Vec<_>, Vec<_>) = state.into_iter().partition(|(name, _)| name.starts_with(&prefix));
            state = rest;
            let before = part.loss.state();
            if let Err(error) = part.loss.load_state(mine.into_iter().map(|(name, t)| (name[prefix.len()..].to_string(), t)).collect()) {
                failure = Some(format!("loss `{}`: {error}", part.name));
                break;
            }
            previous.push(before);
        }
        if let (None, Some((name, _))) = (&failure, state.first()) {
            failure = Some(format!("the checkpoint holds state `{name}`, which none of its losses keeps"));
        }
        let Some(failure) = failure else { return Ok(()) };
        // Nothing changes: the losses loaded before the failure get their state back.
        for (part, before) in self.parts.iter_mut().zip(previous) {
            let _ = part.loss.load_state(before);
        }
        Err(failure)
    }
}

impl MetricLoss for MultipleLosses {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let mined: Vec<&str> = self.parts.iter().filter(|p| p.miner.is_some()).map(|p| p.name).collect();
        if indices.is_some() && !mined.is_empty() {
            return Err(Error::data(format!(
                "MultipleLosses: tuples were given, but {} mine their own (PML allows no tuples with miners)",
                mined.join(", ")
            )));
        }
        let learned = self.with_parameters();
        if learned.len() > 1 {
            return Err(Error::config(format!(
                "MultipleLosses: {} all have learned weights, but a key has one parameter store: give each its own loss key",
                learned.join(" and ")
            )));
        }
        let mut total: Option<Tensor> = None;
        for part in &mut self.parts {
            let tuples = match part.miner.as_mut() {
                Some(miner) => Some(miner.mine_with_reference(embeddings, labels, reference).map_err(|e| in_part(e, part.name))?),
                None => None,
            };
            let value = part.loss.compute_with_reference(embeddings, labels, tuples.as_ref().or(indices), reference).map_err(|e| in_part(e, part.name))?;
            part.last = Some(value.detach());
            let weighted = value * part.weight;
            total = Some(match total {
                None => weighted,
                Some(sum) => sum + weighted,
            });
        }
        Ok(total.unwrap_or_else(|| zero_loss(embeddings)))
    }
}

/// The error of one named loss, saying which.
fn in_part(error: Error, name: &str) -> Error {
    match error {
        Error::Data(message) => Error::data(format!("MultipleLosses `{name}`: {message}")),
        Error::Config(message) => Error::config(format!("MultipleLosses `{name}`: {message}")),
        other => other,
    }
}
