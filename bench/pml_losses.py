"""PML's half of bench/losses_vs_pml: the same modules, inputs and timing loop as
examples/bench_losses.rs, printing `module batch milliseconds` lines."""
import os
import time

import torch
from pytorch_metric_learning import distances, losses, miners, reducers, regularizers


def modules(classes):
    return [
        ("TripletMarginLoss", losses.TripletMarginLoss(margin=0.1)),
        ("ContrastiveLoss", losses.ContrastiveLoss()),
        ("MultiSimilarityLoss", losses.MultiSimilarityLoss()),
        ("NTXentLoss", losses.NTXentLoss(temperature=0.07)),
        ("SupConLoss", losses.SupConLoss(temperature=0.1)),
        ("CircleLoss", losses.CircleLoss()),
        ("LiftedStructureLoss", losses.LiftedStructureLoss()),
        ("GeneralizedLiftedStructureLoss", losses.GeneralizedLiftedStructureLoss()),
        ("NCALoss", losses.NCALoss()),
        ("FastAPLoss", losses.FastAPLoss()),
        ("MarginLoss", losses.MarginLoss()),
        ("SignalToNoiseRatioContrastiveLoss", losses.SignalToNoiseRatioContrastiveLoss()),
        ("ArcFaceLoss", losses.ArcFaceLoss(classes, 128)),
        ("CosFaceLoss", losses.CosFaceLoss(classes, 128)),
        ("NormalizedSoftmaxLoss", losses.NormalizedSoftmaxLoss(classes, 128)),
        ("ProxyAnchorLoss", losses.ProxyAnchorLoss(classes, 128)),
        ("AngularLoss", losses.AngularLoss()),
        ("NPairsLoss", losses.NPairsLoss()),
        ("TupletMarginLoss", losses.TupletMarginLoss()),
        ("IntraPairVarianceLoss", losses.IntraPairVarianceLoss()),
        ("HistogramLoss", losses.HistogramLoss()),
        ("InstanceLoss", losses.InstanceLoss()),
        ("ThresholdConsistentMarginLoss", losses.ThresholdConsistentMarginLoss()),
        ("RankedListLoss", losses.RankedListLoss(margin=0.4, Tn=1.0)),
        ("ProxyNCALoss", losses.ProxyNCALoss(classes, 128)),
        ("SoftTripleLoss", losses.SoftTripleLoss(classes, 128)),
        ("LargeMarginSoftmaxLoss", losses.LargeMarginSoftmaxLoss(classes, 128)),
        ("SphereFaceLoss", losses.SphereFaceLoss(classes, 128)),
        ("SubCenterArcFaceLoss", losses.SubCenterArcFaceLoss(num_classes=classes, embedding_size=128)),
        ("ContrastiveLoss+LpRegularizer", losses.ContrastiveLoss(embedding_regularizer=regularizers.LpRegularizer(), embedding_reg_weight=0.5)),
        ("ArcFaceLoss+RegularFaceRegularizer", losses.ArcFaceLoss(classes, 128, weight_regularizer=regularizers.RegularFaceRegularizer(), weight_reg_weight=0.5)),
        ("ContrastiveLoss+PerAnchorReducer", losses.ContrastiveLoss(reducer=reducers.PerAnchorReducer())),
        ("MultipleLosses", losses.MultipleLosses([losses.TripletMarginLoss(margin=0.1), losses.ContrastiveLoss()], weights=[1.0, 0.5])),
        ("CrossBatchMemory", losses.CrossBatchMemory(losses.ContrastiveLoss(), 128, memory_size=1024)),
        ("P2SGradLoss", losses.P2SGradLoss(128, classes)),
        ("SmoothAPLoss", losses.SmoothAPLoss()),
        ("PNPLoss", losses.PNPLoss()),
        ("ManifoldLoss", losses.ManifoldLoss(l=128)),
        ("VICRegLoss", losses.VICRegLoss()),
        ("DynamicSoftMarginLoss", losses.DynamicSoftMarginLoss()),
        ("MultiSimilarityMiner", miners.MultiSimilarityMiner(epsilon=0.1)),
        ("TripletMarginMiner", miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard")),
        ("PairMarginMiner", miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8)),
        ("BatchHardMiner", miners.BatchHardMiner()),
        ("HDCMiner", miners.HDCMiner(filter_percentage=0.5)),
        ("BatchEasyHardMiner", miners.BatchEasyHardMiner()),
        ("AngularMiner", miners.AngularMiner(angle=20)),
        ("DistanceWeightedMiner", miners.DistanceWeightedMiner()),
        ("UniformHistogramMiner", miners.UniformHistogramMiner()),
        ("TripletMarginLoss+MultiSimilarityMiner", losses.TripletMarginLoss(margin=0.1, distance=distances.CosineSimilarity())),
    ]


