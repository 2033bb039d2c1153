"""PML's half of bench/accuracy_vs_pml: AccuracyCalculator with its default faiss k-NN,
k="max_bin_count", every non-clustering metric, on the same seeded n x 128 embeddings of 100
classes as examples/bench_accuracy.rs. Prints `n seconds peak_mb metric=value...`: one call's
time and the peak resident memory above the baseline before it (VmHWM minus VmRSS).
Usage: pml_accuracy.py N (one N per process, so that the peak is that N's)."""
import sys
import time

import torch
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

METRICS = ("mean_average_precision", "mean_average_precision_at_r", "mean_reciprocal_rank", "precision_at_1", "r_precision")


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    torch.manual_seed(0)
    embeddings = torch.randn(n, 128)
    labels = torch.arange(n) % 100
    calculator = AccuracyCalculator(include=METRICS, k="max_bin_count", device=torch.device("cpu"))
    baseline = status_mb("VmRSS:")
    started = time.perf_counter()
    result = calculator.get_accuracy(embeddings, labels)
    seconds = time.perf_counter() - started
    peak = status_mb("VmHWM:") - baseline
    values = " ".join(f"{m}={result[m]:.6f}" for m in METRICS)
    print(f"{n} {seconds:.3f} {peak:.1f} {values}")


if __name__ == "__main__":
    main()
