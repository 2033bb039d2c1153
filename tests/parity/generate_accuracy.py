"""Writes the AccuracyCalculator parity fixtures: what PML 2.9.0 computes on seeded embeddings.

Run by hand when a fixture should change (needs bench/setup-pml):
    .venv-pml/bin/python tests/parity/generate_accuracy.py
The Rust side (tests/parity/accuracy.rs) regenerates the same embeddings from the same seeds
with libtorch's generator (identical to PyTorch's), checks them against the stored checksum,
and compares every metric to the stored value to 1e-6. Only seeds, labels and results are
stored. NaN is written as null (JSON has no NaN).
"""
import json
import math
import os

import torch
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "accuracy_fixtures")
torch.set_num_threads(1)
KNN_METRICS = ("mean_average_precision", "mean_average_precision_at_r", "mean_reciprocal_rank", "precision_at_1", "r_precision")


def embeddings(spec):
    """randn(n, d) from the seed; then rows copied (ties), then optionally rounded to a grid
    (many exact distance ties). The Rust side does the same, in the same order."""
    torch.manual_seed(spec["seed"])
    x = torch.randn(spec["n"], spec["d"])
    for dst, src in spec.get("copies", []):
        x[dst] = x[src]
    if spec.get("grid"):
        x = torch.round(x * 1.5)
    spec["checksum"] = float(x.double().sum())
    return x


def labels(n, classes, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    return torch.randint(0, classes, (n,), generator=g)


def clean(v):
    if isinstance(v, list):
        return [clean(x) for x in v]
    return None if math.isnan(v) else float(v)


def case(name, query, query_labels, reference=None, reference_labels=None, ref_includes_query=False,
         k=None, avg_of_avgs=False, return_per_class=False, normalize=False, include=KNN_METRICS):
    q = embeddings(query)
    r = None
    if reference is not None:
        r = embeddings(reference)
        if reference.get("query_first"):
            r = torch.cat([q, r])
    ql = torch.tensor(query_labels)
    rl = None if reference_labels is None else torch.tensor(reference_labels)
    if rl is not None and reference.get("query_first"):
        rl = torch.cat([ql, rl])
    if normalize:  # cosine, as PML's testers do it: normalised embeddings, then L2 k-NN
        q = torch.nn.functional.normalize(q)
        r = None if r is None else torch.nn.functional.normalize(r)
    calc = AccuracyCalculator(include=include, k=k, avg_of_avgs=avg_of_avgs, return_per_class=return_per_class,
                              device=torch.device("cpu"))
    if r is None:
        result = calc.get_accuracy(q, ql)
    else:
        result = calc.get_accuracy(q, ql, r, rl, ref_includes_query)
    fixture = {
        "name": name, "query": query, "query_labels": query_labels, "reference": reference,
        "reference_labels": reference_labels, "ref_includes_query": ref_includes_query, "k": k,
        "avg_of_avgs": avg_of_avgs, "return_per_class": return_per_class, "cosine": normalize,
        "include": list(include), "expected": {m: clean(v) for m, v in result.items()},
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(fixture, f, indent=1)
    print(name, {m: (v if isinstance(v, float) else "list") for m, v in result.items()})


def main():
    os.makedirs(OUT, exist_ok=True)
    n, d = 200, 16
    base = lambda: {"seed": 11, "n": n, "d": d}
    y = labels(n, 10, 11).tolist()
    case("self_k_none", base(), y)
    case("self_max_bin_count", base(), y, k="max_bin_count")
    case("self_k_int", base(), y, k=5)  # below the max bin count: R-based metrics are "wrong", as PML computes them
    case("self_k_int_large", base(), y, k=60)
    case("self_avg_of_avgs", base(), y, k="max_bin_count", avg_of_avgs=True)
    case("self_per_class", base(), y, k="max_bin_count", return_per_class=True)
    case("self_cosine", base(), y, k="max_bin_count", normalize=True)
    case("self_cosine_k_none", base(), y, normalize=True)

    # Ties: duplicated rows (some with another label), and a coarse grid where many distances tie exactly.
    dup = {"seed": 12, "n": 120, "d": 8, "copies": [[1, 0], [2, 0], [7, 5], [30, 5], [31, 5], [60, 61], [90, 3]]}
    y_dup = labels(120, 6, 12).tolist()
    case("ties_duplicates", dup, y_dup, k="max_bin_count")
    case("ties_duplicates_k_none", dict(dup), y_dup)
    grid = {"seed": 13, "n": 150, "d": 3, "grid": True}
    y_grid = labels(150, 5, 13).tolist()
    case("ties_grid", grid, y_grid, k="max_bin_count")
    case("ties_grid_k_int", dict(grid), y_grid, k=7)
    case("ties_grid_k_none", dict(grid), y_grid)

    # Query and reference: separate sets; and the query as the reference's first rows.
    query = {"seed": 21, "n": 60, "d": 16}
    yq = labels(60, 8, 21).tolist()
    ref = {"seed": 22, "n": 150, "d": 16}
    yr = labels(150, 8, 22).tolist()
    case("separate_k_none", query, yq, ref, yr)
    case("separate_max_bin_count", dict(query), yq, dict(ref), yr, k="max_bin_count")
    case("separate_k_int", dict(query), yq, dict(ref), yr, k=3)
    case("separate_per_class", dict(query), yq, dict(ref), yr, k="max_bin_count", return_per_class=True)
    ref_q = {"seed": 22, "n": 150, "d": 16, "query_first": True}
    case("includes_query_k_none", dict(query), yq, ref_q, yr, ref_includes_query=True)
    case("includes_query_max_bin_count", dict(query), yq, dict(ref_q), yr, ref_includes_query=True, k="max_bin_count")
    case("includes_query_avg_of_avgs", dict(query), yq, dict(ref_q), yr, ref_includes_query=True, k="max_bin_count", avg_of_avgs=True)

    # Lone queries: classes of one (self), and query labels absent from the reference.
    y_lone = labels(n, 10, 31).tolist()
    y_lone[:8] = [100, 101, 102, 103, 104, 105, 105, 106]  # seven lone, one pair
    case("lone_self", base(), y_lone, k="max_bin_count")
    case("lone_self_per_class", base(), y_lone, k="max_bin_count", return_per_class=True)
    case("lone_self_avg_of_avgs", base(), y_lone, avg_of_avgs=True)
    yq_absent = list(yq)
    yq_absent[:10] = [50 + i % 3 for i in range(10)]
    case("lone_absent_from_reference", dict(query), yq_absent, dict(ref), yr, k="max_bin_count")
    case("all_lone", {"seed": 41, "n": 20, "d": 4}, list(range(20)), k="max_bin_count")
    case("all_lone_per_class", {"seed": 41, "n": 20, "d": 4}, list(range(20)), k="max_bin_count", return_per_class=True)

    # MRR alone (PML crashes with it alone: not here, it is run with precision_at_1).
    case("mrr_with_p1", base(), y, include=("mean_reciprocal_rank", "precision_at_1"))

    # Many blocks on the Rust side.
    big = {"seed": 51, "n": 2000, "d": 32}
    y_big = labels(2000, 50, 51).tolist()
    case("large_max_bin_count", big, y_big, k="max_bin_count")
    case("large_k_none", dict(big), y_big)


if __name__ == "__main__":
    main()
