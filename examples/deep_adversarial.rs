//! DeepAdversarialMetricLearning on 20,000 Fashion-MNIST images with PML's example settings: one
//! metric-alone epoch, one generator-alone epoch, then one joint epoch; triplet margin losses
//! (margin 0.1) for the metric, the synthetic triplets and the generator; a multi-similarity
//! miner; weights 1 for the metric loss and 0.1 for the rest. Two random triplets per anchor for
//! the generator (PML's default of 100 makes every loss on the synthetic batch a 38,400-square
//! distance matrix, in PML as here). Precision@1 and MAP@R before and after on 2,000 test images.

#[macro_use]
mod common;

use metric_learning::prelude::*;
use metric_learning::trainers::{DeepAdversarialMetricLearning, DeepAdversarialMetricLearningLoss as L};

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let (train, test) = common::fashion_mnist(20_000, 2000)?;
        let sampler = MPerClassSampler::new(&common::labels(&train), 8).length_before_new_iter(train.len());
        let device = Device::cuda_if_available();
        let embedder = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
        let generator = Model::build(device, |p| {
            nn::seq_t().add(nn::linear(p / "fc1", 384, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, 128, Default::default()))
        });
        let mut trainer = with_run!(DeepAdversarialMetricLearning::builder()
            .trunk(common::mlp(128))
            .embedder(embedder)
            .generator(generator)
            .metric_loss(TripletMarginLoss::new().margin(0.1))
            .synth_loss(TripletMarginLoss::new().margin(0.1))
            .g_adv_loss(TripletMarginLoss::new().margin(0.1))
            .tuple_miner(MultiSimilarityMiner::new(0.1))
            .metric_alone_epochs(1)
            .g_alone_epochs(1)
            .g_triplets_per_anchor(2)
            .loss_weight(L::SynthLoss, 0.1)
            .loss_weight(L::GAdvLoss, 0.1)
            .loss_weight(L::GHardLoss, 0.1)
            .loss_weight(L::GRegLoss, 0.1)
            .trunk_optimizer(Adam::new(1e-3))
            .embedder_optimizer(Adam::new(1e-3))
            .generator_optimizer(Adam::new(1e-3))
            .sampler(sampler)
            .seed(0)
            .dataset(train)
            .batch_size(128), "deep_adversarial")
            .build()?;
        common::train_and_report("DeepAdversarialMetricLearning", "deep_adversarial", &mut trainer, &test, 3)
    })
}
