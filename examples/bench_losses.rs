//! Our half of `bench/losses_vs_pml`: times each loss (forward and backward) and each miner
//! (forward) on seeded embeddings of width 128, batches of 64, 256 and 1024 with 8 samples per
//! class, and prints `module batch milliseconds` lines. Run through the script, which runs PML's
//! half on the same inputs right after and prints the ratio. `BENCH_MODULES=A,B` times only
//! the modules named; `--list` prints every module's name.

use metric_learning::distances::CosineSimilarity;
use metric_learning::losses::*;
use metric_learning::miners::*;
use metric_learning::reducers::PerAnchorReducer;
use metric_learning::regularizers::{LpRegularizer, RegularFaceRegularizer, WithRegularizers};
use metric_learning::tch::{self, Device, Kind, Tensor};
use std::time::Instant;

enum Module {
    Loss(Box<dyn MetricLoss>),
    /// Takes the batch's first half as embeddings and its second as their other views.
    TwoViews(VICRegLoss),
    Miner(Box<dyn TupleMiner>),
}

fn modules(classes: i64) -> Vec<(&'static str, Module)> {
    use Module::{Loss, Miner, TwoViews};
    let cpu = Device::Cpu;
    vec![
        ("TripletMarginLoss", Loss(Box::new(TripletMarginLoss::new().margin(0.1)))),
        ("ContrastiveLoss", Loss(Box::new(ContrastiveLoss::new()))),
        ("MultiSimilarityLoss", Loss(Box::new(MultiSimilarityLoss::new()))),
        ("NTXentLoss", Loss(Box::new(NTXentLoss::new(0.07)))),
        ("SupConLoss", Loss(Box::new(SupConLoss::new(0.1)))),
        ("CircleLoss", Loss(Box::new(CircleLoss::new()))),
        ("LiftedStructureLoss", Loss(Box::new(LiftedStructureLoss::new()))),
        ("GeneralizedLiftedStructureLoss", Loss(Box::new(GeneralizedLiftedStructureLoss::new()))),
        ("NCALoss", Loss(Box::new(NCALoss::new()))),
        ("FastAPLoss", Loss(Box::new(FastAPLoss::new(10)))),
        ("MarginLoss", Loss(Box::new(MarginLoss::new()))),
        ("SignalToNoiseRatioContrastiveLoss", Loss(Box::new(SignalToNoiseRatioContrastiveLoss::new()))),
        ("ArcFaceLoss", Loss(Box::new(ArcFaceLoss::new(classes, 128).device(cpu)))),
        ("CosFaceLoss", Loss(Box::new(CosFaceLoss::new(classes, 128).device(cpu)))),
        ("NormalizedSoftmaxLoss", Loss(Box::new(NormalizedSoftmaxLoss::new(classes, 128).device(cpu)))),
        ("ProxyAnchorLoss", Loss(Box::new(ProxyAnchorLoss::new(classes, 128).device(cpu)))),
        ("AngularLoss", Loss(Box::new(AngularLoss::new()))),
        ("NPairsLoss", Loss(Box::new(NPairsLoss::new()))),
        ("TupletMarginLoss", Loss(Box::new(TupletMarginLoss::new()))),
        ("IntraPairVarianceLoss", Loss(Box::new(IntraPairVarianceLoss::new()))),
        ("HistogramLoss", Loss(Box::new(HistogramLoss::new()))),
        ("InstanceLoss", Loss(Box::new(InstanceLoss::new()))),
        ("ThresholdConsistentMarginLoss", Loss(Box::new(ThresholdConsistentMarginLoss::new()))),
        ("RankedListLoss", Loss(Box::new(RankedListLoss::new(0.4, 1.0)))),
        ("ProxyNCALoss", Loss(Box::new(ProxyNCALoss::new(classes, 128).device(cpu)))),
        ("SoftTripleLoss", Loss(Box::new(SoftTripleLoss::new(classes, 128).device(cpu)))),
        ("LargeMarginSoftmaxLoss", Loss(Box::new(LargeMarginSoftmaxLoss::new(classes, 128).device(cpu)))),
        ("SphereFaceLoss", Loss(Box::new(SphereFaceLoss::new(classes, 128).device(cpu)))),
        ("SubCenterArcFaceLoss", Loss(Box::new(SubCenterArcFaceLoss::new(classes, 128).device(cpu)))),
        ("ContrastiveLoss+LpRegularizer", Loss(Box::new(ContrastiveLoss::new().embedding_regularizer(LpRegularizer::new(), 0.5)))),
        ("ArcFaceLoss+RegularFaceRegularizer", Loss(Box::new(ArcFaceLoss::new(classes, 128).device(cpu).weight_regularizer(RegularFaceRegularizer::new(), 0.5)))),
        ("ContrastiveLoss+PerAnchorReducer", Loss(Box::new(ContrastiveLoss::new().reducer(PerAnchorReducer::new())))),
        ("MultipleLosses", Loss(Box::new(MultipleLosses::new().loss("triplet", 1.0, TripletMarginLoss::new().margin(0.1)).loss("contrastive", 0.5, ContrastiveLoss::new())))),
        ("CrossBatchMemory", Loss(Box::new(CrossBatchMemory::new(ContrastiveLoss::new(), 128).expect("a memory loss").memory_size(1024)))),
        ("P2SGradLoss", Loss(Box::new(P2SGradLoss::new(128, classes).device(cpu)))),
        ("SmoothAPLoss", Loss(Box::new(SmoothAPLoss::new()))),
        ("PNPLoss", Loss(Box::new(PNPLoss::new()))),
        ("DynamicSoftMarginLoss", Loss(Box::new(DynamicSoftMarginLoss::new()))),
        ("ManifoldLoss", Loss(Box::new(ManifoldLoss::new(128).device(cpu)))),
        ("VICRegLoss", TwoViews(VICRegLoss::new())),
        ("MultiSimilarityMiner", Miner(Box::new(MultiSimilarityMiner::new(0.1)))),
        ("TripletMarginMiner", Miner(Box::new(TripletMarginMiner::new(0.2, TripletType::Semihard)))),
        ("PairMarginMiner", Miner(Box::new(PairMarginMiner::new(0.2, 0.8)))),
        ("BatchHardMiner", Miner(Box::new(BatchHardMiner::new()))),
        ("HDCMiner", Miner(Box::new(HdcMiner::new(0.5)))),
        ("BatchEasyHardMiner", Miner(Box::new(BatchEasyHardMiner::new(Strategy::Easy, Strategy::Semihard).expect("allowed")))),
        ("AngularMiner", Miner(Box::new(AngularMiner::new(20.0)))),
        ("DistanceWeightedMiner", Miner(Box::new(DistanceWeightedMiner::new(0.5, 1.4)))),
        ("UniformHistogramMiner", Miner(Box::new(UniformHistogramMiner::new(100, 10, 10)))),
        ("TripletMarginLoss+MultiSimilarityMiner", Loss(Box::new(TripletMarginLoss::new().margin(0.1).distance(CosineSimilarity::new())))),
    ]
}

