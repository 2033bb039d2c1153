//! Every loss and miner runs in half precision (f16 and bf16) and agrees with f32 to the
//! precision's own resolution.

use metric_learning::losses::*;
use metric_learning::miners::*;
use metric_learning::tch::{Device, Kind, Tensor};
use metric_learning_tests::one_thread;

fn losses() -> Vec<(&'static str, Box<dyn MetricLoss>)> {
    let cpu = Device::Cpu;
    vec![
        ("TripletMarginLoss", Box::new(TripletMarginLoss::new().margin(0.2))),
        ("ContrastiveLoss", Box::new(ContrastiveLoss::new().neg_margin(1.5))),
        ("MultiSimilarityLoss", Box::new(MultiSimilarityLoss::new())),
        ("NTXentLoss", Box::new(NTXentLoss::new(0.5))),
        ("SupConLoss", Box::new(SupConLoss::new(0.5))),
        ("CircleLoss", Box::new(CircleLoss::new())),
        ("LiftedStructureLoss", Box::new(LiftedStructureLoss::new())),
        ("GeneralizedLiftedStructureLoss", Box::new(GeneralizedLiftedStructureLoss::new())),
        ("NCALoss", Box::new(NCALoss::new())),
        ("FastAPLoss", Box::new(FastAPLoss::new(10))),
        ("MarginLoss", Box::new(MarginLoss::new())),
        ("ArcFaceLoss", Box::new(ArcFaceLoss::new(4, 16).device(cpu).scale(8.0))),
        ("CosFaceLoss", Box::new(CosFaceLoss::new(4, 16).device(cpu).scale(8.0))),
        ("NormalizedSoftmaxLoss", Box::new(NormalizedSoftmaxLoss::new(4, 16).device(cpu).temperature(0.5))),
        ("ProxyAnchorLoss", Box::new(ProxyAnchorLoss::new(4, 16).device(cpu).alpha(4.0))),
        ("ProxyNCALoss", Box::new(ProxyNCALoss::new(4, 16).device(cpu))),
        ("SoftTripleLoss", Box::new(SoftTripleLoss::new(4, 16).device(cpu))),
        ("LargeMarginSoftmaxLoss", Box::new(LargeMarginSoftmaxLoss::new(4, 16).device(cpu))),
        ("SphereFaceLoss", Box::new(SphereFaceLoss::new(4, 16).device(cpu))),
        ("SubCenterArcFaceLoss", Box::new(SubCenterArcFaceLoss::new(4, 16).device(cpu).scale(8.0))),
        ("AngularLoss", Box::new(AngularLoss::new())),
        ("NPairsLoss", Box::new(NPairsLoss::new())),
        ("TupletMarginLoss", Box::new(TupletMarginLoss::new().scale(16.0))),
        ("IntraPairVarianceLoss", Box::new(IntraPairVarianceLoss::new())),
        ("HistogramLoss", Box::new(HistogramLoss::new().n_bins(20))),
        ("SmoothAPLoss", Box::new(SmoothAPLoss::new().temperature(0.1))),
        ("PNPLoss", Box::new(PNPLoss::new().anneal(0.1).variant(PnpVariant::Ds))),
        ("DynamicSoftMarginLoss", Box::new(DynamicSoftMarginLoss::new())),
        ("P2SGradLoss", Box::new(P2SGradLoss::new(16, 4).device(cpu))),
        ("InstanceLoss", Box::new(InstanceLoss::new().gamma(8.0))),
    ]
}

fn inputs() -> (Tensor, Tensor) {
    let embeddings = Tensor::from_slice(&(0..32 * 16).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect::<Vec<_>>()).reshape([32, 16]);
    let labels = Tensor::arange(32, (Kind::Int64, Device::Cpu)).remainder(4);
    (embeddings, labels)
}

