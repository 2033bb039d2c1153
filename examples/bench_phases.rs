//! Where one training iteration's time goes, phase by phase, on the synthetic MLP workload:
//! 20,000 inputs of width 64 from 100 classes (Gaussian class centres, noise of their
//! scale, so that the miner keeps finding tuples), batches of 256 drawn as 64 classes x 4
//! samples, trunk 64-256-ReLU-128, embedder 128-64, MultiSimilarityMiner(0.1) then
//! TripletMarginLoss(0.05) on its pairs, Adam 1e-3 on both models; the steps the engine takes,
//! timed one by one (libtorch runs on the CPU synchronously, so each phase's wall time is its
//! own).
//!
//! `bench_phases [iterations]` (default 300, after 20 of warm-up) prints milliseconds per
//! iteration, the share of each phase and the mean number of mined pairs and triplets.

use metric_learning::indices::Tuples;
use metric_learning::optim::Optimizer;
use metric_learning::prelude::*;
use metric_learning::tch::{self, nn};
use std::time::{Duration, Instant};

const SAMPLES: i64 = 20_000;
const CLASSES: i64 = 100;
const CLASSES_PER_BATCH: i64 = 64;
const PER_CLASS: i64 = 4;
const BATCH: i64 = CLASSES_PER_BATCH * PER_CLASS;
const WARM_UP: usize = 20;

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(300);
    tch::manual_seed(0);
    let device = Device::Cpu;
    let trunk = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc1", 64, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, 128, Default::default())));
    let embedder = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
    let parameters: Vec<Tensor> = [&trunk, &embedder].iter().flat_map(|m| m.var_store().map(|vs| vs.trainable_variables()).unwrap_or_default()).collect();
    let mut optimizer = Adam::new(1e-3);
    optimizer.attach(parameters.iter().map(Tensor::shallow_clone).collect());
    let mut miner = MultiSimilarityMiner::new(0.1);
    let mut loss = TripletMarginLoss::new().margin(0.05);
    let centres = Tensor::randn([CLASSES, 64], (Kind::Float, device));
    let dataset_labels = Tensor::arange(SAMPLES, (Kind::Int64, device)).remainder(CLASSES);
    let inputs = centres.index_select(0, &dataset_labels) + Tensor::randn([SAMPLES, 64], (Kind::Float, device)) * 1.0;
    // Where each class's samples are: class c holds samples c, c + 100, c + 200, ...
    let per_class = SAMPLES / CLASSES;
    let phases = ["forward", "miner", "loss", "backward", "optimizer", "zero_grad"];
    let mut spent = [Duration::ZERO; 6];
    let mut mined = [0usize; 3];
    for iteration in 0..WARM_UP + iterations {
        let classes = Tensor::randperm(CLASSES, (Kind::Int64, device)).narrow(0, 0, CLASSES_PER_BATCH);
        let labels = classes.repeat_interleave_self_int(PER_CLASS, 0, None);
        let rows = &labels + Tensor::randint(per_class, [BATCH], (Kind::Int64, device)) * CLASSES;
        let data = inputs.index_select(0, &rows);
        let mut clock = Instant::now();
        let mut lap = |phase: usize, spent: &mut [Duration; 6]| {
            if iteration >= WARM_UP {
                spent[phase] += clock.elapsed();
            }
            clock = Instant::now();
        };
        let embeddings = embedder.forward(&trunk.forward(&data).expect("trunk")).expect("embedder");
        lap(0, &mut spent);
        let tuples = miner.mine(&embeddings, &labels).expect("miner");
        lap(1, &mut spent);
        let value = loss.compute(&embeddings, &labels, Some(&tuples)).expect("loss");
        lap(2, &mut spent);
        value.backward();
        lap(3, &mut spent);
        optimizer.step();
        lap(4, &mut spent);
        for p in &parameters {
            let _ = p.grad().zero_();
        }
        lap(5, &mut spent);
        // Outside the timed phases.
        if let (true, Tuples::Pairs { a1, a2, .. }) = (iteration >= WARM_UP, &tuples) {
            mined[0] += a1.numel();
            mined[1] += a2.numel();
            mined[2] += tuples.to_triplets(BATCH, BATCH).0.numel();
        }
    }
    let total: Duration = spent.iter().sum();
    let per = |d: Duration| 1e3 * d.as_secs_f64() / iterations as f64;
    println!("{:<10} {:>8} {:>7}", "phase", "ms/iter", "share");
    for (phase, d) in phases.iter().zip(spent) {
        println!("{phase:<10} {:>8.3} {:>6.1}%", per(d), 100.0 * d.as_secs_f64() / total.as_secs_f64());
    }
    println!("{:<10} {:>8.3}", "total", per(total));
    let mean = |count: usize| count as f64 / iterations as f64;
    println!("mined per iteration: {:.0} positive pairs, {:.0} negative pairs, {:.0} triplets", mean(mined[0]), mean(mined[1]), mean(mined[2]));
}
