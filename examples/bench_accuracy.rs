//! Our half of `bench/accuracy_vs_pml`: the AccuracyCalculator (every non-clustering metric,
//! `K::MaxBinCount`, Euclidean) on seeded `n x 128` embeddings of 100 classes, the set against
//! itself. Prints `n seconds peak_mb metric=value...`: the time of one call and the peak
//! resident memory above what the process held before it (VmHWM minus VmRSS, from
//! /proc/self/status). Usage: `bench_accuracy N [N...]`; each N runs in a fresh process (the
//! script calls it once per N), so that the peak is that N's.

use metric_learning::evaluation::{AccuracyCalculator, Metric, K};
use metric_learning::tch::{self, Device, Kind, Tensor};
use std::time::Instant;

/// A field of /proc/self/status in MB (0 where there is no such file).
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field));
    line.and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn main() -> metric_learning::Result<()> {
    let sizes: Vec<i64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    for n in if sizes.is_empty() { vec![10_000] } else { sizes } {
        // The same inputs as bench/pml_accuracy.py: PyTorch's generator is libtorch's.
        tch::manual_seed(0);
        let embeddings = Tensor::randn([n, 128], (Kind::Float, Device::Cpu));
        let labels = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(100);
        let baseline = status_mb("VmRSS:");
        let started = Instant::now();
        // The retrieval metrics, as PML's half computes them (NMI and AMI are not benchmarked).
        let accuracies = AccuracyCalculator::new().exclude([Metric::Ami, Metric::Nmi]).k(K::MaxBinCount).get_accuracy(&embeddings, &labels)?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = status_mb("VmHWM:") - baseline;
        let values: Vec<String> = accuracies.iter().map(|(m, _)| format!("{m}={:.6}", accuracies.get(m).unwrap_or(f64::NAN))).collect();
        println!("{n} {seconds:.3} {peak:.1} {}", values.join(" "));
    }
    Ok(())
}
