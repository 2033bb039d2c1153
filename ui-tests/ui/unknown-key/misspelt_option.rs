use metric_learning::prelude::*;

#[trainer]
pub struct Misspelt {
    #[model]
    trunk: Model,
    #[loss(wieght = 0.5)]
    metric_loss: Box<dyn MetricLoss>,
    #[model(optinal = Model::identity())]
    embedder: Model,
}

fn main() {}
