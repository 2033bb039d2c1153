use metric_learning::prelude::*;

#[trainer(embeddings = trunk)]
pub struct NoInput {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
