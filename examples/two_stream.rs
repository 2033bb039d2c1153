//! TwoStreamMetricLoss on 20,000 Fashion-MNIST images, each paired with another image of its
//! class (the second stream): PML's example configuration (triplet margin loss and miner,
//! margin 0.2); precision@1 and MAP@R before and after on 2,000 test images.

mod common;

use metric_learning::data::{InMemoryDataset, Labels};
use metric_learning::miners::{TripletMarginMiner, TripletType};
use metric_learning::prelude::*;
use metric_learning::trainers::TwoStreamMetricLoss;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Each image stacked with a random image of its class, `(n, 2, 784)`.
fn same_class_pairs(images: &InMemoryDataset) -> metric_learning::Result<InMemoryDataset> {
    let labels = common::labels(images);
    let mut by_class = std::collections::HashMap::<i64, Vec<i64>>::new();
    for (i, &l) in labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i as i64);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let partners: Vec<i64> = labels.iter().map(|l| by_class[l].choose(&mut rng).copied().unwrap_or(0)).collect();
    let data = images.data();
    let pairs = Tensor::stack(&[data.shallow_clone(), data.index_select(0, &Tensor::from_slice(&partners))], 1);
    InMemoryDataset::new(pairs, Labels::int(labels))
}

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let (train, test) = common::fashion_mnist(20_000, 2000)?;
        let labels = common::labels(&train);
        let mut trainer = TwoStreamMetricLoss::builder()
            .trunk(common::mlp(64))
            .metric_loss(TripletMarginLoss::new().margin(0.2))
            .tuple_miner(TripletMarginMiner::new(0.2, TripletType::All))
            .trunk_optimizer(Adam::new(1e-3))
            .sampler(MPerClassSampler::new(&labels, 1).length_before_new_iter(train.len()))
            .seed(0)
            .dataset(same_class_pairs(&train)?)
            .batch_size(64)
            .build()?;
        let before = common::scores(&mut trainer, &test)?;
        trainer.train(2)?;
        let after = common::scores(&mut trainer, &test)?;
        common::report("TwoStreamMetricLoss", before, after);
        Ok(())
    })
}
