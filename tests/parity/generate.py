"""Writes the parity fixtures: what PML computes for each loss and miner on seeded inputs.

Run by hand when a fixture should change (needs bench/setup-pml):
    .venv-pml/bin/python tests/parity/generate.py
The Rust side (tests/parity/main.rs) regenerates the same embeddings from the same seeds with
libtorch's generator (identical to PyTorch's: same libtorch), checks them against the stored
checksum, and compares its outputs to the stored ones. Only labels, seeds and results are stored.
"""
import hashlib
import json
import os

import numpy as np
import torch
from pytorch_metric_learning import distances, losses, miners, reducers
from pytorch_metric_learning.utils import common_functions as c_f

c_f.COLLECT_STATS = True  # so that reducers record their statistics

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def labels_for(kind, n, classes, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    if kind == "random":
        return torch.randint(0, classes, (n,), generator=g)
    if kind == "one_class":
        return torch.zeros(n, dtype=torch.long)
    if kind == "distinct":
        return torch.arange(n)
    raise ValueError(kind)


# name, n, d, label kind, classes, duplicate rows, reference (m, classes) or None
CASES = [
    ("two_no_positive", 2, 2, "distinct", 0, False, None),
    ("two_one_class", 2, 2, "one_class", 0, False, None),
    ("small", 16, 8, "random", 4, False, None),
    ("few_classes", 128, 32, "random", 2, False, None),
    ("medium", 64, 128, "random", 8, False, None),
    ("many_classes", 256, 64, "random", 64, False, None),
    ("all_distinct", 32, 16, "distinct", 0, False, None),
    ("one_class", 32, 16, "one_class", 0, False, None),
    ("duplicates", 32, 16, "random", 4, True, None),
    ("reference", 24, 16, "random", 5, False, (40, 5)),
    ("large", 512, 512, "random", 16, False, None),
]

COS = distances.CosineSimilarity
LP = distances.LpDistance

# fixture name -> (constructor, params for the Rust side, kind)
MODULES = {
    "triplet_margin": (lambda: losses.TripletMarginLoss(margin=0.05), {}, "loss"),
    "triplet_margin_swap": (lambda: losses.TripletMarginLoss(margin=0.2, swap=True), {}, "loss"),
    "triplet_margin_smooth": (lambda: losses.TripletMarginLoss(margin=0.1, smooth_loss=True), {}, "loss"),
    "triplet_margin_cosine_sum": (lambda: losses.TripletMarginLoss(margin=0.1, distance=COS(), reducer=reducers.SumReducer()), {}, "loss"),
    "contrastive": (lambda: losses.ContrastiveLoss(), {}, "loss"),
    "contrastive_margins_mean": (lambda: losses.ContrastiveLoss(pos_margin=0.1, neg_margin=0.5, reducer=reducers.MeanReducer()), {}, "loss"),
    "contrastive_cosine": (lambda: losses.ContrastiveLoss(pos_margin=0.9, neg_margin=0.4, distance=COS()), {}, "loss"),
    "multi_similarity": (lambda: losses.MultiSimilarityLoss(), {}, "loss"),
    "multi_similarity_lp": (lambda: losses.MultiSimilarityLoss(alpha=0.1, beta=40, base=0.5, distance=LP()), {}, "loss"),
    "ntxent": (lambda: losses.NTXentLoss(temperature=0.07), {}, "loss"),
    "ntxent_warm": (lambda: losses.NTXentLoss(temperature=0.5), {}, "loss"),
    "supcon": (lambda: losses.SupConLoss(temperature=0.1), {}, "loss"),
    "circle": (lambda: losses.CircleLoss(), {}, "loss"),
    "circle_face": (lambda: losses.CircleLoss(m=0.25, gamma=256), {}, "loss"),
    "lifted_structure": (lambda: losses.LiftedStructureLoss(), {}, "loss"),
    "generalized_lifted_structure": (lambda: losses.GeneralizedLiftedStructureLoss(neg_margin=0.5), {}, "loss"),
    "arcface": (lambda c, d: losses.ArcFaceLoss(c, d), {}, "weighted_loss"),
    "arcface_small_margin": (lambda c, d: losses.ArcFaceLoss(c, d, margin=10, scale=16), {}, "weighted_loss"),
    "cosface": (lambda c, d: losses.CosFaceLoss(c, d), {}, "weighted_loss"),
    "normalized_softmax": (lambda c, d: losses.NormalizedSoftmaxLoss(c, d, temperature=0.1), {}, "weighted_loss"),
    "proxy_anchor": (lambda c, d: losses.ProxyAnchorLoss(c, d), {}, "weighted_loss"),
    "nca": (lambda: losses.NCALoss(), {}, "loss"),
    "nca_scaled": (lambda: losses.NCALoss(softmax_scale=4), {}, "loss"),
    "snr_contrastive": (lambda: losses.SignalToNoiseRatioContrastiveLoss(pos_margin=0.2, neg_margin=1.2), {}, "loss"),
    "margin": (lambda: losses.MarginLoss(), {}, "loss"),
    "margin_learned": (lambda: losses.MarginLoss(margin=0.1, nu=0.1, beta=1.0, learn_beta=True), {}, "loss"),
    "margin_per_class": (lambda c: losses.MarginLoss(margin=0.2, nu=0.05, beta=0.9, learn_beta=True, num_classes=c), {}, "class_loss"),
    "threshold_reducer": (lambda: losses.ContrastiveLoss(reducer=reducers.ThresholdReducer(low=0.1, high=0.9)), {}, "loss"),
    "fast_ap": (lambda: losses.FastAPLoss(), {}, "loss"),
    "fast_ap_bins": (lambda: losses.FastAPLoss(num_bins=30), {}, "loss"),
    "angular": (lambda: losses.AngularLoss(), {}, "loss"),
    "angular_narrow_sum": (lambda: losses.AngularLoss(alpha=20, reducer=reducers.SumReducer()), {}, "loss"),
    "n_pairs": (lambda: losses.NPairsLoss(), {}, "loss"),
    "n_pairs_lp": (lambda: losses.NPairsLoss(distance=LP()), {}, "loss"),
    "tuplet_margin": (lambda: losses.TupletMarginLoss(), {}, "loss"),
    "tuplet_margin_wide": (lambda: losses.TupletMarginLoss(margin=20, scale=16), {}, "loss"),
    "intra_pair_variance": (lambda: losses.IntraPairVarianceLoss(), {}, "loss"),
    "intra_pair_variance_lp": (lambda: losses.IntraPairVarianceLoss(pos_eps=0.05, neg_eps=0.02, distance=LP()), {}, "loss"),
    "histogram": (lambda: losses.HistogramLoss(), {}, "loss"),
    "histogram_bins": (lambda: losses.HistogramLoss(n_bins=10), {}, "loss"),
    "histogram_delta": (lambda: losses.HistogramLoss(delta=0.25), {}, "loss"),
    "batch_easy_hard_miner": (lambda: miners.BatchEasyHardMiner(), {}, "miner"),
    "batch_easy_hard_miner_hard_easy": (lambda: miners.BatchEasyHardMiner(pos_strategy="hard", neg_strategy="easy"), {}, "miner"),
    "batch_easy_hard_miner_semihard_hard": (lambda: miners.BatchEasyHardMiner(pos_strategy="semihard", neg_strategy="hard"), {}, "miner"),
    "batch_easy_hard_miner_all_hard": (lambda: miners.BatchEasyHardMiner(pos_strategy="all", neg_strategy="hard"), {}, "miner"),
    "batch_easy_hard_miner_ranges": (lambda: miners.BatchEasyHardMiner(pos_strategy="hard", neg_strategy="hard", allowed_pos_range=(0.2, 1.3), allowed_neg_range=(0.6, 1.5)), {}, "miner"),
    "angular_miner": (lambda: miners.AngularMiner(angle=20), {}, "miner"),
    "angular_miner_wide": (lambda: miners.AngularMiner(angle=40), {}, "miner"),
    "distance_weighted_miner": (lambda: miners.DistanceWeightedMiner(), {}, "random_miner"),
    "uniform_histogram_miner": (lambda: miners.UniformHistogramMiner(num_bins=20, pos_per_bin=5, neg_per_bin=7), {}, "random_miner"),
    "multi_similarity_miner": (lambda: miners.MultiSimilarityMiner(epsilon=0.1), {}, "miner"),
    "multi_similarity_miner_lp": (lambda: miners.MultiSimilarityMiner(epsilon=0.1, distance=LP()), {}, "miner"),
    "triplet_margin_miner_all": (lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="all"), {}, "miner"),
    "triplet_margin_miner_hard": (lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="hard"), {}, "miner"),
    "triplet_margin_miner_semihard": (lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard"), {}, "miner"),
    "triplet_margin_miner_easy": (lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="easy"), {}, "miner"),
    "pair_margin_miner": (lambda: miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8), {}, "miner"),
    "batch_hard_miner": (lambda: miners.BatchHardMiner(), {}, "miner"),
    "hdc_miner": (lambda: miners.HDCMiner(filter_percentage=0.5), {}, "miner"),
}

