//! The quick-start demo's training (MetricLossOnly on the 60k Fashion-MNIST training images,
//! TripletMarginLoss(margin 0.1) on MultiSimilarityMiner(epsilon 0.1) tuples, global batch 128,
//! Adam 1e-3, 2 epochs) as one of several processes: start it with
//!
//! `scripts/launch 2 target/release/examples/distributed` (or torchrun, or by hand with
//! MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE set on each machine).
//!
//! Each process takes 128 / WORLD_SIZE rows of every global batch; the loss and the miner see
//! the whole global batch through the distributed wrappers, so the run trains as one process
//! with batches of 128 would. Rank 0 shows the progress bar, scores the first 5000 test images
//! before and after, and prints the last line; the others print nothing.

mod common;

use metric_learning::distributed::{DistributedLossWrapper, DistributedMinerWrapper, ProcessGroup};
use metric_learning::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EPOCHS: usize = 2;
const GLOBAL_BATCH: usize = 128;
const TEST_IMAGES: usize = 5000;

fn main() {
    common::main_with(run);
}

fn run() -> metric_learning::Result<()> {
    metric_learning::tch::manual_seed(0);
    // Every wait (for the other processes, for a collective) gives up after this.
    let group = Arc::new(ProcessGroup::from_env(Duration::from_secs(300))?);
    let (rank, world) = (group.rank(), group.world_size());
    if GLOBAL_BATCH % world != 0 {
        return Err(Error::config(format!("the global batch of {GLOBAL_BATCH} must split evenly over the WORLD_SIZE of {world}")));
    }
    let train = FashionMnist::load(Split::Train)?;
    let test = FashionMnist::load(Split::Test)?.take(TEST_IMAGES);
    let train_labels = train.all_labels().int_column(0).unwrap_or_default();
    let test_labels = test.all_labels().int_column(0).unwrap_or_default();
    // Each rank may start from other weights: the trainer takes rank 0's.
    let trunk = Model::build(Device::Cpu, |p| {
        nn::seq_t().add(nn::linear(p / "fc1", 784, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, 128, Default::default()))
    });
    let embedder = Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
    let sampler = MPerClassSampler::new(&train_labels, 8).length_before_new_iter(train.len());
    let mut trainer = MetricLossOnly::builder()
        .trunk(trunk)
        .embedder(embedder)
        .metric_loss(DistributedLossWrapper::new(TripletMarginLoss::new().margin(0.1), group.clone()))
        .tuple_miner(DistributedMinerWrapper::new(MultiSimilarityMiner::new(0.1), group.clone()))
        .trunk_optimizer(Adam::new(1e-3))
        .embedder_optimizer(Adam::new(1e-3))
        .sampler(sampler)
        .data_device(Device::Cpu)
        .seed(0)
        .distributed(group)
        .dataset(train)
        .batch_size(GLOBAL_BATCH / world)
        .build()?;
    let before = (rank == 0).then(|| knn_scores(&trainer.embed(test.data(), 1000)?, &test_labels)).transpose()?;
    let started = Instant::now();
    trainer.train_to(EPOCHS)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(before) = before {
        let after = knn_scores(&trainer.embed(test.data(), 1000)?, &test_labels)?;
        println!("trained {EPOCHS} epochs ({} iterations of {GLOBAL_BATCH}) on {world} processes in {seconds:.1} s", EPOCHS * trainer.iterations_per_epoch());
        println!(
            "fashion-mnist MetricLossOnly on {world} processes: precision_at_1 {:.3} -> {:.3}, r_precision {:.3} -> {:.3}, map_at_r {:.3} -> {:.3}",
            before.precision_at_1, after.precision_at_1, before.r_precision, after.r_precision, before.map_at_r, after.map_at_r
        );
    }
    Ok(())
}
