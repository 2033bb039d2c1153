use metric_learning::prelude::*;

fn main() {
    let _builder = MetricLossOnly::builder().tuple_miner_optimizer(Adam::new(1e-3));
}
