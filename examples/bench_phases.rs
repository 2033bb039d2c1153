//! Where one training iteration's time goes, phase by phase, on the synthetic MLP workload of
//! the losses issue: batches of 256 from 64 classes of 784-wide inputs, trunk 784-256-ReLU-128,
//! embedder 128-64, MultiSimilarityMiner(0.1) then TripletMarginLoss(0.05) on its pairs, Adam
//! 1e-3 on both models; the steps the engine takes, timed one by one (libtorch runs on the CPU
//! synchronously, so each phase's wall time is its own).
//!
//! `bench_phases [iterations]` (default 300, after 20 of warm-up) prints milliseconds per
//! iteration and the share of each phase.

use metric_learning::optim::Optimizer;
use metric_learning::prelude::*;
use metric_learning::tch::{self, nn};
use std::time::{Duration, Instant};

const BATCH: i64 = 256;
const CLASSES: i64 = 64;
const WARM_UP: usize = 20;

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(300);
    tch::manual_seed(0);
    let device = Device::Cpu;
    let trunk = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc1", 784, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, 128, Default::default())));
    let embedder = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
    let parameters: Vec<Tensor> = [&trunk, &embedder].iter().flat_map(|m| m.var_store().map(|vs| vs.trainable_variables()).unwrap_or_default()).collect();
    let mut optimizer = Adam::new(1e-3);
    optimizer.attach(parameters.iter().map(Tensor::shallow_clone).collect());
    let mut miner = MultiSimilarityMiner::new(0.1);
    let mut loss = TripletMarginLoss::new().margin(0.05);
    // Class centres and noise: a batch holds 4 samples of each of the 64 classes.
    let centres = Tensor::randn([CLASSES, 784], (Kind::Float, device));
    let labels = Tensor::arange(CLASSES, (Kind::Int64, device)).repeat_interleave_self_int(BATCH / CLASSES, 0, None);
    let phases = ["forward", "miner", "loss", "backward", "optimizer", "zero_grad"];
    let mut spent = [Duration::ZERO; 6];
    for iteration in 0..WARM_UP + iterations {
        let data = centres.index_select(0, &labels) + Tensor::randn([BATCH, 784], (Kind::Float, device)) * 0.5;
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
    }
    let total: Duration = spent.iter().sum();
    let per = |d: Duration| 1e3 * d.as_secs_f64() / iterations as f64;
    println!("{:<10} {:>8} {:>7}", "phase", "ms/iter", "share");
    for (phase, d) in phases.iter().zip(spent) {
        println!("{phase:<10} {:>8.3} {:>6.1}%", per(d), 100.0 * d.as_secs_f64() / total.as_secs_f64());
    }
    println!("{:<10} {:>8.3}", "total", per(total));
}
