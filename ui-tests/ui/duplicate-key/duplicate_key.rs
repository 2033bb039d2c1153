use metric_learning::prelude::*;

#[trainer]
pub struct Twice {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[model]
    trunk: Model,
}

fn main() {}
