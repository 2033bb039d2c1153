//! Parity with PML: every loss and miner on the inputs of `fixtures/*.json`, against the values
//! PML computed on them (`generate.py`, run by hand). Losses must agree to 1e-5 relative
//! (ManifoldLoss to 1e-4: `loss_tolerance`), their gradients with respect to the embeddings, the reference embeddings and the learned weights
//! to 1e-4 (through seeded random projections, `check_gradients`), mined
//! tuples exactly (as sets) except for float32 ties at the miner's boundary (`ties.rs`: a few
//! tuples whose deciding value, recomputed in float64, lies within 1e-4 of it; the test reports
//! how many it accepted), and the values PML records (hyper-parameters, the threshold
//! reducer's `num_past_filter`) must be among ours and equal. The embeddings are regenerated here from the stored seeds: libtorch's
//! generator is PyTorch's, and a checksum per case proves the inputs are the same.

use metric_learning::distances::{CosineSimilarity, Distance, LpDistance};
use metric_learning::indices::Tuples;
use metric_learning::losses::*;
use metric_learning::miners::*;
use metric_learning::reducers::{
    AvgNonZeroReducer, ClassWeightedReducer, DivisorReducer, MeanReducer, MultipleReducers, PerAnchorReducer, SumReducer, ThresholdReducer,
};
use metric_learning::regularizers::*;
use metric_learning::component::Component;
use metric_learning::tch::{self, Device, Kind, Tensor};
use serde_json::Value;
use std::path::Path;
use ties::{Boundary, Rule};

mod accuracy;
mod clustering;
mod ties;

/// libtorch's generator is process-wide and the tests of this binary run in parallel: whoever
/// seeds it and draws holds this, so that no other test reseeds it midway.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn generator_lock() -> std::sync::MutexGuard<'static, ()> {
    GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A loss with learned weights for `max(label) + 1` classes, its weights drawn from the case's