# PML's pair-by-pair losses build a (positive pairs x negative pairs) matrix: at 1024 samples
# about 7e9 entries, more memory than these machines have. Ours do not (see the README).
def skipped(name, batch):
    # AngularMiner gathers (triplets x width) rows: 3.7 GB per gather at 1024; AngularLoss and
    # TupletMarginLoss build PML's (positive pairs x negative pairs) matrix too. HistogramLoss
    # lists every triplet: about 50 s and 3 GB per call at 1024, five calls per timing. PNPLoss
    # and SmoothAPLoss build (batch x batch x batch) cubes: 4 GB each at 1024, with gradients.
    return batch > 256 and name in (
        "NTXentLoss", "LiftedStructureLoss", "AngularMiner", "AngularLoss", "TupletMarginLoss", "HistogramLoss", "PNPLoss", "SmoothAPLoss",
    )


def time_ms(run):
    """Milliseconds per call: the fastest of ten windows of at least 0.05 s (and 3 calls) each,
    after 2 calls of warm-up, as our half measures; a call slower than a second gets one window."""
    run()
    started = time.perf_counter()
    run()
    windows = 1 if time.perf_counter() - started > 1.0 else 10
    fastest = float("inf")
    for _ in range(windows):
        started = time.perf_counter()
        calls = 0
        while calls < 3 or time.perf_counter() - started < 0.05:
            run()
            calls += 1
        fastest = min(fastest, (time.perf_counter() - started) * 1000 / calls)
    return fastest


def main():
    # BENCH_MODULES=A,B: only the modules named, as our half reads it.
    only = [m for m in os.environ.get("BENCH_MODULES", "").split(",") if m]
    for batch in (64, 256, 1024):
        torch.manual_seed(batch)
        embeddings = torch.randn(batch, 128).requires_grad_(True)
        labels = torch.div(torch.arange(batch), 8, rounding_mode="floor")
        pair_miner = miners.MultiSimilarityMiner(epsilon=0.1)
        half = batch // 2
        for name, module in modules(batch // 8):
            if skipped(name, batch) or (only and name not in only):
                continue
            if "+" in name:
                ms = time_ms(lambda: module(embeddings, labels, pair_miner(embeddings, labels)).backward())
            elif isinstance(module, losses.DynamicSoftMarginLoss):
                # PML keeps the previous call's graph in its histogram and fails in the next
                # backward pass; detached between calls, as ours keeps it.
                def run(module=module):
                    module.hist_ = module.hist_.detach()
                    module(embeddings, labels).backward()

                ms = time_ms(run)
            elif isinstance(module, losses.VICRegLoss):
                ms = time_ms(lambda: module(embeddings[:half], ref_emb=embeddings[half:]).backward())
            elif isinstance(module, losses.ManifoldLoss):
                ms = time_ms(lambda: module(embeddings).backward())
            elif isinstance(module, miners.BaseMiner):
                ms = time_ms(lambda: module(embeddings, labels))
            else:
                ms = time_ms(lambda: module(embeddings, labels).backward())
            print(f"{name} {batch} {ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