# Losses also checked on tuples a miner chose (the trainers' path).
MINED = {
    "triplet_margin_mined": ("triplet_margin", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "contrastive_mined": ("contrastive", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "ntxent_mined": ("ntxent", lambda: miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8)),
    "arcface_mined": ("arcface", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "proxy_anchor_mined": ("proxy_anchor", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "angular_mined": ("angular", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    # PairMarginMiner keeps PML's row-major pair order (its MultiSimilarityMiner orders each
    # anchor's positives by similarity, ours by index), and NPairsLoss keeps the first pair.
    "n_pairs_mined": ("n_pairs", lambda: miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8)),
    "tuplet_margin_mined": ("tuplet_margin", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "intra_pair_variance_mined": ("intra_pair_variance", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "histogram_mined": ("histogram", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
}


def weighted(make, labels, d, seed):
    """A loss with learned weights, its weights drawn from `seed + 2` (the Rust side draws the
    same), for `max(label) + 1` classes."""
    num_classes = int(labels.max()) + 1
    module = make(num_classes, d)
    parameter = module.proxies if hasattr(module, "proxies") else module.W
    torch.manual_seed(seed + 2)
    parameter.data.copy_(torch.randn(parameter.shape))
    return module


# Pair-by-pair losses build a (positive pairs x negative pairs) matrix: at 512 samples with all
# pairs that is 4e9 entries, and AngularMiner gathers (triplets x width) rows, 47 GB: out of reach
# for PML (ours stay in bounds, but there is nothing to compare with).
SKIP_LARGE = {"ntxent", "ntxent_warm", "lifted_structure", "angular_miner", "angular_miner_wide"}
# Likewise TupletMarginLoss's (positive pairs x negative pairs) matrix, AngularLoss's statistic
# (references x positive pairs x width) and HistogramLoss's comparison of every mined positive
# pair with every negative pair, on all pairs or on mined ones.
SKIP_LARGE |= {"angular", "angular_narrow_sum", "tuplet_margin", "tuplet_margin_wide"}
SKIP_LARGE_MINED = {"angular_mined", "tuplet_margin_mined", "histogram_mined"}


def inputs(case):
    name, n, d, kind, classes, duplicate, ref = case
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    emb = torch.randn(n, d)
    if duplicate:
        emb[1] = emb[0]
        emb[5] = emb[4]
    labels = labels_for(kind, n, classes, seed)
    record = {"name": name, "seed": seed, "n": n, "d": d, "duplicate": duplicate, "labels": labels.tolist(),
              "checksum": float(emb.double().sum())}
    ref_emb = ref_labels = None
    if ref is not None:
        m, ref_classes = ref
        torch.manual_seed(seed + 1)
        ref_emb = torch.randn(m, d)
        ref_labels = labels_for("random", m, ref_classes, seed + 1)
        record["reference"] = {"seed": seed + 1, "n": m, "labels": ref_labels.tolist(), "checksum": float(ref_emb.double().sum())}
    return record, emb, labels, ref_emb, ref_labels


def digest(keys):
    """Count and SHA-256 of the sorted keys as little-endian int64: an exact set check
    without storing millions of tuples."""
    keys = torch.sort(keys.to(torch.int64)).values
    return {"count": len(keys), "sha256": hashlib.sha256(keys.numpy().astype("<i8").tobytes()).hexdigest()}


# The sketch: an invertible Bloom lookup table of the keys. Subtracting our sketch from PML's
# leaves only the keys in one set and not the other, and peeling recovers them while there are
# few (up to about 20 with 3 x 10 cells): the Rust side then checks that each lies at the
# miner's boundary (a float32 tie) and that fixing them gives PML's SHA-256 exactly.
SKETCH_TABLES, SKETCH_CELLS = 3, 10
U64 = np.uint64


def key_hash(keys, salt):
    """splitmix64 of the key with the salt in its top bits (keys stay below 2**48): salts
    0..2 place a key in each table, 3 is its check value."""
    with np.errstate(over="ignore"):
        z = (keys ^ U64(salt << 48)) + U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
        return z ^ (z >> U64(31))


def sketch(keys):
    keys = keys.to(torch.int64).numpy().astype(np.uint64)
    check = key_hash(keys, SKETCH_TABLES) >> U64(32)
    size = SKETCH_TABLES * SKETCH_CELLS
    counts, xor_keys, xor_checks = [0] * size, [0] * size, [0] * size
    for table in range(SKETCH_TABLES):
        cells = key_hash(keys, table) % U64(SKETCH_CELLS)
        for cell in range(SKETCH_CELLS):
            chosen = cells == U64(cell)
            index = table * SKETCH_CELLS + cell
            counts[index] = int(chosen.sum())
            xor_keys[index] = int(np.bitwise_xor.reduce(keys[chosen], initial=U64(0)))
            xor_checks[index] = int(np.bitwise_xor.reduce(check[chosen], initial=U64(0)))
    return {"counts": counts, "keys": xor_keys, "checks": xor_checks}


def tuple_keys(output, columns):
    if len(output) == 3:
        a, p, n = output
        return {"triplets": (a * columns + p) * columns + n}
    a1, p, a2, n = output
    return {"positive": a1 * columns + p, "negative": a2 * columns + n}


def tuple_digests(output, columns):
    return {part: {**digest(keys), "sketch": sketch(keys)} for part, keys in tuple_keys(output, columns).items()}


def records(module):
    """The module's numeric hyper-parameters (its `_record_these`) and, for a loss reduced by one
    threshold reducer, how many values passed the filter."""
    found = {}
    # NormalizedSoftmaxLoss registers `embedding_size` and `num_classes` but never sets them
    # (PML records 0 for both); ours records the real values.
    unset = {"embedding_size", "num_classes"} if isinstance(module, losses.NormalizedSoftmaxLoss) else set()
    for name in set(getattr(module, "_record_these", [])) - unset:
        value = getattr(module, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[name] = float(value)
    reducer = getattr(module, "reducer", None)
    if isinstance(reducer, reducers.ThresholdReducer) and isinstance(getattr(reducer, "num_past_filter", None), (int, float)):
        found["num_past_filter"] = float(reducer.num_past_filter)
    return found


def main():
    fixtures = {}
    for name, (make, _, kind) in MODULES.items():
        cases = []
        for case in CASES:
            if name in SKIP_LARGE and case[0] == "large":
                continue
            record, emb, labels, ref_emb, ref_labels = inputs(case)
            try:
                if kind == "weighted_loss":
                    module = weighted(make, labels, case[2], record["seed"])
                elif kind == "class_loss":
                    module = make(int(labels.max()) + 1)
                else:
                    module = make()
                if kind in ("loss", "weighted_loss", "class_loss"):
                    value = float(module(emb, labels, None, ref_emb, ref_labels))
                    record["records"] = records(module)
                    if value != value:
                        # PML's mean of no values (NCALoss when no query has a same-label
                        # reference); ours is a zero with a gradient, as for other empty cases.
                        record["pml_nan"] = True
                    else:
                        record["loss"] = value
                elif kind == "random_miner":
                    # Random draws: only how many tuples is determined.
                    output = module(emb, labels, ref_emb, ref_labels)
                    record["counts"] = [len(t) for t in output]
                else:
                    columns = len(ref_labels) if ref_labels is not None else len(labels)
                    record["tuples"] = tuple_digests(module(emb, labels, ref_emb, ref_labels), columns)
                    record["records"] = records(module)
            except (IndexError, ValueError, RuntimeError) as error:
                # PML refuses reference embeddings for classification-style losses (ValueError),
                # and has a bug in TripletMarginLoss's swap with them (IndexError; fixed here).
                # HistogramLoss indexes past its histogram for a similarity of 1 (RuntimeError;
                # ours counts it in the last bin).
                record["pml_error"] = str(error)
            cases.append(record)
        fixtures[name] = cases
    for name, (loss_name, make_miner) in MINED.items():
        cases = []
        for case in CASES:
            if case[6] is not None or (name in SKIP_LARGE_MINED and case[0] == "large"):
                continue
            record, emb, labels, _, _ = inputs(case)
            tuples = make_miner()(emb, labels)
            # So that the Rust side can tell float32 ties in the mining from a real difference.
            record["mined"] = tuple_digests(tuples, len(labels))
            make, _, kind = MODULES[loss_name]
            module = weighted(make, labels, case[2], record["seed"]) if kind == "weighted_loss" else make()
            try:
                record["loss"] = float(module(emb, labels, tuples))
            except RuntimeError as error:
                # HistogramLoss on a mined pair of similarity 1 (see above).
                record["pml_error"] = str(error)
            cases.append(record)
        fixtures[name] = cases
    for name, cases in fixtures.items():
        with open(os.path.join(HERE, "fixtures", f"{name}.json"), "w") as f:
            json.dump(cases, f, separators=(",", ":"))
    print(f"wrote {len(fixtures)} fixtures")


if __name__ == "__main__":
    main()
