//! CascadedEmbeddings on 20,000 Fashion-MNIST images: a 192-wide embedding in three stages of
//! 64 with PML's example losses (contrastive, multi-similarity, circle) and miners (none,
//! multi-similarity, HDC filtering stage 1's pairs); precision@1 and MAP@R before and after on
//! 2,000 test images, scored on the whole embedding.

#[macro_use]
mod common;

use metric_learning::miners::HdcMiner;
use metric_learning::prelude::*;
use metric_learning::trainers::CascadedEmbeddings;

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let (train, test) = common::fashion_mnist(20_000, 2000)?;
        let sampler = MPerClassSampler::new(&common::labels(&train), 8).length_before_new_iter(train.len());
        // One call per stage: stage 0 has no miner, stage 2's HDC miner filters stage 1's tuples.
        let mut trainer = with_run!(CascadedEmbeddings::builder()
            .trunk(common::mlp(192))
            .embedding_sizes(vec![64, 64, 64])
            .metric_loss(ContrastiveLoss::new().pos_margin(0.0).neg_margin(0.5))
            .metric_loss(MultiSimilarityLoss::new().alpha(0.1).beta(40.0).base(0.5))
            .metric_loss(CircleLoss::new())
            .maybe_tuple_miner(None)
            .tuple_miner(MultiSimilarityMiner::new(0.1))
            .tuple_miner(HdcMiner::new(0.25))
            .trunk_optimizer(Adam::new(1e-3))
            .sampler(sampler)
            .seed(0)
            .dataset(train)
            .batch_size(128), "cascaded_embeddings")
            .build()?;
        common::train_and_report("CascadedEmbeddings", "cascaded_embeddings", &mut trainer, &test, 2)
    })
}