#[test]
fn losses_in_half_precision_agree_with_f32() {
    one_thread();
    let (embeddings, labels) = inputs();
    for (name, mut loss) in losses() {
        let full = loss.compute(&embeddings, &labels, None).unwrap().double_value(&[]);
        for kind in [Kind::Half, Kind::BFloat16] {
            let half = embeddings.to_kind(kind).set_requires_grad(true);
            let value = loss.compute(&half, &labels, None).unwrap_or_else(|e| panic!("{name} in {kind:?}: {e}"));
            value.backward();
            let value = value.double_value(&[]);
            let tolerance = if kind == Kind::Half { 0.02 } else { 0.06 };
            assert!((value - full).abs() <= tolerance * full.abs().max(0.1), "{name} in {kind:?}: {value} vs {full} in f32");
            assert!(half.grad().defined(), "{name} in {kind:?}: no gradient");
        }
    }
}

/// The losses `losses()` cannot call through `compute` alike in every precision: VICReg on two
/// views (the batch's halves), and ManifoldLoss with given meta-classes (it draws new ones on
/// every call otherwise).
#[test]
fn two_view_and_meta_class_losses_in_half_precision_agree_with_f32() {
    one_thread();
    let (embeddings, _) = inputs();
    let meta_classes = Tensor::arange(32, (Kind::Int64, Device::Cpu)).remainder(4);
    let mut vicreg = VICRegLoss::new();
    let mut manifold = ManifoldLoss::new(16).num_proxies(4).device(Device::Cpu);
    let mut cases: Vec<(&str, Box<dyn FnMut(&Tensor) -> Tensor + '_>)> = vec![
        ("VICRegLoss", Box::new(|x: &Tensor| vicreg.compute_pair(&x.narrow(0, 0, 16), &x.narrow(0, 16, 16)).unwrap())),
        ("ManifoldLoss", Box::new(|x: &Tensor| manifold.compute_with_meta_classes(x, Some(&meta_classes)).unwrap())),
    ];
    for (name, loss) in cases.iter_mut() {
        let full = loss(&embeddings).double_value(&[]);
        for kind in [Kind::Half, Kind::BFloat16] {
            let half = embeddings.to_kind(kind).set_requires_grad(true);
            let value = loss(&half);
            value.backward();
            let value = value.double_value(&[]);
            let tolerance = if kind == Kind::Half { 0.02 } else { 0.06 };
            assert!((value - full).abs() <= tolerance * full.abs().max(0.1), "{name} in {kind:?}: {value} vs {full} in f32");
            assert!(half.grad().defined(), "{name} in {kind:?}: no gradient");
        }
    }
}

#[test]
fn miners_give_valid_tuples_in_half_precision() {
    one_thread();
    let (embeddings, labels) = inputs();
    let mut miners: Vec<(&str, Box<dyn TupleMiner>)> = vec![
        ("MultiSimilarityMiner", Box::new(MultiSimilarityMiner::new(0.1))),
        ("TripletMarginMiner", Box::new(TripletMarginMiner::new(0.2, TripletType::Semihard))),
        ("PairMarginMiner", Box::new(PairMarginMiner::new(0.2, 0.8))),
        ("BatchHardMiner", Box::new(BatchHardMiner::new())),
        ("BatchEasyHardMiner", Box::new(BatchEasyHardMiner::new(Strategy::Easy, Strategy::Semihard).unwrap())),
        ("HDCMiner", Box::new(HdcMiner::new(0.5))),
        ("AngularMiner", Box::new(AngularMiner::new(20.0))),
        ("DistanceWeightedMiner", Box::new(DistanceWeightedMiner::new(0.5, 1.4))),
        ("UniformHistogramMiner", Box::new(UniformHistogramMiner::new(10, 2, 2))),
    ];
    let label = |i: &Tensor| labels.index_select(0, i);
    let all = |t: Tensor| bool::try_from(t.all()).unwrap();
    for (name, miner) in &mut miners {
        for kind in [Kind::Float, Kind::Half, Kind::BFloat16] {
            let mined = miner.mine(&embeddings.to_kind(kind), &labels).unwrap_or_else(|e| panic!("{name} in {kind:?}: {e}"));
            let (a1, p, a2, n) = mined.to_pairs();
            assert!(a1.numel() + a2.numel() > 0, "{name} in {kind:?} mined nothing");
            assert!(all(label(&a1).eq_tensor(&label(&p))), "{name} in {kind:?}: a positive of another class");
            assert!(all(label(&a2).ne_tensor(&label(&n))), "{name} in {kind:?}: a negative of the same class");
        }
    }
}
