//! A trainer none of PML's six covers, written exactly as a user writes one outside this crate:
//! one embedding trained with two losses at once (a triplet loss on mined tuples and, weighted
//! 0.5 by default, a wider-margin triplet loss on all triplets), with a scale parameter.
//! Trains on 10,000 Fashion-MNIST images and prints precision@1 and MAP@R before and after.

use metric_learning::checkpoint::{self, Checkpoints};
use metric_learning::hooks::{Plots, Records};
use metric_learning::prelude::*;
use metric_learning::Iteration;

#[trainer]
pub struct TwoLosses {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[loss(weight = 0.5)]
    second_loss: Box<dyn MetricLoss>,
    #[miner(optional)]
    tuple_miner: Option<Box<dyn TupleMiner>>,
    #[param(default = 1.0)]
    scale: f64,
}

impl Step for TwoLosses {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        Ok(self.trunk.forward(data)? * self.scale)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        // Each loss runs only while its weight is positive; an error names the loss.
        it.compute(TwoLossesLoss::MetricLoss, || {
            let tuples = self.tuple_miner.mine_if_set(&embeddings, labels)?;
            self.metric_loss.compute(&embeddings, labels, tuples.as_ref())
        })?;
        it.compute(TwoLossesLoss::SecondLoss, || self.second_loss.compute(&embeddings, labels, None))
    }
}

const RUN: &str = "runs/custom_trainer";

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> metric_learning::Result<()> {
    metric_learning::tch::manual_seed(0);
    let train = FashionMnist::load(Split::Train)?.take(10_000);
    let test = FashionMnist::load(Split::Test)?.take(2000);
    let train_labels = train.all_labels().int_column(0).unwrap_or_default();
    let test_labels = test.all_labels().int_column(0).unwrap_or_default();
    let trunk = Model::build(Device::Cpu, |p| {
        nn::seq_t()
            .add(nn::linear(p / "fc1", 784, 256, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(p / "fc2", 256, 64, Default::default()))
    });
    let mut trainer = TwoLosses::builder()
        .trunk(trunk)
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .second_loss(TripletMarginLoss::new().margin(0.3))
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .trunk_optimizer(Adam::new(1e-3))
        .sampler(MPerClassSampler::new(&train_labels, 8).length_before_new_iter(train.len()))
        .data_device(Device::Cpu)
        .seed(0)
        .dataset(train)
        .batch_size(128)
        // Its run: CSV logs, curves and a checkpoint per epoch; `--resume` continues it.
        .run_folder(RUN)
        .checkpoints(Checkpoints::new())
        .hook(Records::new())
        .hook(Plots::new())
        .build()?;
    if std::env::args().any(|a| a == "--resume") {
        if let Some(latest) = checkpoint::latest(format!("{RUN}/checkpoints"))? {
            trainer.resume(&latest)?;
            println!("resumed from {}", latest.display());
        }
    }
    let before = knn_scores(&trainer.embed(test.data(), 1000)?, &test_labels)?;
    trainer.train_to(2)?;
    let after = knn_scores(&trainer.embed(test.data(), 1000)?, &test_labels)?;
    println!("run folder: {RUN}");
    println!(
        "fashion-mnist TwoLosses: precision_at_1 {:.3} -> {:.3}, r_precision {:.3} -> {:.3}, map_at_r {:.3} -> {:.3}",
        before.precision_at_1, after.precision_at_1, before.r_precision, after.r_precision, before.map_at_r, after.map_at_r
    );
    Ok(())
}
