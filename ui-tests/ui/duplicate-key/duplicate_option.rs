use metric_learning::prelude::*;

#[trainer(embeddings = trunk)]
pub struct Weighted {
    #[model]
    trunk: Model,
    #[loss(on = embeddings, weight = 1.0, weight = 2.0)]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
