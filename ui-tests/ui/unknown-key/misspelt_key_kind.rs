use metric_learning::prelude::*;

#[trainer]
pub struct Misspelt {
    #[modle]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
