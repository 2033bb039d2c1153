use super::{SubsetBatchMiner, TupleMiner};
use crate::losses::MetricLoss;
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Draws `num_trials` random subsets of `output_batch_size` samples and keeps the one whose
/// loss is highest (PML's `MaximumLossMiner`, removed from PML in v2.0, kept here as the
/// subset-batch miner).
pub struct MaximumLossMiner {
    loss: Box<dyn MetricLoss>,
    miner: Option<Box<dyn TupleMiner>>,
    output_batch_size: i64,
    num_trials: usize,
    losses: Vec<f64>,
}

impl MaximumLossMiner {
    /// Scores subsets of `output_batch_size` with `loss`.
    pub fn new(loss: impl MetricLoss + 'static, output_batch_size: usize) -> MaximumLossMiner {
        MaximumLossMiner { loss: Box::new(loss), miner: None, output_batch_size: output_batch_size as i64, num_trials: 5, losses: Vec::new() }
    }
    /// A tuple miner applied to each subset before its loss is computed.
    pub fn miner(mut self, miner: impl TupleMiner + 'static) -> Self {
        self.miner = Some(Box::new(miner));
        self
    }
    /// How many random subsets to score.
    pub fn num_trials(mut self, num_trials: usize) -> Self {
        self.num_trials = num_trials.max(1);
        self
    }
}

impl Component for MaximumLossMiner {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "num_trials", value: self.num_trials as f64 }];
        if !self.losses.is_empty() {
            let n = self.losses.len() as f64;
            records.push(Record { name: "min_loss", value: self.losses.iter().copied().fold(f64::INFINITY, f64::min) });
            records.push(Record { name: "avg_loss", value: self.losses.iter().sum::<f64>() / n });
            records.push(Record { name: "max_loss", value: self.losses.iter().copied().fold(f64::NEG_INFINITY, f64::max) });
        }
        records
    }
}

impl SubsetBatchMiner for MaximumLossMiner {
    fn mine(&mut self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let batch = embeddings.size()[0];
        if batch < self.output_batch_size {
            return Err(Error::data(format!(
                "MaximumLossMiner: needs a batch of at least {} to choose a subset of that size, found {batch}",
                self.output_batch_size
            )));
        }
        let labels = labels.to_device(embeddings.device());
        self.losses.clear();
        let mut best: Option<(f64, Tensor)> = None;
        for _ in 0..self.num_trials {
            let subset = Tensor::randperm(batch, (Kind::Int64, Device::Cpu)).narrow(0, 0, self.output_batch_size).to_device(embeddings.device());
            let (e, l) = (embeddings.index_select(0, &subset), labels.index_select(0, &subset));
            let tuples = match &mut self.miner {
                Some(miner) => Some(miner.mine(&e, &l)?),
                None => None,
            };
            let loss = self.loss.compute(&e, &l, tuples.as_ref())?.double_value(&[]);
            self.losses.push(loss);
            if best.as_ref().is_none_or(|(b, _)| loss > *b) {
                best = Some((loss, subset));
            }
        }
        best.map(|(_, subset)| subset).ok_or_else(|| Error::config("MaximumLossMiner: no trial ran"))
    }
}
