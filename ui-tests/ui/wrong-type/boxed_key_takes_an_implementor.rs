use metric_learning::prelude::*;

fn main() {
    // A miner where a loss goes: `metric_loss` takes any `MetricLoss`, and only that.
    let _builder = MetricLossOnly::builder().metric_loss(MultiSimilarityMiner::new(0.1));
}