/// Milliseconds per call: the fastest of ten windows of at least 0.05 s (and 3 calls) each,
/// after 2 calls of warm-up; the fastest window is the one a busy machine disturbed least, and
/// on these shared cores ten short windows find an undisturbed one where three long ones
/// (this benchmark's first protocol) left rows of equal work 20% apart from run to run. A call
/// slower than a second gets one window.
fn time_ms(mut run: impl FnMut()) -> f64 {
    run();
    let started = Instant::now();
    run();
    let windows = if started.elapsed().as_secs_f64() > 1.0 { 1 } else { 10 };
    let mut fastest = f64::INFINITY;
    for _ in 0..windows {
        let started = Instant::now();
        let mut calls = 0;
        while calls < 3 || started.elapsed().as_secs_f64() < 0.05 {
            run();
            calls += 1;
        }
        fastest = fastest.min(started.elapsed().as_secs_f64() * 1000.0 / calls as f64);
    }
    fastest
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--list") {
        for (name, _) in modules(8) {
            println!("{name}");
        }
        return;
    }
    for batch in [64i64, 256, 1024] {
        tch::manual_seed(batch);
        let embeddings = Tensor::randn([batch, 128], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let labels = Tensor::arange(batch, (Kind::Int64, Device::Cpu)).divide_scalar_mode(8, "floor");
        let mut pair_miner = MultiSimilarityMiner::new(0.1);
        let only = std::env::var("BENCH_MODULES").ok();
        let chosen = |name: &str| only.as_ref().is_none_or(|only| only.split(',').any(|o| o == name));
        let half = batch / 2;
        for (name, mut module) in modules(batch / 8).into_iter().filter(|(name, _)| chosen(name)) {
            let ms = match &mut module {
                Module::Loss(loss) if name.contains('+') => time_ms(|| {
                    let tuples = pair_miner.mine(&embeddings, &labels).expect("mine");
                    loss.compute(&embeddings, &labels, Some(&tuples)).expect("loss").backward();
                }),
                Module::Loss(loss) => time_ms(|| loss.compute(&embeddings, &labels, None).expect("loss").backward()),
                Module::TwoViews(loss) => time_ms(|| {
                    loss.compute_pair(&embeddings.narrow(0, 0, half), &embeddings.narrow(0, half, half)).expect("loss").backward();
                }),
                Module::Miner(miner) => time_ms(|| {
                    miner.mine(&embeddings, &labels).expect("mine");
                }),
            };
            println!("{name} {batch} {ms:.3}");
        }
    }
}
