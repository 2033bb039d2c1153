use metric_learning::prelude::*;

#[trainer(embeddings = backbone -> head)]
pub struct TwoTrunks {
    #[model(trunk)]
    backbone: Model,
    #[model(trunk)]
    head: Model,
    #[loss(on = embeddings)]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
