use metric_learning::prelude::*;

#[trainer(embeddings = trunk -> metric_loss)]
pub struct WrongKinds {
    #[model]
    trunk: Model,
    #[loss(on = trunk, miner = subset_batch_miner)]
    metric_loss: Box<dyn MetricLoss>,
    #[miner(optional)]
    subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
}

fn main() {}
