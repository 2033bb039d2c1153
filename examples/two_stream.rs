//! TwoStreamMetricLoss on 20,000 Fashion-MNIST images, each paired with another image of its
//! class (the second stream): PML's example configuration (triplet margin loss and miner,
//! margin 0.2); precision@1 and MAP@R before and after on 2,000 test images.

#[macro_use]
mod common;

use metric_learning::miners::{TripletMarginMiner, TripletType};
use metric_learning::prelude::*;
use metric_learning::trainers::TwoStreamMetricLoss;

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let (train, test) = common::fashion_mnist(20_000, 2000)?;
        let labels = common::labels(&train);
        let mut trainer = with_run!(TwoStreamMetricLoss::builder()
            .trunk(common::mlp(64))
            .metric_loss(TripletMarginLoss::new().margin(0.2))
            .tuple_miner(TripletMarginMiner::new(0.2, TripletType::All))
            .trunk_optimizer(Adam::new(1e-3))
            .sampler(MPerClassSampler::new(&labels, 1).length_before_new_iter(train.len()))
            .seed(0)
            .dataset(train.same_class_pairs(0)?)
            .batch_size(64), "two_stream")
            .build()?;
        common::train_and_report("TwoStreamMetricLoss", "two_stream", &mut trainer, &test, 2)
    })
}
