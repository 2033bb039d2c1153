//! Our side of `bench/trainers_vs_pml`: one workload's training speed, as iterations per second
//! after a warm-up, and for `conv-map` the MAP@R after two epochs. `bench_trainers WORKLOAD
//! THREADS [bf16]`, where WORKLOAD is
//!
//! - `mlp-metric`, `mlp-classifier`: MetricLossOnly and TrainWithClassifier (classifier 64-100,
//!   cross-entropy) on 20k synthetic rows of 64 features in 100 classes, trunk 64-256-ReLU-128,
//!   embedder 128-64, TripletMarginLoss(0.1) on MultiSimilarityMiner(0.1) tuples,
//!   MPerClassSampler(m 4), batch 256, Adam 1e-3;
//! - `conv`: MetricLossOnly on the 60k Fashion-MNIST training images, trunk conv 1-32 and 32-64
//!   (3x3, stride 2, ReLU) and Linear 3136-128, embedder 128-64, the same loss and miner,
//!   MPerClassSampler(m 4), batch 128, Adam 1e-3;
//! - `conv-map`: `conv` for two epochs, then MAP@R on the first 5000 test images.
//!
//! `bf16` trains under mixed precision (emulated where the CPU has no native bf16, where it is
//! far slower than f32). Prints `WORKLOAD THREADS PRECISION it_per_s VALUE` (or `map_at_r`).

use metric_learning::data::{FashionMnist, InMemoryDataset, Labels, Split};
use metric_learning::precision::{bf16_supported, MixedPrecision};
use metric_learning::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// Iterations before the clock starts, and after.
const WARM_UP: usize = 5;

