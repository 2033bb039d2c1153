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
from pytorch_metric_learning import distances, losses, miners, reducers, regularizers
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
    if kind == "blocks":
        # Sorted by label, as many samples per label.
        return torch.arange(n) // (n // classes)
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

# SmoothAPLoss takes its positives from the batch's layout, blocks of as many rows as there are
# labels: they are the labels' samples only when the batch is sorted by label and has as many
# samples per label as labels (ours takes them from the labels). Its fixtures drop the cases of
# equal-size labels where the blocks are not the labels (PML raises on the others: unequal
# labels, reference embeddings) and add two where they are.
SMOOTH_AP_CASES = [c for c in CASES if c[0] not in {"two_no_positive", "two_one_class", "all_distinct", "one_class"}] + [
    ("square_labels", 16, 8, "blocks", 4, False, None),
    ("square_labels_wide", 64, 32, "blocks", 8, False, None),
]
# Fixtures whose cases are not CASES.
FIXTURE_CASES = {name: SMOOTH_AP_CASES for name in ("smooth_ap", "smooth_ap_warm", "smooth_ap_mined")}

COS = distances.CosineSimilarity
LP = distances.LpDistance


def class_weights(classes):
    """The class weights of the `ClassWeightedReducer` fixtures: (k + 1) / classes for class k."""
    return torch.arange(1, classes + 1, dtype=torch.float32) / classes


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
    "proxy_nca": (lambda c, d: losses.ProxyNCALoss(c, d), {}, "weighted_loss"),
    "proxy_nca_scaled": (lambda c, d: losses.ProxyNCALoss(c, d, softmax_scale=10), {}, "weighted_loss"),
    "soft_triple": (lambda c, d: losses.SoftTripleLoss(c, d), {}, "weighted_loss"),
    "soft_triple_custom": (lambda c, d: losses.SoftTripleLoss(c, d, centers_per_class=3, la=8, gamma=0.05, margin=0.2), {}, "weighted_loss"),
    "large_margin_softmax": (lambda c, d: losses.LargeMarginSoftmaxLoss(c, d), {}, "weighted_loss"),
    "large_margin_softmax_m3": (lambda c, d: losses.LargeMarginSoftmaxLoss(c, d, margin=3, scale=2), {}, "weighted_loss"),
    "sphereface": (lambda c, d: losses.SphereFaceLoss(c, d), {}, "weighted_loss"),
    "sphereface_m2": (lambda c, d: losses.SphereFaceLoss(c, d, margin=2, scale=0.5), {}, "weighted_loss"),
    "subcenter_arcface": (lambda c, d: losses.SubCenterArcFaceLoss(num_classes=c, embedding_size=d), {}, "weighted_loss"),
    "subcenter_arcface_small_margin": (lambda c, d: losses.SubCenterArcFaceLoss(num_classes=c, embedding_size=d, margin=10, scale=16, sub_centers=2), {}, "weighted_loss"),
    "nca": (lambda: losses.NCALoss(), {}, "loss"),
    "nca_scaled": (lambda: losses.NCALoss(softmax_scale=4), {}, "loss"),
    "snr_contrastive": (lambda: losses.SignalToNoiseRatioContrastiveLoss(pos_margin=0.2, neg_margin=1.2), {}, "loss"),
    "margin": (lambda: losses.MarginLoss(), {}, "loss"),
    "margin_learned": (lambda: losses.MarginLoss(margin=0.1, nu=0.1, beta=1.0, learn_beta=True), {}, "loss"),
    "margin_per_class": (lambda c: losses.MarginLoss(margin=0.2, nu=0.05, beta=0.9, learn_beta=True, num_classes=c), {}, "class_loss"),
    "threshold_reducer": (lambda: losses.ContrastiveLoss(reducer=reducers.ThresholdReducer(low=0.1, high=0.9)), {}, "loss"),
    "fast_ap": (lambda: losses.FastAPLoss(), {}, "loss"),
    "fast_ap_bins": (lambda: losses.FastAPLoss(num_bins=30), {}, "loss"),
    "instance": (lambda: losses.InstanceLoss(), {}, "loss"),
    "instance_cool": (lambda: losses.InstanceLoss(gamma=8), {}, "loss"),
    "threshold_consistent_margin": (lambda: losses.ThresholdConsistentMarginLoss(), {}, "loss"),
    "threshold_consistent_margin_tight": (lambda: losses.ThresholdConsistentMarginLoss(lambda_plus=0.5, lambda_minus=2.0, margin_plus=0.3, margin_minus=0.1), {}, "loss"),
    "ranked_list": (lambda: losses.RankedListLoss(margin=0.4, Tn=1.0), {}, "loss"),
    "ranked_list_weighted": (lambda: losses.RankedListLoss(margin=1.2, Tn=3.0, imbalance=0.3, alpha=1.1, Tp=2.0), {}, "loss"),
    "contrastive_lp_regularizer": (lambda: losses.ContrastiveLoss(embedding_regularizer=regularizers.LpRegularizer(), embedding_reg_weight=0.5), {}, "loss"),
    "triplet_margin_zero_mean_regularizer": (lambda: losses.TripletMarginLoss(margin=0.05, embedding_regularizer=regularizers.ZeroMeanRegularizer(), embedding_reg_weight=0.1), {}, "loss"),
    "multi_similarity_lp_regularizer_squared": (lambda: losses.MultiSimilarityLoss(embedding_regularizer=regularizers.LpRegularizer(p=1, power=2), embedding_reg_weight=0.01), {}, "loss"),
    "arcface_regular_face": (lambda c, d: losses.ArcFaceLoss(c, d, weight_regularizer=regularizers.RegularFaceRegularizer(), weight_reg_weight=0.3), {}, "weighted_loss"),
    "cosface_center_invariant": (lambda c, d: losses.CosFaceLoss(c, d, weight_regularizer=regularizers.CenterInvariantRegularizer(), weight_reg_weight=0.2), {}, "weighted_loss"),
    "normalized_softmax_lp_weights": (lambda c, d: losses.NormalizedSoftmaxLoss(c, d, weight_regularizer=regularizers.LpRegularizer(), weight_reg_weight=0.1), {}, "weighted_loss"),
    "proxy_anchor_regularized": (lambda c, d: losses.ProxyAnchorLoss(c, d, weight_regularizer=regularizers.RegularFaceRegularizer(), weight_reg_weight=0.5, embedding_regularizer=regularizers.LpRegularizer(), embedding_reg_weight=0.05), {}, "weighted_loss"),
    "soft_triple_sparse_centers": (lambda c, d: losses.SoftTripleLoss(c, d, centers_per_class=4, weight_regularizer=regularizers.SparseCentersRegularizer(c, 4), weight_reg_weight=0.2), {}, "weighted_loss"),
    "lp_regularizer": (lambda n: regularizers.LpRegularizer(p=3, power=1.5), {}, "regularizer"),
    "zero_mean_regularizer": (lambda n: regularizers.ZeroMeanRegularizer(), {}, "regularizer"),
    "center_invariant_regularizer": (lambda n: regularizers.CenterInvariantRegularizer(), {}, "regularizer"),
    "regular_face_regularizer": (lambda n: regularizers.RegularFaceRegularizer(), {}, "regularizer"),
    "sparse_centers_regularizer": (lambda n: regularizers.SparseCentersRegularizer(num_classes=n // 2, centers_per_class=2), {}, "regularizer"),
    "contrastive_per_anchor": (lambda: losses.ContrastiveLoss(reducer=reducers.PerAnchorReducer()), {}, "loss"),
    "contrastive_per_anchor_non_zero": (lambda: losses.ContrastiveLoss(reducer=reducers.PerAnchorReducer(reducers.AvgNonZeroReducer())), {}, "loss"),
    "ntxent_per_anchor": (lambda: losses.NTXentLoss(temperature=0.1, reducer=reducers.PerAnchorReducer()), {}, "loss"),
    "triplet_margin_class_weighted": (lambda c: losses.TripletMarginLoss(margin=0.1, reducer=reducers.ClassWeightedReducer(class_weights(c))), {}, "class_loss"),
    "contrastive_class_weighted": (lambda c: losses.ContrastiveLoss(reducer=reducers.ClassWeightedReducer(class_weights(c))), {}, "class_loss"),
    "nca_class_weighted": (lambda c: losses.NCALoss(reducer=reducers.ClassWeightedReducer(class_weights(c))), {}, "class_loss"),
    "margin_per_class_weighted": (lambda c: losses.MarginLoss(margin=0.2, nu=0.05, beta=0.9, learn_beta=True, num_classes=c, reducer=reducers.ClassWeightedReducer(class_weights(c))), {}, "class_loss"),
    "contrastive_multiple_reducers": (lambda: losses.ContrastiveLoss(reducer=reducers.MultipleReducers({"pos_loss": reducers.MeanReducer()}, default_reducer=reducers.ThresholdReducer(low=0.1))), {}, "loss"),
    "margin_multiple_reducers": (lambda: losses.MarginLoss(margin=0.1, nu=0.1, beta=1.0, learn_beta=True, reducer=reducers.MultipleReducers({"margin_loss": reducers.MeanReducer()})), {}, "loss"),
    "margin_divisor": (lambda: losses.MarginLoss(reducer=reducers.DivisorReducer()), {}, "loss"),
    "margin_mean": (lambda: losses.MarginLoss(reducer=reducers.MeanReducer()), {}, "loss"),
    "proxy_anchor_divisor": (lambda c, d: losses.ProxyAnchorLoss(c, d, reducer=reducers.DivisorReducer()), {}, "weighted_loss"),
    "proxy_anchor_mean": (lambda c, d: losses.ProxyAnchorLoss(c, d, reducer=reducers.MeanReducer()), {}, "weighted_loss"),
    "multiple_losses": (lambda: losses.MultipleLosses([losses.TripletMarginLoss(margin=0.1), losses.ContrastiveLoss()], weights=[1.0, 0.5]), {}, "loss"),
    "multiple_losses_mined": (
        lambda: losses.MultipleLosses([losses.TripletMarginLoss(margin=0.1), losses.MultiSimilarityLoss()], miners=[miners.MultiSimilarityMiner(epsilon=0.1), None], weights=[0.7, 1.3]),
        {},
        "loss",
    ),
    "self_supervised_triplet": (lambda: losses.SelfSupervisedLoss(losses.TripletMarginLoss(margin=0.1)), {}, "self_supervised"),
    "self_supervised_contrastive": (lambda: losses.SelfSupervisedLoss(losses.ContrastiveLoss(), symmetric=False), {}, "self_supervised"),
    "self_supervised_ntxent": (lambda: losses.SelfSupervisedLoss(losses.NTXentLoss(temperature=0.1)), {}, "self_supervised"),
    # (slice size, width): three calls on consecutive slices, the memory two slices' worth (two
    # enqueued halves for the masked one, so that the third call wraps around).
    "cross_batch_memory": (lambda size, d: losses.CrossBatchMemory(losses.ContrastiveLoss(), d, memory_size=2 * size), {}, "cross_batch_memory"),
    "cross_batch_memory_triplet": (lambda size, d: losses.CrossBatchMemory(losses.TripletMarginLoss(margin=0.1), d, memory_size=2 * size), {}, "cross_batch_memory"),
    "cross_batch_memory_miner": (
        lambda size, d: losses.CrossBatchMemory(losses.ContrastiveLoss(), d, memory_size=2 * size, miner=miners.MultiSimilarityMiner(epsilon=0.1)),
        {},
        "cross_batch_memory",
    ),
    "cross_batch_memory_mask": (lambda size, d: losses.CrossBatchMemory(losses.ContrastiveLoss(), d, memory_size=size), {}, "cross_batch_memory"),
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
    "smooth_ap": (lambda: losses.SmoothAPLoss(), {}, "loss"),
    "smooth_ap_warm": (lambda: losses.SmoothAPLoss(temperature=0.5), {}, "loss"),
    "pnp": (lambda: losses.PNPLoss(), {}, "loss"),
    "pnp_ds": (lambda: losses.PNPLoss(variant="Ds"), {}, "loss"),
    "pnp_dq": (lambda: losses.PNPLoss(alpha=4, anneal=0.05, variant="Dq"), {}, "loss"),
    "pnp_iu": (lambda: losses.PNPLoss(variant="Iu"), {}, "loss"),
    "pnp_ib": (lambda: losses.PNPLoss(b=3, anneal=0.1, variant="Ib"), {}, "loss"),
    "dynamic_soft_margin": (lambda: losses.DynamicSoftMarginLoss(), {}, "loss"),
    "dynamic_soft_margin_narrow": (lambda: losses.DynamicSoftMarginLoss(min_val=-1.0, num_bins=20), {}, "loss"),
    "dynamic_soft_margin_wide": (lambda: losses.DynamicSoftMarginLoss(min_val=-3.0, num_bins=30, momentum=0.1), {}, "loss"),
    # Two calls on the batch's halves, the second's gradient compared: the histogram is kept
    # detached between them (PML keeps the first call's graph in it and fails in the second
    # backward pass; ours keeps it detached).
    "dynamic_soft_margin_two_calls": (lambda: losses.DynamicSoftMarginLoss(momentum=0.3), {}, "two_calls"),
    # Two views: the batch's first half against its second, row i of each a pair.
    "vicreg": (lambda: losses.VICRegLoss(), {}, "two_views"),
    "vicreg_weighted_terms": (lambda: losses.VICRegLoss(invariance_lambda=5, variance_mu=10, covariance_v=2, eps=1e-3), {}, "two_views"),
    "p2s_grad": (lambda c, d: losses.P2SGradLoss(d, c), {}, "weighted_loss"),
    # Unlabelled, with learned proxies (K = max(label) + 1 of them, from seed + 2), and the
    # meta-classes drawn from the generator right after them, on both sides.
    "manifold": (lambda c, d: losses.ManifoldLoss(l=d, K=c), {}, "unlabelled_weighted"),
    "manifold_tuned": (lambda c, d: losses.ManifoldLoss(l=d, K=c, lambdaC=0.5, alpha=0.6, margin=0.01), {}, "unlabelled_weighted"),
    "manifold_intrinsic": (lambda c, d: losses.ManifoldLoss(l=d, K=c, lambdaC=0.0), {}, "unlabelled_weighted"),
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
    "threshold_consistent_margin_mined": ("threshold_consistent_margin", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "proxy_nca_mined": ("proxy_nca", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "soft_triple_mined": ("soft_triple", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "large_margin_softmax_mined": ("large_margin_softmax", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "subcenter_arcface_mined": ("subcenter_arcface", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "angular_mined": ("angular", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    # PairMarginMiner keeps PML's row-major pair order (its MultiSimilarityMiner orders each
    # anchor's positives by similarity, ours by index), and NPairsLoss keeps the first pair.
    "n_pairs_mined": ("n_pairs", lambda: miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8)),
    "tuplet_margin_mined": ("tuplet_margin", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "intra_pair_variance_mined": ("intra_pair_variance", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "histogram_mined": ("histogram", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "smooth_ap_mined": ("smooth_ap", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
    "dynamic_soft_margin_mined": ("dynamic_soft_margin", lambda: miners.MultiSimilarityMiner(epsilon=0.1)),
}


def weighted(make, labels, d, seed):
    """A loss with learned weights, its weights drawn from `seed + 2` (the Rust side draws the
    same, of the same shape), for `max(label) + 1` classes. The parameter is PML's `proxies`
    (proxy losses), `fc` (SoftTripleLoss), `weight` (P2SGradLoss) or `W` (the others)."""
    num_classes = int(labels.max()) + 1
    module = make(num_classes, d)
    parameter = next(getattr(module, name) for name in ("proxies", "fc", "W", "weight") if hasattr(module, name))
    torch.manual_seed(seed + 2)
    parameter.data.copy_(torch.randn(parameter.shape))
    return module


# Pair-by-pair losses build a (positive pairs x negative pairs) matrix: at 512 samples with all
# pairs that is 4e9 entries, and AngularMiner gathers (triplets x width) rows, 47 GB: out of reach
# for PML (ours stay in bounds, but there is nothing to compare with).
SKIP_LARGE = {"ntxent", "ntxent_warm", "ntxent_per_anchor", "self_supervised_ntxent", "lifted_structure", "angular_miner", "angular_miner_wide"}
# Likewise TupletMarginLoss's (positive pairs x negative pairs) matrix, AngularLoss's statistic
# (references x positive pairs x width) and HistogramLoss's comparison of every mined positive
# pair with every negative pair, on all pairs or on mined ones.
SKIP_LARGE |= {"angular", "angular_narrow_sum", "tuplet_margin", "tuplet_margin_wide"}
# PNPLoss's (batch)³ cube of sigmoids, several times over: gigabytes at 512 samples.
SKIP_LARGE |= {"pnp", "pnp_ds", "pnp_dq", "pnp_iu", "pnp_ib"}
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


# The gradient of a loss is checked through PROJECTIONS seeded random projections (a full
# gradient of every case would make the fixtures megabytes): each is sum(grad * R_k), stored
# with sum(|grad * R_k|), the scale its rounding error is relative to, and the gradient's norm.
PROJECTIONS = 4


def fingerprint(grad, seed):
    if grad is None:
        return None
    torch.manual_seed(seed)
    projections = torch.randn((PROJECTIONS,) + tuple(grad.shape)).double()
    products = grad.double().unsqueeze(0) * projections
    return {"seed": seed, "norm": float(grad.double().norm()),
            "projections": products.flatten(1).sum(1).tolist(), "scales": products.abs().flatten(1).sum(1).tolist()}


def gradients(record, emb, ref_emb, module):
    """Fingerprints of the loss's gradient with respect to the embeddings, the reference
    embeddings and the learned weights (the one parameter that requires a gradient), after
    `backward()`; seeds derive from the case's."""
    seed = record["seed"]
    found = {"embeddings": fingerprint(emb.grad, seed + 11)}
    if ref_emb is not None:
        found["reference"] = fingerprint(ref_emb.grad, seed + 12)
    learned = [p for p in module.parameters() if p.requires_grad]
    if len(learned) == 1:
        found["weights"] = fingerprint(learned[0].grad, seed + 13)
    return {k: v for k, v in found.items() if v is not None}


def tuple_digests(output, columns):
    return {part: {**digest(keys), "sketch": sketch(keys)} for part, keys in tuple_keys(output, columns).items()}


def records(module):
    """The module's numeric hyper-parameters (its `_record_these`) and, for a loss reduced by one
    threshold reducer, how many values passed the filter."""
    found = {}
    # Some modules register names they never set (PML records 0 for them): NormalizedSoftmaxLoss
    # `embedding_size` and `num_classes`, ProxyNCALoss `num_classes`, SoftTripleLoss
    # `embedding_size`, SparseCentersRegularizer `num_classes` and `centers_per_class`. Ours
    # record the real values.
    unset = set()
    for cls, names in ((losses.NormalizedSoftmaxLoss, {"embedding_size", "num_classes"}), (losses.ProxyNCALoss, {"num_classes"}),
                       (losses.SoftTripleLoss, {"embedding_size"}), (regularizers.SparseCentersRegularizer, {"num_classes", "centers_per_class"})):
        if isinstance(module, cls):
            unset = names
    for name in sorted(set(getattr(module, "_record_these", [])) - unset):
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
        for case in FIXTURE_CASES.get(name, CASES):
            if name in SKIP_LARGE and case[0] == "large":
                continue
            if kind == "cross_batch_memory" and case[1] // 3 < 2:
                continue
            if kind == "two_calls" and (case[1] < 4 or case[6] is not None):
                continue
            record, emb, labels, ref_emb, ref_labels = inputs(case)
            try:
                if kind == "cross_batch_memory":
                    module = make(case[1] // 3, case[2])
                elif kind in ("weighted_loss", "unlabelled_weighted"):
                    module = weighted(make, labels, case[2], record["seed"])
                elif kind == "regularizer":
                    # On the case's embeddings as rows (class weights or embeddings alike).
                    if case[1] % 2 or case[1] < 4:
                        continue
                    module = make(case[1])
                    emb.requires_grad_()
                    value = module(emb)
                    record["loss"] = float(value.detach())
                    record["records"] = records(module)
                    value.backward()
                    record["gradients"] = {"embeddings": fingerprint(emb.grad, record["seed"] + 11)}
                    cases.append(record)
                    continue
                elif kind == "class_loss":
                    module = make(int(labels.max()) + 1)
                else:
                    module = make()
                if isinstance(module, losses.MultipleLosses) and ref_emb is not None:
                    raise ValueError("MultipleLosses takes no reference embeddings")
                if isinstance(module, losses.MultipleLosses):
                    record["loss"] = float(module(emb, labels))
                elif kind == "self_supervised":
                    # The batch's first half against its second, row i of each a positive pair.
                    half = case[1] // 2
                    record["split"] = half
                    record["loss"] = float(module(emb[:half], emb[half : 2 * half]))
                    record["records"] = records(module.loss)
                elif kind == "two_calls":
                    # The first half, then the second with the histogram detached in between.
                    half = case[1] // 2
                    record["split"] = half
                    emb.requires_grad_()
                    first = float(module(emb[:half], labels[:half]).detach())
                    module.hist_ = module.hist_.detach()
                    second = module(emb[half : 2 * half], labels[half : 2 * half])
                    record["losses"] = [first, float(second.detach())]
                    record["records"] = records(module)
                    if second.requires_grad:
                        second.backward()
                        record["gradients"] = gradients(record, emb, None, module)
                elif kind == "two_views":
                    # As self_supervised, with the gradient with respect to the whole batch
                    # (both views are slices of it). One row per view has no variance: NaN.
                    half = case[1] // 2
                    record["split"] = half
                    emb.requires_grad_()
                    loss = module(emb[:half], ref_emb=emb[half : 2 * half])
                    value = float(loss.detach())
                    record["records"] = records(module)
                    if value != value:
                        record["pml_nan"] = True
                    else:
                        record["loss"] = value
                        loss.backward()
                        record["gradients"] = {"embeddings": fingerprint(emb.grad, record["seed"] + 11)}
                elif kind == "cross_batch_memory":
                    # Three calls on consecutive slices; the masked one enqueues the even rows of
                    # each slice and queries with the odd ones.
                    size = case[1] // 3
                    record["slice"] = size
                    values = []
                    for call in range(3):
                        rows = slice(call * size, (call + 1) * size)
                        if name.endswith("_mask"):
                            mask = torch.arange(size) % 2 == 0
                            values.append(float(module(emb[rows], labels[rows], enqueue_mask=mask)))
                        else:
                            values.append(float(module(emb[rows], labels[rows])))
                    record["losses"] = values
                    record["records"] = records(module)
                elif kind in ("loss", "weighted_loss", "class_loss", "unlabelled_weighted"):
                    emb.requires_grad_()
                    if ref_emb is not None:
                        ref_emb.requires_grad_()
                    if kind == "unlabelled_weighted":
                        # PML refuses labels; the Rust side passes them and they are ignored.
                        loss = module(emb, None, None, ref_emb, None)
                    else:
                        loss = module(emb, labels, None, ref_emb, ref_labels)
                    value = float(loss.detach())
                    record["records"] = records(module)
                    if loss.requires_grad and value == value:
                        loss.backward()
                        record["gradients"] = gradients(record, emb, ref_emb, module)
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
                # ours counts it in the last bin), and DynamicSoftMarginLoss for a value past its
                # nodes. SmoothAPLoss refuses labels of unequal sizes (ValueError; so do we).
                record["pml_error"] = str(error)
            cases.append(record)
        fixtures[name] = cases
    for name, (loss_name, make_miner) in MINED.items():
        cases = []
        for case in FIXTURE_CASES.get(name, CASES):
            if case[6] is not None or (name in SKIP_LARGE_MINED and case[0] == "large"):
                continue
            record, emb, labels, _, _ = inputs(case)
            tuples = make_miner()(emb, labels)
            # So that the Rust side can tell float32 ties in the mining from a real difference.
            record["mined"] = tuple_digests(tuples, len(labels))
            make, _, kind = MODULES[loss_name]
            module = weighted(make, labels, case[2], record["seed"]) if kind == "weighted_loss" else make()
            emb.requires_grad_()
            try:
                loss = module(emb, labels, tuples)
            except (ValueError, RuntimeError) as error:
                # HistogramLoss on a mined pair of similarity 1 (see above); SmoothAPLoss on
                # labels of unequal sizes; DynamicSoftMarginLoss on a value past its histogram.
                record["pml_error"] = str(error)
                cases.append(record)
                continue
            record["loss"] = float(loss.detach())
            if loss.requires_grad:
                loss.backward()
                record["gradients"] = gradients(record, emb, None, module)
            cases.append(record)
        fixtures[name] = cases
    for name, cases in fixtures.items():
        with open(os.path.join(HERE, "fixtures", f"{name}.json"), "w") as f:
            json.dump(cases, f, separators=(",", ":"))
    print(f"wrote {len(fixtures)} fixtures")


if __name__ == "__main__":
    main()
