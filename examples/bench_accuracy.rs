//! Our half of `bench/accuracy_vs_pml`, and the scale runs of `bench/accuracy_at_scale`: the
//! AccuracyCalculator (`K::MaxBinCount`, Euclidean) on seeded `n x 128` embeddings of 100
//! classes, the set against itself. Prints `n seconds peak_mb metric=value...`: the time of one
//! call and the peak resident memory above what the process held before it (VmHWM minus VmRSS,
//! from /proc/self/status).
//!
//! Usage:
//! - `bench_accuracy N`: the retrieval metrics, as PML's half computes them (NMI and AMI are
//!   not benchmarked against PML);
//! - `bench_accuracy --all N`: all seven metrics, NMI and AMI included;
//! - `bench_accuracy --share Q N`: precision@1 and MAP@R of the first Q embeddings as queries
//!   against all N (each query leaving itself out, as in the full run), for a set too large to
//!   score whole here; the line adds `extrapolated_s`, the time scaled to all N queries.
//!
//! One run per process (the script calls it once per size), so that the peak is that run's.

use metric_learning::evaluation::{AccuracyCalculator, Metric, K};
use metric_learning::tch::{self, Device, Kind, Tensor};
use std::time::Instant;

/// A field of /proc/self/status in MB (0 where there is no such file).
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field));
    line.and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

enum Run {
    Retrieval(i64),
    All(i64),
    Share { queries: i64, n: i64 },
}

fn parse() -> Option<Run> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<i64>().ok()).filter(|&n| n > 0);
    match args.first().map(String::as_str) {
        None => Some(Run::Retrieval(10_000)),
        Some("--all") => Some(Run::All(number(1)?)),
        Some("--share") => Some(Run::Share { queries: number(1)?, n: number(2)? }),
        Some(_) => Some(Run::Retrieval(number(0)?)),
    }
}

fn main() -> metric_learning::Result<()> {
    let Some(run) = parse() else {
        eprintln!("usage: bench_accuracy N | --all N | --share QUERIES N");
        std::process::exit(2);
    };
    let n = match run {
        Run::Retrieval(n) | Run::All(n) | Run::Share { n, .. } => n,
    };
    // The same inputs as bench/pml_accuracy.py: PyTorch's generator is libtorch's.
    tch::manual_seed(0);
    let embeddings = Tensor::randn([n, 128], (Kind::Float, Device::Cpu));
    let labels = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(100);
    let baseline = status_mb("VmRSS:");
    let started = Instant::now();
    let calculator = AccuracyCalculator::new().k(K::MaxBinCount);
    let (accuracies, share) = match run {
        Run::Retrieval(_) => (calculator.exclude([Metric::Ami, Metric::Nmi]).get_accuracy(&embeddings, &labels)?, None),
        Run::All(_) => (calculator.get_accuracy(&embeddings, &labels)?, None),
        Run::Share { queries, .. } => {
            let queries = queries.min(n);
            let (query, query_labels) = (embeddings.narrow(0, 0, queries), labels.narrow(0, 0, queries));
            let calculator = calculator.include([Metric::PrecisionAt1, Metric::MeanAveragePrecisionAtR]);
            (calculator.get_accuracy_against(&query, &query_labels, &embeddings, &labels, true)?, Some(queries))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_mb("VmHWM:") - baseline;
    let values: Vec<String> = accuracies.iter().map(|(m, _)| format!("{m}={:.6}", accuracies.get(m).unwrap_or(f64::NAN))).collect();
    let extrapolated = share.map(|q| format!(" queries={q} extrapolated_s={:.0}", seconds * n as f64 / q as f64)).unwrap_or_default();
    println!("{n} {seconds:.3} {peak:.1} {}{extrapolated}", values.join(" "));
    Ok(())
}