/// seed + 2 as `generate.py` draws them.
fn weighted(name: &str, case: &Value) -> Option<Box<dyn MetricLoss>> {
    let classes = labels(case).max().int64_value(&[]) + 1;
    let d = case_i64(case, "d");
    let device = Device::Cpu;
    let seeded = |shape: [i64; 2]| {
        tch::manual_seed(case_i64(case, "seed") + 2);
        Tensor::randn(shape, (Kind::Float, Device::Cpu))
    };
    Some(match name {
        "arcface" | "arcface_mined" => {
            let mut loss = ArcFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "arcface_small_margin" => {
            let mut loss = ArcFaceLoss::new(classes, d).margin(10.0).scale(16.0).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "cosface" => {
            let mut loss = CosFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "normalized_softmax" => {
            let mut loss = NormalizedSoftmaxLoss::new(classes, d).temperature(0.1).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "margin_per_class" => Box::new(MarginLoss::new().margin(0.2).nu(0.05).beta(0.9, Some(classes)).learn_beta(true).device(device)),
        "margin_per_class_weighted" => Box::new(
            MarginLoss::new().margin(0.2).nu(0.05).beta(0.9, Some(classes)).learn_beta(true).device(device).reducer(class_weights(classes)),
        ),
        "triplet_margin_class_weighted" => Box::new(TripletMarginLoss::new().margin(0.1).reducer(class_weights(classes))),
        "contrastive_class_weighted" => Box::new(ContrastiveLoss::new().reducer(class_weights(classes))),
        "nca_class_weighted" => Box::new(NCALoss::new().reducer(class_weights(classes))),
        "proxy_anchor" | "proxy_anchor_mined" | "proxy_anchor_divisor" | "proxy_anchor_mean" => {
            let mut loss = ProxyAnchorLoss::new(classes, d).device(device);
            loss.set_proxies(&seeded([classes, d])).expect("shape");
            match name {
                "proxy_anchor_divisor" => Box::new(loss.reducer(DivisorReducer::new())),
                "proxy_anchor_mean" => Box::new(loss.reducer(MeanReducer)),
                _ => Box::new(loss),
            }
        }
        "arcface_regular_face" => {
            let mut loss = ArcFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss.weight_regularizer(RegularFaceRegularizer::new(), 0.3))
        }
        "cosface_center_invariant" => {
            let mut loss = CosFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss.weight_regularizer(CenterInvariantRegularizer::new(), 0.2))
        }
        "normalized_softmax_lp_weights" => {
            let mut loss = NormalizedSoftmaxLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss.weight_regularizer(LpRegularizer::new(), 0.1))
        }
        "proxy_anchor_regularized" => {
            let mut loss = ProxyAnchorLoss::new(classes, d).device(device);
            loss.set_proxies(&seeded([classes, d])).expect("shape");
            Box::new(loss.weight_regularizer(RegularFaceRegularizer::new(), 0.5).embedding_regularizer(LpRegularizer::new(), 0.05))
        }
        "proxy_nca" | "proxy_nca_mined" => {
            let mut loss = ProxyNCALoss::new(classes, d).device(device);
            loss.set_weights(&seeded([classes, d])).expect("shape");
            Box::new(loss)
        }
        "proxy_nca_scaled" => {
            let mut loss = ProxyNCALoss::new(classes, d).softmax_scale(10.0).device(device);
            loss.set_weights(&seeded([classes, d])).expect("shape");
            Box::new(loss)
        }
        "soft_triple" | "soft_triple_mined" => {
            let mut loss = SoftTripleLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes * 10])).expect("shape");
            Box::new(loss)
        }
        "soft_triple_sparse_centers" => {
            let mut loss = SoftTripleLoss::new(classes, d).centers_per_class(4).device(device);
            loss.set_weights(&seeded([d, classes * 4])).expect("shape");
            Box::new(loss.weight_regularizer(SparseCentersRegularizer::new(classes, 4).expect("4 centres per class"), 0.2))
        }
        "soft_triple_custom" => {
            let mut loss = SoftTripleLoss::new(classes, d).centers_per_class(3).la(8.0).gamma(0.05).margin(0.2).device(device);
            loss.set_weights(&seeded([d, classes * 3])).expect("shape");
            Box::new(loss)
        }
        "large_margin_softmax" | "large_margin_softmax_mined" => {
            let mut loss = LargeMarginSoftmaxLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "large_margin_softmax_m3" => {
            let mut loss = LargeMarginSoftmaxLoss::new(classes, d).margin(3).scale(2.0).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "sphereface" => {
            let mut loss = SphereFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "sphereface_m2" => {
            let mut loss = SphereFaceLoss::new(classes, d).margin(2).scale(0.5).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        "subcenter_arcface" | "subcenter_arcface_mined" => {
            let mut loss = SubCenterArcFaceLoss::new(classes, d).device(device);
            loss.set_weights(&seeded([d, classes * 3])).expect("shape");
            Box::new(loss)
        }
        "subcenter_arcface_small_margin" => {
            let mut loss = SubCenterArcFaceLoss::new(classes, d).margin(10.0).scale(16.0).sub_centers(2).device(device);
            loss.set_weights(&seeded([d, classes * 2])).expect("shape");
            Box::new(loss)
        }
        "manifold" | "manifold_tuned" | "manifold_intrinsic" => {
            let loss = ManifoldLoss::new(d).num_proxies(classes).device(device);
            let mut loss = match name {
                "manifold_tuned" => loss.lambda_c(0.5).expect("non-negative").alpha(0.6).margin(0.01),
                "manifold_intrinsic" => loss.lambda_c(0.0).expect("non-negative"),
                _ => loss,
            };
            // The meta-classes are drawn from the generator right after the proxies, as in PML.
            loss.set_proxies(&seeded([classes, d])).expect("shape");
            Box::new(loss)
        }
        "p2s_grad" => {
            let mut loss = P2SGradLoss::new(d, classes).device(device);
            loss.set_weights(&seeded([d, classes])).expect("shape");
            Box::new(loss)
        }
        _ => return None,
    })
}

/// `generate.py`'s `class_weights`: (k + 1) / classes for class k.
fn class_weights(classes: i64) -> ClassWeightedReducer {
    ClassWeightedReducer::new(&(Tensor::arange_start(1, classes + 1, (Kind::Float, Device::Cpu)) / classes as f64))
}

fn loss(name: &str, case: &Value) -> Box<dyn MetricLoss> {
    if let Some(loss) = weighted(name, case) {
        return loss;
    }
    match name {
        "triplet_margin" | "triplet_margin_mined" => Box::new(TripletMarginLoss::new().margin(0.05)),
        "triplet_margin_swap" => Box::new(TripletMarginLoss::new().margin(0.2).swap(true)),
        "triplet_margin_smooth" => Box::new(TripletMarginLoss::new().margin(0.1).smooth_loss(true)),
        "triplet_margin_cosine_sum" => Box::new(TripletMarginLoss::new().margin(0.1).distance(CosineSimilarity::new()).reducer(SumReducer)),
        "contrastive" | "contrastive_mined" => Box::new(ContrastiveLoss::new()),
        "contrastive_margins_mean" => Box::new(ContrastiveLoss::new().pos_margin(0.1).neg_margin(0.5).reducer(MeanReducer)),
        "contrastive_cosine" => Box::new(ContrastiveLoss::new().pos_margin(0.9).neg_margin(0.4).distance(CosineSimilarity::new())),
        "multi_similarity" => Box::new(MultiSimilarityLoss::new()),
        "multi_similarity_lp" => Box::new(MultiSimilarityLoss::new().alpha(0.1).beta(40.0).base(0.5).distance(LpDistance::new())),
        "ntxent" | "ntxent_mined" => Box::new(NTXentLoss::new(0.07)),
        "ntxent_warm" => Box::new(NTXentLoss::new(0.5)),
        "supcon" => Box::new(SupConLoss::new(0.1)),
        "circle" => Box::new(CircleLoss::new()),
        "circle_face" => Box::new(CircleLoss::new().m(0.25).gamma(256.0)),
        "lifted_structure" => Box::new(LiftedStructureLoss::new()),
        "generalized_lifted_structure" => Box::new(GeneralizedLiftedStructureLoss::new().neg_margin(0.5)),
        "nca" => Box::new(NCALoss::new()),
        "nca_scaled" => Box::new(NCALoss::new().softmax_scale(4.0)),
        "snr_contrastive" => Box::new(SignalToNoiseRatioContrastiveLoss::new().pos_margin(0.2).neg_margin(1.2)),
        "margin" => Box::new(MarginLoss::new()),
        "fast_ap" => Box::new(FastAPLoss::new(10)),
        "fast_ap_bins" => Box::new(FastAPLoss::new(30)),
        "margin_learned" => Box::new(MarginLoss::new().margin(0.1).nu(0.1).beta(1.0, None).learn_beta(true)),
        "threshold_reducer" => Box::new(ContrastiveLoss::new().reducer(ThresholdReducer::new(Some(0.1), Some(0.9)))),
        "contrastive_lp_regularizer" => Box::new(ContrastiveLoss::new().embedding_regularizer(LpRegularizer::new(), 0.5)),
        "triplet_margin_zero_mean_regularizer" => Box::new(TripletMarginLoss::new().margin(0.05).embedding_regularizer(ZeroMeanRegularizer::new(), 0.1)),
        "multi_similarity_lp_regularizer_squared" => Box::new(MultiSimilarityLoss::new().embedding_regularizer(LpRegularizer::new().p(1.0).power(2.0), 0.01)),
        "instance" => Box::new(InstanceLoss::new()),
        "instance_cool" => Box::new(InstanceLoss::new().gamma(8.0)),
        "threshold_consistent_margin" | "threshold_consistent_margin_mined" => Box::new(ThresholdConsistentMarginLoss::new()),
        "threshold_consistent_margin_tight" => Box::new(ThresholdConsistentMarginLoss::new().lambdas(0.5, 2.0).margins(0.3, 0.1)),
        "ranked_list" => Box::new(RankedListLoss::new(0.4, 1.0)),
        "ranked_list_weighted" => Box::new(RankedListLoss::new(1.2, 3.0).imbalance(0.3).expect("in [0, 1]").alpha(1.1).tp(2.0)),
        "contrastive_per_anchor" => Box::new(ContrastiveLoss::new().reducer(PerAnchorReducer::new())),
        "contrastive_per_anchor_non_zero" => Box::new(ContrastiveLoss::new().reducer(PerAnchorReducer::new().reducer(AvgNonZeroReducer::avg_non_zero()))),
        "ntxent_per_anchor" => Box::new(NTXentLoss::new(0.1).reducer(PerAnchorReducer::new())),
        "contrastive_multiple_reducers" => Box::new(
            ContrastiveLoss::new().reducer(MultipleReducers::new().reducer("pos_loss", MeanReducer).default_reducer(ThresholdReducer::new(Some(0.1), None))),
        ),
        "margin_multiple_reducers" => {
            Box::new(MarginLoss::new().margin(0.1).nu(0.1).beta(1.0, None).learn_beta(true).reducer(MultipleReducers::new().reducer("margin_loss", MeanReducer)))
        }
        "margin_divisor" => Box::new(MarginLoss::new().reducer(DivisorReducer::new())),
        "margin_mean" => Box::new(MarginLoss::new().reducer(MeanReducer)),
        "multiple_losses" => {
            Box::new(MultipleLosses::new().loss("triplet", 1.0, TripletMarginLoss::new().margin(0.1)).loss("contrastive", 0.5, ContrastiveLoss::new()))
        }
        "multiple_losses_mined" => Box::new(
            MultipleLosses::new()
                .loss_with_miner("triplet", 0.7, TripletMarginLoss::new().margin(0.1), MultiSimilarityMiner::new(0.1))
                .loss("multi_similarity", 1.3, MultiSimilarityLoss::new()),
        ),
        "angular" | "angular_mined" => Box::new(AngularLoss::new()),
        "angular_narrow_sum" => Box::new(AngularLoss::new().alpha(20.0).reducer(SumReducer)),
        "n_pairs" | "n_pairs_mined" => Box::new(NPairsLoss::new()),
        "n_pairs_lp" => Box::new(NPairsLoss::new().distance(LpDistance::new())),
        "tuplet_margin" | "tuplet_margin_mined" => Box::new(TupletMarginLoss::new()),
        "tuplet_margin_wide" => Box::new(TupletMarginLoss::new().margin(20.0).scale(16.0)),
        "intra_pair_variance" | "intra_pair_variance_mined" => Box::new(IntraPairVarianceLoss::new()),
        "intra_pair_variance_lp" => Box::new(IntraPairVarianceLoss::new().pos_eps(0.05).neg_eps(0.02).distance(LpDistance::new())),
        "histogram" | "histogram_mined" => Box::new(HistogramLoss::new()),
        "histogram_bins" => Box::new(HistogramLoss::new().n_bins(10)),
        "histogram_delta" => Box::new(HistogramLoss::new().delta(0.25)),
        "smooth_ap" | "smooth_ap_mined" => Box::new(SmoothAPLoss::new()),
        "smooth_ap_warm" => Box::new(SmoothAPLoss::new().temperature(0.5)),
        "pnp" => Box::new(PNPLoss::new()),
        "pnp_ds" => Box::new(PNPLoss::new().variant(PnpVariant::Ds)),
        "pnp_dq" => Box::new(PNPLoss::new().alpha(4.0).anneal(0.05).variant(PnpVariant::Dq)),
        "pnp_iu" => Box::new(PNPLoss::new().variant(PnpVariant::Iu)),
        "pnp_ib" => Box::new(PNPLoss::new().b(3.0).anneal(0.1).variant(PnpVariant::Ib)),
        "dynamic_soft_margin" | "dynamic_soft_margin_mined" => Box::new(DynamicSoftMarginLoss::new()),
        "dynamic_soft_margin_narrow" => Box::new(DynamicSoftMarginLoss::new().min_val(-1.0).num_bins(20)),
        "dynamic_soft_margin_wide" => Box::new(DynamicSoftMarginLoss::new().min_val(-3.0).num_bins(30).momentum(0.1)),
        other => panic!("no loss for fixture {other}"),
    }
}

/// A regularizer fixture's module, for a case of `n` rows (PML's SparseCenters on `n / 2`
/// classes of 2 centres).
fn regularizer(name: &str, n: i64) -> Option<Box<dyn Regularizer>> {
    Some(match name {
        "lp_regularizer" => Box::new(LpRegularizer::new().p(3.0).power(1.5)),
        "zero_mean_regularizer" => Box::new(ZeroMeanRegularizer::new()),
        "center_invariant_regularizer" => Box::new(CenterInvariantRegularizer::new()),
        "regular_face_regularizer" => Box::new(RegularFaceRegularizer::new()),
        "sparse_centers_regularizer" => Box::new(SparseCentersRegularizer::new(n / 2, 2).expect("2 centres per class")),
        _ => return None,
    })
}

fn miner(name: &str) -> Option<Box<dyn TupleMiner>> {
    Some(match name {
        "multi_similarity_miner"
        | "triplet_margin_mined"
        | "contrastive_mined"
        | "arcface_mined"
        | "proxy_anchor_mined"
        | "proxy_nca_mined"
        | "soft_triple_mined"
        | "large_margin_softmax_mined"
        | "subcenter_arcface_mined"
        | "threshold_consistent_margin_mined"
        | "angular_mined"
        | "tuplet_margin_mined"
        | "intra_pair_variance_mined"
        | "histogram_mined"
        | "smooth_ap_mined"
        | "dynamic_soft_margin_mined" => {
            Box::new(MultiSimilarityMiner::new(0.1))
        }
        "multi_similarity_miner_lp" => Box::new(MultiSimilarityMiner::new(0.1).distance(LpDistance::new())),
        "triplet_margin_miner_all" => Box::new(TripletMarginMiner::new(0.2, TripletType::All)),
        "triplet_margin_miner_hard" => Box::new(TripletMarginMiner::new(0.2, TripletType::Hard)),
        "triplet_margin_miner_semihard" => Box::new(TripletMarginMiner::new(0.2, TripletType::Semihard)),
        "triplet_margin_miner_easy" => Box::new(TripletMarginMiner::new(0.2, TripletType::Easy)),
        "pair_margin_miner" | "ntxent_mined" | "n_pairs_mined" => Box::new(PairMarginMiner::new(0.2, 0.8)),
        "batch_hard_miner" => Box::new(BatchHardMiner::new()),
        "hdc_miner" => Box::new(HdcMiner::new(0.5)),
        "batch_easy_hard_miner" => Box::new(BatchEasyHardMiner::new(Strategy::Easy, Strategy::Semihard).expect("allowed")),
        "batch_easy_hard_miner_hard_easy" => Box::new(BatchEasyHardMiner::new(Strategy::Hard, Strategy::Easy).expect("allowed")),
        "batch_easy_hard_miner_semihard_hard" => Box::new(BatchEasyHardMiner::new(Strategy::Semihard, Strategy::Hard).expect("allowed")),
        "batch_easy_hard_miner_all_hard" => Box::new(BatchEasyHardMiner::new(Strategy::All, Strategy::Hard).expect("allowed")),
        "batch_easy_hard_miner_ranges" => Box::new(
            BatchEasyHardMiner::new(Strategy::Hard, Strategy::Hard).expect("allowed").allowed_pos_range(0.2, 1.3).allowed_neg_range(0.6, 1.5),
        ),
        "angular_miner" => Box::new(AngularMiner::new(20.0)),
        "angular_miner_wide" => Box::new(AngularMiner::new(40.0)),
        "distance_weighted_miner" => Box::new(DistanceWeightedMiner::new(0.5, 1.4)),
        "uniform_histogram_miner" => Box::new(UniformHistogramMiner::new(20, 5, 7)),
        _ => return None,
    })
}

/// The boundary each deterministic miner of `miner()` decides its tuples by, with PML's
/// parameters (those of `generate.py`), and the distance it measures with: where a float32 tie
/// puts a tuple on the other side, the tuple may differ from PML's (see `ties.rs`).
/// `BatchEasyHardMiner` has none yet (its strategies, ranges and semihard thresholds interact),
/// so for it an exact mismatch stays a failure.
fn boundary(name: &str) -> Option<(Rule, Box<dyn Distance>)> {
    let lp = || -> Box<dyn Distance> { Box::new(LpDistance::new()) };
    let triplet = |also_zero| (Rule::TripletMargin { margin: 0.2, also_zero }, lp());
    Some(match name {
        "multi_similarity_miner"
        | "triplet_margin_mined"
        | "contrastive_mined"
        | "arcface_mined"
        | "proxy_anchor_mined"
        | "proxy_nca_mined"
        | "soft_triple_mined"
        | "large_margin_softmax_mined"
        | "subcenter_arcface_mined"
        | "threshold_consistent_margin_mined"
        | "angular_mined"
        | "tuplet_margin_mined"
        | "intra_pair_variance_mined"
        | "histogram_mined"
        | "smooth_ap_mined"
        | "dynamic_soft_margin_mined" => {
            (Rule::MultiSimilarity { epsilon: 0.1 }, Box::new(CosineSimilarity::new()))
        }
        "multi_similarity_miner_lp" => (Rule::MultiSimilarity { epsilon: 0.1 }, lp()),
        "triplet_margin_miner_all" | "triplet_margin_miner_easy" => triplet(false),
        "triplet_margin_miner_hard" | "triplet_margin_miner_semihard" => triplet(true),
        "pair_margin_miner" | "ntxent_mined" | "n_pairs_mined" => (Rule::PairMargin { pos_margin: 0.2, neg_margin: 0.8 }, lp()),
        "batch_hard_miner" => (Rule::BatchHard, lp()),
        "hdc_miner" => (Rule::Hdc { fraction: 0.5 }, lp()),
        "angular_miner" => (Rule::Angular { degrees: 20.0 }, lp()),
        "angular_miner_wide" => (Rule::Angular { degrees: 40.0 }, lp()),
        _ => return None,
    })
}

/// The seeded embeddings of a case, exactly as `generate.py` made them.
fn embeddings(case: &Value, key: &str) -> Tensor {
    let spec = if key == "reference" { &case["reference"] } else { case };
    let n = case_i64(spec, "n");
    let d = case_i64(case, "d");
    tch::manual_seed(case_i64(spec, "seed"));
    let x = Tensor::randn([n, d], (Kind::Float, Device::Cpu));
    if key != "reference" && case["duplicate"].as_bool() == Some(true) {
        x.get(1).copy_(&x.get(0));
        x.get(5).copy_(&x.get(4));
    }
    let checksum = x.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
    let expected = spec["checksum"].as_f64().expect("checksum");
    assert!((checksum - expected).abs() <= 1e-6 * expected.abs().max(1.0), "{}: regenerated embeddings differ from PML's", case["name"]);
    x
}

fn case_i64(value: &Value, key: &str) -> i64 {
    value[key].as_i64().unwrap_or_else(|| panic!("fixture field {key}"))
}

fn labels(value: &Value) -> Tensor {
    let labels: Vec<i64> = value["labels"].as_array().expect("labels").iter().map(|v| v.as_i64().expect("integer label")).collect();
    Tensor::from_slice(&labels)
}

/// Each part's tuples as keys: `(a * columns + p) * columns + n` for triplets, `a * columns + p`
/// for pairs (as `generate.py` encodes them).
fn tuple_keys(tuples: &Tuples, columns: i64) -> Vec<(&'static str, Vec<i64>)> {
    let keys = |t: Tensor| Vec::<i64>::try_from(t.to_kind(Kind::Int64)).expect("integer keys");
    match tuples {
        Tuples::Triplets { a, p, n } => vec![("triplets", keys((a * columns + p) * columns + n))],
        Tuples::Pairs { a1, p, a2, n } => vec![("positive", keys(a1 * columns + p)), ("negative", keys(a2 * columns + n))],
    }
}

/// PML's recorded values (hyper-parameters, and `num_past_filter` of a threshold reducer) must
/// be among ours, equal.
fn check_records(name: &str, case: &Value, ours: &[metric_learning::component::Record]) -> Result<(), String> {
    let Some(expected) = case.get("records").and_then(Value::as_object) else { return Ok(()) };
    for (key, want) in expected {
        let want = want.as_f64().unwrap_or(f64::NAN);
        match ours.iter().find(|r| r.name == key.as_str()) {
            Some(r) if (r.value - want).abs() <= 1e-6 * want.abs().max(1.0) => {}
            Some(r) => return Err(format!("{name}/{}: record {key} is {}, PML {want}", case["name"], r.value)),
            None => return Err(format!("{name}/{}: no record {key} (PML has {want})", case["name"])),
        }
    }
    Ok(())
}

fn fixtures() -> Vec<(String, Vec<Value>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/fixtures");
    let mut all: Vec<(String, Vec<Value>)> = std::fs::read_dir(&dir)
        .expect("tests/parity/fixtures")
        .map(|entry| {
            let path = entry.expect("fixture entry").path();
            let name = path.file_stem().and_then(|s| s.to_str()).expect("fixture name").to_string();
            let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(&path).expect("fixture file")).expect("fixture JSON");
            (name, cases)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Checks one case: `Ok` with how many mined tuples differ from PML's as accepted float32 ties.
fn check_case(name: &str, case: &Value) -> Result<usize, String> {
    let case_name = case["name"].as_str().unwrap_or("?");
    let x = embeddings(case, "query");
    let y = labels(case);
    let reference = case.get("reference").map(|r| (embeddings(case, "reference"), labels(r)));
    let reference_view = reference.as_ref().map(|(e, l)| Reference { embeddings: e, labels: l });
    let columns = reference.as_ref().map_or(x.size()[0], |(e, _)| e.size()[0]);
    if let Some(expected) = case.get("counts") {
        // A random miner: PML and we draw differently; how many tuples is determined. That
        // count rests on float decisions too (an anchor with a drawable negative below the
        // cutoff, a histogram bin left empty or not), but a tie would need one value exactly
        // at such an edge to change it; no tie check here, a mismatch stays a failure.
        let mut miner = miner(name).ok_or_else(|| format!("{name}: no miner"))?;
        let tuples = miner.mine_with_reference(&x, &y, reference_view).map_err(|e| e.to_string())?;
        let ours: Vec<u64> = match &tuples {
            Tuples::Pairs { a1, p, a2, n } => [a1, p, a2, n].iter().map(|t| t.numel() as u64).collect(),
            Tuples::Triplets { a, p, n } => [a, p, n].iter().map(|t| t.numel() as u64).collect(),
        };
        let want: Vec<u64> = expected.as_array().map(|v| v.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
        return if ours == want { Ok(0) } else { Err(format!("{name}/{case_name}: {ours:?} tuples, PML {want:?}")) };
    }
    if let Some(expected) = case.get("tuples") {
        let mut miner = miner(name).ok_or_else(|| format!("{name}: no miner"))?;
        let tuples = miner.mine_with_reference(&x, &y, reference_view).map_err(|e| e.to_string())?;
        let (ties, _) = compare_tuples(name, case, &tuples, expected, (&x, &y, reference.as_ref()))?;
        check_records(name, case, &miner.records())?;
        return Ok(ties);
    }
    if name.starts_with("vicreg") {
        return check_two_views(name, case, &x);
    }
    if name.starts_with("self_supervised") {
        return check_self_supervised(name, case, &x);
    }
    if name.starts_with("cross_batch_memory") {
        return check_cross_batch_memory(name, case, &x, &y);
    }
    if name == "dynamic_soft_margin_two_calls" {
        return check_two_calls(case, &x, &y);
    }
    // A loss on mined tuples: where ours differ from PML's by float32 ties only, the loss takes
    // PML's, so that it compares like with like (one pair more or less moves a small case's loss
    // far beyond the tolerance).
    let mut ties = 0;
    let tuples = match (miner(name), case.get("mined")) {
        (Some(mut miner), Some(expected)) if name.ends_with("_mined") => {
            let ours = miner.mine(&x, &y).map_err(|e| e.to_string())?;
            let (accepted, pml) = compare_tuples(name, case, &ours, expected, (&x, &y, None))?;
            ties = accepted;
            Some(if accepted == 0 { ours } else { pairs_from_keys(&pml, columns).map_err(|why| format!("{name}/{case_name}: {why}"))? })
        }
        (Some(mut miner), None) if name.ends_with("_mined") => Some(miner.mine(&x, &y).map_err(|e| e.to_string())?),
        _ => None,
    };
    if let Some(mut module) = regularizer(name, x.size()[0]) {
        let x = x.set_requires_grad(true);
        let value = module.regularize(&x).map_err(|e| format!("{name}/{case_name}: {e}"))?;
        let (ours, pml) = (value.double_value(&[]), case["loss"].as_f64().unwrap_or(f64::NAN));
        if (ours - pml).abs() > 1e-5 * pml.abs() + 1e-6 {
            return Err(format!("{name}/{case_name}: ours {ours}, PML {pml}"));
        }
        check_records(name, case, &module.records())?;
        return check_gradients(&format!("{name}/{case_name}"), case, &value, &[("embeddings", Some(&x))]).map(|()| 0);
    }
    let mut module = loss(name, case);
    let x = x.set_requires_grad(true);
    let reference = reference.map(|(e, l)| (e.set_requires_grad(true), l));
    let reference_view = reference.as_ref().map(|(e, l)| Reference { embeddings: e, labels: l });
    let computed = module.compute_with_reference(&x, &y, tuples.as_ref(), reference_view);
    let ours = computed.as_ref().map(|l| l.double_value(&[])).map_err(|e| e.to_string());
    let checked = match (case["loss"].as_f64(), ours) {
        (Some(pml), Ok(ours)) if (ours - pml).abs() <= loss_tolerance(name) * pml.abs() + 1e-6 => {
            check_records(name, case, &module.records())?;
            let learned = module.var_store().map(|vs| vs.trainable_variables()).unwrap_or_default();
            let with_respect_to = [("embeddings", Some(&x)), ("reference", reference.as_ref().map(|(e, _)| e)), ("weights", learned.first())];
            computed.map_err(|e| e.to_string()).and_then(|loss| check_gradients(&format!("{name}/{case_name}"), case, &loss, &with_respect_to))
        }
        (Some(pml), ours) => Err(format!("{name}/{case_name}: ours {ours:?}, PML {pml}")),
        // PML's mean over no values is NaN; ours is the zero of every other empty case.
        (None, Ok(ours)) if case["pml_nan"].as_bool() == Some(true) => {
            if ours == 0.0 { Ok(()) } else { Err(format!("{name}/{case_name}: ours {ours} where PML has NaN for nothing")) }
        }
        // PML raised: it refuses reference embeddings for classification-style losses, and so
        // do we; on its swap bug with them, ours must at least be a number. SmoothAP's refusal
        // of labels of unequal sizes is ours too.
        (None, Err(_)) => Ok(()),
        (None, Ok(ours)) if name.starts_with("smooth_ap") => Err(format!("{name}/{case_name}: ours {ours} where PML raised {}", case["pml_error"])),
        (None, Ok(ours)) if ours.is_finite() => Ok(()),
        (None, Ok(ours)) => Err(format!("{name}/{case_name}: ours {ours} where PML raised")),
    };
    checked.map(|()| ties)
}

/// How close a loss must be to PML's, relative. ManifoldLoss inverts a matrix of the
/// batch's size, which amplifies float32 rounding by its condition number: on a CPU whose
/// matrix kernels sum in another order than the fixtures' (AVX-512 against AVX2), its
/// many-class case moves by 2e-5 relative.
fn loss_tolerance(name: &str) -> f64 {
    if name.starts_with("manifold") { 1e-4 } else { 1e-5 }
}

/// Gradient agreement: each projection of ours within 1e-4 of the sum of the absolute products
/// it adds up (the scale of its rounding), and the norm to 1e-4 relative. PML's fingerprints
/// (`generate.py`) say which tensors had a gradient; a loss with no graph (a constant) has a
/// zero gradient.
const GRADIENT_TOLERANCE: f64 = 1e-4;
/// Below this norm a gradient is float32 noise around zero (FastAP on one class, whose loss is
/// a constant): then ours must be as small, and the directions of two noises are not compared.
const NOISE_NORM: f64 = 1e-5;

fn check_gradients(what: &str, case: &Value, loss: &Tensor, tensors: &[(&str, Option<&Tensor>)]) -> Result<(), String> {
    let Some(expected) = case.get("gradients").and_then(Value::as_object) else { return Ok(()) };
    if loss.requires_grad() {
        loss.f_backward().map_err(|e| format!("{what}: backward failed: {e}"))?;
    }
    for (key, want) in expected {
        let tensor = tensors.iter().find(|(k, _)| k == key).and_then(|(_, t)| *t).ok_or_else(|| format!("{what}: PML has a gradient for {key}, ours has no such tensor"))?;
        let grad = tensor.grad();
        let grad = if grad.defined() { grad.to_kind(Kind::Double) } else { tensor.zeros_like().to_kind(Kind::Double) };
        let (norm, pml_norm) = (grad.norm().double_value(&[]), want["norm"].as_f64().unwrap_or(f64::NAN));
        if pml_norm < NOISE_NORM && norm < NOISE_NORM {
            continue;
        }
        tch::manual_seed(want["seed"].as_i64().ok_or("gradient seed")?);
        let count = want["projections"].as_array().map_or(0, Vec::len) as i64;
        let mut shape = vec![count];
        shape.extend(grad.size());
        let projections = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu)).to_kind(Kind::Double);
        let ours: Vec<f64> = Vec::try_from((grad.unsqueeze(0) * projections).flatten(1, -1).sum_dim_intlist(1i64, false, None::<Kind>)).map_err(|e: tch::TchError| e.to_string())?;
        let field = |f: &str| -> Vec<f64> { want[f].as_array().map(|v| v.iter().filter_map(Value::as_f64).collect()).unwrap_or_default() };
        for (k, ((ours, pml), scale)) in ours.iter().zip(field("projections")).zip(field("scales")).enumerate() {
            if (ours - pml).abs() > GRADIENT_TOLERANCE * scale + 1e-9 {
                return Err(format!("{what}: gradient of {key}, projection {k}: ours {ours}, PML {pml} (scale {scale})"));
            }
        }
        if (norm - pml_norm).abs() > GRADIENT_TOLERANCE * pml_norm + 1e-9 {
            return Err(format!("{what}: gradient norm of {key}: ours {norm}, PML {pml_norm}"));
        }
    }
    Ok(())
}

/// `generate.py`'s self-supervised cases: the batch's first half against its second.
fn check_self_supervised(name: &str, case: &Value, x: &Tensor) -> Result<usize, String> {
    let case_name = case["name"].as_str().unwrap_or("?");
    let mut module = match name {
        "self_supervised_triplet" => SelfSupervisedLoss::new(TripletMarginLoss::new().margin(0.1)),
        "self_supervised_contrastive" => SelfSupervisedLoss::new(ContrastiveLoss::new()).map(|l| l.symmetric(false)),
        "self_supervised_ntxent" => SelfSupervisedLoss::new(NTXentLoss::new(0.1)),
        other => panic!("no self-supervised loss for fixture {other}"),
    }
    .map_err(|e| e.to_string())?;
    let half = case_i64(case, "split");
    let ours = module.compute(&x.narrow(0, 0, half), &x.narrow(0, half, half)).map(|l| l.double_value(&[])).map_err(|e| format!("{name}/{case_name}: {e}"))?;
    let pml = case["loss"].as_f64().ok_or_else(|| format!("{name}/{case_name}: no PML loss"))?;
    if (ours - pml).abs() > 1e-5 * pml.abs() + 1e-6 {
        return Err(format!("{name}/{case_name}: ours {ours}, PML {pml}"));
    }
    check_records(name, case, &module.records()).map(|()| 0)
}

/// `generate.py`'s two-view cases: the batch's first half against its second, the gradient
/// with respect to the whole batch. One view through `compute_pair`, the other through the
/// `MetricLoss` trait with the second half as the reference. Where PML's variance of one row
/// is NaN, ours refuses the batch.
fn check_two_views(name: &str, case: &Value, x: &Tensor) -> Result<usize, String> {
    let case_name = case["name"].as_str().unwrap_or("?");
    let what = format!("{name}/{case_name}");
    let x = x.set_requires_grad(true);
    let half = case_i64(case, "split");
    let (first, second) = (x.narrow(0, 0, half), x.narrow(0, half, half));
    let (module, computed) = match name {
        "vicreg" => {
            let mut module = VICRegLoss::new();
            let computed = module.compute_pair(&first, &second);
            (module, computed)
        }
        "vicreg_weighted_terms" => {
            let mut module = VICRegLoss::new().invariance_lambda(5.0).variance_mu(10.0).covariance_v(2.0).eps(1e-3);
            let rows = Tensor::arange(half, (Kind::Int64, Device::Cpu));
            let computed = module.compute_with_reference(&first, &rows, None, Some(Reference { embeddings: &second, labels: &rows }));
            (module, computed)
        }
        other => panic!("no two-view loss for fixture {other}"),
    };
    if case["pml_nan"].as_bool() == Some(true) {
        return match computed {
            Err(_) => Ok(0),
            Ok(ours) => Err(format!("{what}: ours {} where PML has NaN (one row per view)", ours.double_value(&[]))),
        };
    }
    let loss = computed.map_err(|e| format!("{what}: {e}"))?;
    let (ours, pml) = (loss.double_value(&[]), case["loss"].as_f64().ok_or_else(|| format!("{what}: no PML loss"))?);
    if (ours - pml).abs() > 1e-5 * pml.abs() + 1e-6 {
        return Err(format!("{what}: ours {ours}, PML {pml}"));
    }
    check_records(name, case, &module.records())?;
    check_gradients(&what, case, &loss, &[("embeddings", Some(&x))]).map(|()| 0)
}

/// `generate.py`'s cross-batch-memory cases: three calls on consecutive slices, each call's
/// loss compared, then the records after the last.
fn check_cross_batch_memory(name: &str, case: &Value, x: &Tensor, y: &Tensor) -> Result<usize, String> {
    let case_name = case["name"].as_str().unwrap_or("?");
    let (size, d) = (case_i64(case, "slice"), case_i64(case, "d"));
    let module = match name {
        "cross_batch_memory" | "cross_batch_memory_mask" => CrossBatchMemory::new(ContrastiveLoss::new(), d),
        "cross_batch_memory_triplet" => CrossBatchMemory::new(TripletMarginLoss::new().margin(0.1), d),
        "cross_batch_memory_miner" => CrossBatchMemory::new(ContrastiveLoss::new(), d).map(|m| m.miner(MultiSimilarityMiner::new(0.1))),
        other => panic!("no cross-batch memory for fixture {other}"),
    }
    .map_err(|e| e.to_string())?;
    let masked = name.ends_with("_mask");
    let mut module = module.memory_size(if masked { size } else { 2 * size });
    let expected: Vec<f64> = case["losses"].as_array().map(|v| v.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    for (call, pml) in expected.iter().enumerate() {
        let (rows, labels) = (x.narrow(0, call as i64 * size, size), y.narrow(0, call as i64 * size, size));
        let ours = if masked {
            let mask = Tensor::arange(size, (Kind::Int64, Device::Cpu)).remainder(2).eq(0);
            module.compute_with_mask(&rows, &labels, &mask)
        } else {
            module.compute(&rows, &labels, None)
        };
        let ours = ours.map(|l| l.double_value(&[])).map_err(|e| format!("{name}/{case_name}, call {call}: {e}"))?;
        if (ours - pml).abs() > 1e-5 * pml.abs() + 1e-6 {
            return Err(format!("{name}/{case_name}, call {call}: ours {ours}, PML {pml}"));
        }
    }
    if expected.len() != 3 {
        return Err(format!("{name}/{case_name}: {} PML losses, expected 3", expected.len()));
    }
    check_records(name, case, &module.records()).map(|()| 0)
}

/// `generate.py`'s two-call cases: the batch's first half, then its second, the histogram kept
/// detached in between; both losses compared, and the second call's gradient.
fn check_two_calls(case: &Value, x: &Tensor, y: &Tensor) -> Result<usize, String> {
    let what = format!("dynamic_soft_margin_two_calls/{}", case["name"].as_str().unwrap_or("?"));
    let expected: Vec<f64> = case["losses"].as_array().map(|v| v.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    if case.get("pml_error").is_some() {
        return Ok(0);
    }
    if expected.len() != 2 {
        return Err(format!("{what}: {} PML losses, expected 2", expected.len()));
    }
    let mut module = DynamicSoftMarginLoss::new().momentum(0.3);
    let half = case_i64(case, "split");
    let x = x.set_requires_grad(true);
    let first = module.compute(&x.narrow(0, 0, half), &y.narrow(0, 0, half), None).map_err(|e| format!("{what}, call 0: {e}"))?;
    let second = module.compute(&x.narrow(0, half, half), &y.narrow(0, half, half), None).map_err(|e| format!("{what}, call 1: {e}"))?;
    for (call, (ours, pml)) in [first.double_value(&[]), second.double_value(&[])].iter().zip(&expected).enumerate() {
        if (ours - pml).abs() > 1e-5 * pml.abs() + 1e-6 {
            return Err(format!("{what}, call {call}: ours {ours}, PML {pml}"));
        }
    }
    check_records("dynamic_soft_margin_two_calls", case, &module.records())?;
    check_gradients(&what, case, &second, &[("embeddings", Some(&x))]).map(|()| 0)
}

/// Each part's name (`triplets`, `positive`, `negative`) and its tuple keys.
type PartKeys = Vec<(&'static str, Vec<i64>)>;

/// Our tuples against PML's digests, part by part: how many differ as accepted float32 ties,
/// and PML's keys of each part (ours where they are the same).
fn compare_tuples(name: &str, case: &Value, tuples: &Tuples, expected: &Value, inputs: (&Tensor, &Tensor, Option<&(Tensor, Tensor)>)) -> Result<(usize, PartKeys), String> {
    let case_name = case["name"].as_str().unwrap_or("?");
    let (x, y, reference) = inputs;
    let columns = reference.map_or(x.size()[0], |(e, _)| e.size()[0]);
    let mut ties = 0;
    let mut pml = Vec::new();
    // Built only when some part differs: it recomputes the distances in float64.
    let mut judge = None;
    for (part, keys) in tuple_keys(tuples, columns) {
        let want = &expected[part];
        let (count, hash) = ties::digest(&keys);
        if want["count"].as_u64() == Some(count as u64) && want["sha256"].as_str() == Some(hash.as_str()) {
            pml.push((part, keys));
            continue;
        }
        if judge.is_none() {
            judge = boundary(name).map(|(rule, distance)| Boundary::new(rule, distance, x, y, reference.map(|(e, l)| (e, l))));
        }
        let (accepted, keys) = ties::accept(part, &keys, want, judge.as_ref()).map_err(|why| format!("{name}/{case_name}: {why}"))?;
        ties += accepted;
        pml.push((part, keys));
    }
    Ok((ties, pml))
}

/// Pairs from each part's keys (`a * columns + b`).
fn pairs_from_keys(parts: &[(&str, Vec<i64>)], columns: i64) -> Result<Tuples, String> {
    let split = |part: &str| -> Result<(Tensor, Tensor), String> {
        let keys = parts.iter().find(|(p, _)| *p == part).map(|(_, k)| k).ok_or_else(|| format!("no {part} pairs"))?;
        let (a, b): (Vec<i64>, Vec<i64>) = keys.iter().map(|k| (k / columns, k % columns)).unzip();
        Ok((Tensor::from_slice(&a), Tensor::from_slice(&b)))
    };
    let ((a1, p), (a2, n)) = (split("positive")?, split("negative")?);
    Ok(Tuples::Pairs { a1, p, a2, n })
}

/// One test for all fixtures: the embeddings come from the process-wide generator, so cases
/// must not interleave.
#[test]
fn every_loss_and_miner_matches_pml_on_every_case() {
    // Held throughout: the losses' cases, and the random miners, draw from the generator.
    let _generator = generator_lock();
    tch::set_num_threads(1);
    let mut failures = Vec::new();
    let mut ties = Vec::new();
    let mut checked = 0;
    for (name, cases) in fixtures() {
        for case in &cases {
            checked += 1;
            match check_case(&name, case) {
                Ok(0) => {}
                Ok(n) => ties.push((format!("{name}/{}", case["name"].as_str().unwrap_or("?")), n)),
                Err(failure) => failures.push(failure),
            }
        }
    }
    let accepted: usize = ties.iter().map(|(_, n)| n).sum();
    let per_case: String = ties.iter().map(|(case, n)| format!("\n  {case}: {n}")).collect();
    let summary = format!("{accepted} differing tuples accepted as float32 ties (within {} of the boundary) in {} cases{per_case}", ties::TOLERANCE, ties.len());
    eprintln!("{summary}");
    assert!(checked > 250, "only {checked} cases found");
    assert!(failures.is_empty(), "{} of {checked} cases differ from PML:\n{}\n{summary}", failures.len(), failures.join("\n"));
}
