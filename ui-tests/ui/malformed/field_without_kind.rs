use metric_learning::prelude::*;

#[trainer]
pub struct Unmarked {
    #[model]
    trunk: Model,
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {}