/// Iterations per second of one epoch of a trainer's builder, after the warm-up: each
/// iteration's end is stamped by a hook.
macro_rules! rate_of {
    ($builder:expr) => {{
        let stamps = Rc::new(RefCell::new(Vec::new()));
        let sink = stamps.clone();
        let mut trainer = $builder
            .end_of_iteration_hook(move |_| {
                sink.borrow_mut().push(Instant::now());
                Ok(())
            })
            .build()?;
        trainer.train(1)?;
        let stamps = stamps.borrow();
        (stamps.len() - WARM_UP) as f64 / (stamps[stamps.len() - 1] - stamps[WARM_UP - 1]).as_secs_f64()
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).cloned().unwrap_or_default();
    let threads: i32 = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    let bf16 = args.get(3).is_some_and(|a| a == "bf16");
    tch::set_num_threads(threads);
    if let Err(error) = run(&workload, threads, bf16) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(workload: &str, threads: i32, bf16: bool) -> metric_learning::Result<()> {
    tch::manual_seed(0);
    let precision = if bf16 { "bf16" } else { "f32" };
    // Emulated bf16 runs at about a hundredth of f32's speed: a few iterations tell its rate.
    let timed = |iterations: usize| if bf16 && !bf16_supported(Device::Cpu) { 4 } else { iterations };
    let mixed = || bf16.then(|| MixedPrecision::bf16().even_if_emulated());
    match workload {
        "mlp-metric" | "mlp-classifier" => {
            let dataset = synthetic();
            let labels = dataset.all_labels().int_column(0).unwrap_or_default();
            let iterations = WARM_UP + timed(200);
            let rate = if workload == "mlp-metric" {
                let builder = MetricLossOnly::builder().trunk(mlp_trunk()).embedder(linear(128, 64)).trunk_optimizer(Adam::new(1e-3)).embedder_optimizer(Adam::new(1e-3));
                let builder = builder.metric_loss(TripletMarginLoss::new().margin(0.1)).tuple_miner(MultiSimilarityMiner::new(0.1));
                let builder = builder.sampler(MPerClassSampler::new(&labels, 4).length_before_new_iter(dataset.len())).iterations_per_epoch(iterations);
                let builder = match mixed() { Some(m) => builder.mixed_precision(m), None => builder };
                rate_of!(builder.data_device(Device::Cpu).progress_bar(false).seed(0).dataset(dataset).batch_size(256))
            } else {
                let builder = TrainWithClassifier::builder().trunk(mlp_trunk()).embedder(linear(128, 64)).classifier(linear(64, 100));
                let builder = builder.trunk_optimizer(Adam::new(1e-3)).embedder_optimizer(Adam::new(1e-3)).classifier_optimizer(Adam::new(1e-3));
                let builder = builder.metric_loss(TripletMarginLoss::new().margin(0.1)).tuple_miner(MultiSimilarityMiner::new(0.1)).classifier_loss(CrossEntropyLoss::new());
                let builder = builder.sampler(MPerClassSampler::new(&labels, 4).length_before_new_iter(dataset.len())).iterations_per_epoch(iterations);
                let builder = match mixed() { Some(m) => builder.mixed_precision(m), None => builder };
                rate_of!(builder.data_device(Device::Cpu).progress_bar(false).seed(0).dataset(dataset).batch_size(256))
            };
            println!("{workload} {threads} {precision} it_per_s {rate:.2}");
        }
        "conv" | "conv-map" => {
            let train = FashionMnist::load(Split::Train)?;
            let labels = train.all_labels().int_column(0).unwrap_or_default();
            let sampler = MPerClassSampler::new(&labels, 4).length_before_new_iter(train.len());
            let builder = MetricLossOnly::builder().trunk(conv_trunk()).embedder(linear(128, 64)).trunk_optimizer(Adam::new(1e-3)).embedder_optimizer(Adam::new(1e-3));
            let builder = builder.metric_loss(TripletMarginLoss::new().margin(0.1)).tuple_miner(MultiSimilarityMiner::new(0.1)).sampler(sampler);
            let builder = match mixed() { Some(m) => builder.mixed_precision(m), None => builder };
            let builder = builder.data_device(Device::Cpu).progress_bar(false).seed(0).dataset(train);
            if workload == "conv" {
                let iterations = WARM_UP + timed(60);
                let rate = rate_of!(builder.iterations_per_epoch(iterations).batch_size(128));
                println!("{workload} {threads} {precision} it_per_s {rate:.2}");
            } else {
                let test = FashionMnist::load(Split::Test)?.take(5000);
                let mut trainer = builder.batch_size(128).build()?;
                trainer.train(2)?;
                let scores = knn_scores(&trainer.embed(&images(&test), 1000)?, &test.all_labels().int_column(0).unwrap_or_default())?;
                println!("{workload} {threads} {precision} map_at_r {:.4}", scores.map_at_r);
            }
        }
        other => return Err(Error::config(format!("unknown workload {other:?}: mlp-metric, mlp-classifier, conv or conv-map"))),
    }
    Ok(())
}

/// 20k rows of 64 features around 100 class centres.
fn synthetic() -> InMemoryDataset {
    let labels: Vec<i64> = (0..20_000).map(|i| i % 100).collect();
    let centres = Tensor::randn([100, 64], (Kind::Float, Device::Cpu));
    let data = centres.index_select(0, &Tensor::from_slice(&labels)) + Tensor::randn([20_000, 64], (Kind::Float, Device::Cpu)) * 2.0;
    InMemoryDataset::new(data, Labels::int(labels)).expect("one label per row")
}

fn linear(from: i64, to: i64) -> Model {
    Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc", from, to, Default::default())))
}

fn mlp_trunk() -> Model {
    Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc1", 64, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, 128, Default::default())))
}

fn conv_trunk() -> Model {
    Model::build(Device::Cpu, |p| {
        let conv = |name: &str, from, to| nn::conv2d(p / name, from, to, 3, nn::ConvConfig { stride: 2, padding: 1, ..Default::default() });
        nn::seq_t()
            .add_fn(|x| x.view([-1, 1, 28, 28]))
            .add(conv("conv1", 1, 32))
            .add_fn(|x| x.relu())
            .add(conv("conv2", 32, 64))
            .add_fn(|x| x.relu().flatten(1, -1))
            .add(nn::linear(p / "fc", 64 * 7 * 7, 128, Default::default()))
    })
}

/// The test images as the trunk takes them.
fn images(test: &InMemoryDataset) -> Tensor {
    test.data().shallow_clone()
}
