use metric_learning::prelude::*;

// `on` and `miner` wire a generated step; without `embeddings = ...` there is none.
#[trainer]
pub struct NotAPipeline {
    #[model]
    trunk: Model,
    #[loss(on = embeddings)]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
