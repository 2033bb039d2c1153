//! Losses by PML's names. A metric loss and a classifier loss are different values: a key
//! declared `Box<dyn ClassifierLoss>` refuses a metric loss by name, before anything runs.
//!
//! Every loss of the runtime library is here but one: `SelfSupervisedLoss` wraps a loss for pairs of views without labels; it is neither a
//! `MetricLoss` nor a `ClassifierLoss` (its `compute` takes two views), so no key takes it.
//!
//! The losses with learned weights (class weights, proxies, centers, a learned beta) put them
//! on the CUDA device when there is one themselves, as `Device::cuda_if_available()` would.

use super::{param, Context, Default, Family, Kind, Module, Param, Params};
use metric_learning::prelude::*;

/// A loss made from the file: the declaration's key says which kind it must be.
pub enum Loss {
    Metric(Box<dyn MetricLoss>),
    Classifier(Box<dyn ClassifierLoss>),
}

impl Loss {
    pub fn word(&self) -> &'static str {
        match self {
            Loss::Metric(_) => "a metric loss (Box<dyn MetricLoss>)",
            Loss::Classifier(_) => "a classifier loss (Box<dyn ClassifierLoss>)",
        }
    }
}

fn metric(loss: impl MetricLoss + 'static) -> metric_learning::Result<Loss> {
    Ok(Loss::Metric(Box::new(loss)))
}

/// The loss with the file's `distance` and `reducer` tables, where it gives them.
macro_rules! distance_and_reducer {
    ($loss:expr, $params:expr, $context:expr) => {{
        let mut loss = $loss;
        if let Some(distance) = $params.distance("distance", $context)? {
            loss = loss.distance(distance);
        }
        if let Some(reducer) = $params.reducer("reducer", $context)? {
            loss = loss.reducer(reducer);
        }
        loss
    }};
}

/// The loss with the file's `reducer` table, where it gives one: for the losses whose distance
/// is fixed (PML asserts its type, or the loss has none).
macro_rules! with_reducer {
    ($loss:expr, $params:expr, $context:expr) => {{
        let loss = $loss;
        match $params.reducer("reducer", $context)? {
            Some(reducer) => loss.reducer(reducer),
            None => loss,
        }
    }};
}

pub static LOSSES: Family<Loss> = Family {
    word: "loss",
    common: REGULARIZED,
    finish: regularized,
    modules: &[
        Module { name: "TripletMarginLoss", params: TRIPLET_MARGIN, make: |p, c| metric(triplet_margin(p, c)?) },
        Module {
            name: "ContrastiveLoss",
            params: CONTRASTIVE,
            make: |p, c| metric(distance_and_reducer!(ContrastiveLoss::new().pos_margin(p.float("pos_margin")).neg_margin(p.float("neg_margin")), p, c)),
        },
        // PML's subclass of ContrastiveLoss on SNRDistance; here a ContrastiveLoss made so.
        Module {
            name: "SignalToNoiseRatioContrastiveLoss",
            params: SNR_CONTRASTIVE,
            make: |p, c| {
                let loss = SignalToNoiseRatioContrastiveLoss::new().pos_margin(p.float("pos_margin")).neg_margin(p.float("neg_margin"));
                metric(distance_and_reducer!(loss, p, c))
            },
        },
        Module {
            name: "MultiSimilarityLoss",
            params: MULTI_SIMILARITY,
            make: |p, c| metric(distance_and_reducer!(MultiSimilarityLoss::new().alpha(p.float("alpha")).beta(p.float("beta")).base(p.float("base")), p, c)),
        },
        Module { name: "NTXentLoss", params: NTXENT, make: |p, c| metric(distance_and_reducer!(NTXentLoss::new(p.float("temperature")), p, c)) },
        Module { name: "SupConLoss", params: SUPCON, make: |p, c| metric(distance_and_reducer!(SupConLoss::new(p.float("temperature")), p, c)) },
        Module { name: "CircleLoss", params: CIRCLE, make: |p, c| metric(distance_and_reducer!(CircleLoss::new().m(p.float("m")).gamma(p.float("gamma")), p, c)) },
        Module { name: "AngularLoss", params: ANGULAR, make: |p, c| metric(with_reducer!(AngularLoss::new().alpha(p.float("alpha")), p, c)) },
        Module {
            name: "LiftedStructureLoss",
            params: LIFTED_STRUCTURE,
            make: |p, c| metric(distance_and_reducer!(LiftedStructureLoss::new().neg_margin(p.float("neg_margin")).pos_margin(p.float("pos_margin")), p, c)),
        },
        Module {
            name: "GeneralizedLiftedStructureLoss",
            params: LIFTED_STRUCTURE,
            make: |p, c| {
                let loss = GeneralizedLiftedStructureLoss::new().neg_margin(p.float("neg_margin")).pos_margin(p.float("pos_margin"));
                metric(distance_and_reducer!(loss, p, c))
            },
        },
        Module {
            name: "IntraPairVarianceLoss",
            params: INTRA_PAIR_VARIANCE,
            make: |p, c| metric(distance_and_reducer!(IntraPairVarianceLoss::new().pos_eps(p.float("pos_eps")).neg_eps(p.float("neg_eps")), p, c)),
        },
        Module { name: "MarginLoss", params: MARGIN, make: margin },
        Module { name: "NCALoss", params: NCA, make: |p, c| metric(distance_and_reducer!(NCALoss::new().softmax_scale(p.float("softmax_scale")), p, c)) },
        Module { name: "NPairsLoss", params: N_PAIRS, make: |p, c| metric(distance_and_reducer!(NPairsLoss::new(), p, c)) },
        Module { name: "HistogramLoss", params: HISTOGRAM, make: histogram },
        Module {
            name: "DynamicSoftMarginLoss",
            params: DYNAMIC_SOFT_MARGIN,
            make: |p, c| {
                let loss = DynamicSoftMarginLoss::new()
                    .min_val(p.float("min_val"))
                    .num_bins(p.count("DynamicSoftMarginLoss", "num_bins", 2)? as i64)
                    .momentum(p.float("momentum"));
                metric(with_reducer!(loss, p, c))
            },
        },
        Module { name: "FastAPLoss", params: FAST_AP, make: |p, c| metric(with_reducer!(FastAPLoss::new(p.count("FastAPLoss", "num_bins", 1)? as i64), p, c)) },
        Module { name: "InstanceLoss", params: INSTANCE, make: |p, c| metric(with_reducer!(InstanceLoss::new().gamma(p.float("gamma")), p, c)) },
        Module { name: "ManifoldLoss", params: MANIFOLD, make: manifold },
        Module { name: "PNPLoss", params: PNP, make: pnp },
        Module { name: "RankedListLoss", params: RANKED_LIST, make: ranked_list },
        Module { name: "SmoothAPLoss", params: SMOOTH_AP, make: |p, c| metric(with_reducer!(SmoothAPLoss::new().temperature(p.float("temperature")), p, c)) },
        Module {
            name: "ThresholdConsistentMarginLoss",
            params: THRESHOLD_CONSISTENT_MARGIN,
            // Its reducer has no setter (PML's is a MeanReducer too): no `reducer` parameter.
            make: |p, _| {
                let loss = ThresholdConsistentMarginLoss::new();
                metric(loss.lambdas(p.float("lambda_plus"), p.float("lambda_minus")).margins(p.float("margin_plus"), p.float("margin_minus")))
            },
        },
        Module { name: "TupletMarginLoss", params: TUPLET_MARGIN, make: |p, c| metric(with_reducer!(TupletMarginLoss::new().margin(p.float("margin")).scale(p.float("scale")), p, c)) },
        Module {
            name: "VICRegLoss",
            params: VICREG,
            make: |p, c| {
                let loss = VICRegLoss::new()
                    .invariance_lambda(p.float("invariance_lambda"))
                    .variance_mu(p.float("variance_mu"))
                    .covariance_v(p.float("covariance_v"))
                    .eps(p.float("eps"));
                metric(with_reducer!(loss, p, c))
            },
        },
        Module { name: "CrossBatchMemory", params: CROSS_BATCH_MEMORY, make: cross_batch_memory },
        // Classification-style losses with learned weights.
        Module {
            name: "ArcFaceLoss",
            params: ARCFACE,
            make: |p, c| {
                let (num_classes, embedding_size) = classes_and_width("ArcFaceLoss", p)?;
                metric(with_reducer!(ArcFaceLoss::new(num_classes, embedding_size).margin(p.float("margin")).scale(p.float("scale")), p, c))
            },
        },
        Module {
            name: "CosFaceLoss",
            params: COSFACE,
            make: |p, c| {
                let (num_classes, embedding_size) = classes_and_width("CosFaceLoss", p)?;
                metric(with_reducer!(CosFaceLoss::new(num_classes, embedding_size).margin(p.float("margin")).scale(p.float("scale")), p, c))
            },
        },
        Module {
            name: "SubCenterArcFaceLoss",
            params: SUBCENTER_ARCFACE,
            make: |p, c| {
                let (num_classes, embedding_size) = classes_and_width("SubCenterArcFaceLoss", p)?;
                let sub_centers = p.count("SubCenterArcFaceLoss", "sub_centers", 1)? as i64;
                let mut loss = SubCenterArcFaceLoss::new(num_classes, embedding_size).margin(p.float("margin")).scale(p.float("scale"));
                // The setter draws new weights: only when the shape changes.
                if recorded(&loss, "sub_centers") != Some(sub_centers as f64) {
                    loss = loss.sub_centers(sub_centers);
                }
                metric(with_reducer!(loss, p, c))
            },
        },
        Module { name: "LargeMarginSoftmaxLoss", params: LARGE_MARGIN_SOFTMAX, make: |p, c| large_margin_softmax("LargeMarginSoftmaxLoss", LargeMarginSoftmaxLoss::new, p, c) },
        Module { name: "SphereFaceLoss", params: LARGE_MARGIN_SOFTMAX, make: |p, c| large_margin_softmax("SphereFaceLoss", SphereFaceLoss::new, p, c) },
        Module {
            name: "NormalizedSoftmaxLoss",
            params: NORMALIZED_SOFTMAX,
            // Its reducer has no setter (PML's is a MeanReducer too): no `reducer` parameter.
            make: |p, _| {
                let (num_classes, embedding_size) = classes_and_width("NormalizedSoftmaxLoss", p)?;
                metric(NormalizedSoftmaxLoss::new(num_classes, embedding_size).temperature(p.float("temperature")))
            },
        },
        Module {
            name: "ProxyAnchorLoss",
            params: PROXY_ANCHOR,
            make: |p, c| {
                let (num_classes, embedding_size) = classes_and_width("ProxyAnchorLoss", p)?;
                metric(with_reducer!(ProxyAnchorLoss::new(num_classes, embedding_size).margin(p.float("margin")).alpha(p.float("alpha")), p, c))
            },
        },
        Module {
            name: "ProxyNCALoss",
            params: PROXY_NCA,
            make: |p, c| {
                let (num_classes, embedding_size) = classes_and_width("ProxyNCALoss", p)?;
                metric(distance_and_reducer!(ProxyNCALoss::new(num_classes, embedding_size).softmax_scale(p.float("softmax_scale")), p, c))
            },
        },
        Module { name: "SoftTripleLoss", params: SOFT_TRIPLE, make: soft_triple },
        Module {
            name: "P2SGradLoss",
            params: P2S_GRAD,
            // PML's order: the width first.
            make: |p, c| {
                let descriptors_dim = p.count("P2SGradLoss", "descriptors_dim", 1)? as i64;
                let num_classes = p.count("P2SGradLoss", "num_classes", 1)? as i64;
                metric(with_reducer!(P2SGradLoss::new(descriptors_dim, num_classes), p, c))
            },
        },
        Module { name: "CrossEntropyLoss", params: &[], make: |_, _| Ok(Loss::Classifier(Box::new(CrossEntropyLoss::new()))) },
        Module { name: "MultipleLosses", params: MULTIPLE_LOSSES, make: multiple_losses },
    ],
};

/// What every metric loss takes, as PML's every loss does.
const REGULARIZED: &[Param] = &[
    param("embedding_regularizer", Kind::Regularizer, Default::Absent),
    param("embedding_reg_weight", Kind::Float, Default::Float(1.0)),
    param("weight_regularizer", Kind::Regularizer, Default::Absent),
    param("weight_reg_weight", Kind::Float, Default::Float(1.0)),
];

/// The loss plus its regularizers, where the file gives them (PML's `embedding_regularizer`
/// and `weight_regularizer` with their weights).
fn regularized(loss: Loss, p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let (embedding, weight) = (p.regularizer("embedding_regularizer", c)?, p.regularizer("weight_regularizer", c)?);
    if embedding.is_none() && weight.is_none() {
        return Ok(loss);
    }
    let Loss::Metric(loss) = loss else {
        return Err(Error::config("a classifier loss takes no regularizer (PML's regularizers go on metric losses)"));
    };
    Ok(Loss::Metric(match (embedding, weight) {
        (Some(e), Some(w)) => Box::new(loss.embedding_regularizer(e, p.float("embedding_reg_weight")).weight_regularizer(w, p.float("weight_reg_weight"))),
        (Some(e), None) => Box::new(loss.embedding_regularizer(e, p.float("embedding_reg_weight"))),
        (None, Some(w)) => Box::new(loss.weight_regularizer(w, p.float("weight_reg_weight"))),
        (None, None) => loss,
    }))
}

const MULTIPLE_LOSSES: &[Param] = &[
    param("losses", Kind::NamedLosses, Default::Required),
    param("miners", Kind::NamedMiners, Default::Absent),
    param("weights", Kind::NamedNumbers, Default::Absent),
];

/// PML's `MultipleLosses` in its dict form: `[....losses.<name>]` tables, each loss weighted by
/// `weights.<name>` (1 when not given) and mined by `[....miners.<name>]` when given.
fn multiple_losses(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let (losses, miners, weights) = (p.named("losses"), p.named("miners"), p.numbers("weights"));
    if losses.is_empty() {
        return Err(Error::config("MultipleLosses needs at least one loss under `losses`"));
    }
    let names: Vec<&str> = losses.iter().map(|(name, _)| name.as_str()).collect();
    for name in miners.iter().map(|(n, _)| n).chain(weights.iter().map(|(n, _)| n)) {
        if !names.contains(&name.as_str()) {
            return Err(Error::config(format!("MultipleLosses: `{name}` has a miner or weight but no loss; its losses are {}", names.join(", "))));
        }
    }
    let mut all = MultipleLosses::new();
    for (name, spec) in losses {
        let loss = match LOSSES.make(spec, c)? {
            Loss::Metric(loss) => loss,
            classifier @ Loss::Classifier(_) => return Err(Error::mismatch(format!("MultipleLosses' loss `{name}`"), "a metric loss (Box<dyn MetricLoss>)", classifier.word())),
        };
        let weight = weights.iter().find(|(n, _)| n == name).map_or(1.0, |(_, w)| *w);
        // Records name the parts for the life of the program (`Record::name` is `&'static str`):
        // a few bytes per part, once per run.
        let name: &'static str = Box::leak(name.clone().into_boxed_str());
        all = match miners.iter().find(|(n, _)| n == name) {
            Some((_, miner)) => all.loss_with_miner(name, weight, loss, super::miners::MINERS.make(miner, c)?),
            None => all.loss(name, weight, loss),
        };
    }
    metric(all)
}


const TRIPLET_MARGIN: &[Param] = &[
    param("margin", Kind::Float, Default::Float(0.05)),
    param("swap", Kind::Bool, Default::Bool(false)),
    param("smooth_loss", Kind::Bool, Default::Bool(false)),
    param("triplets_per_anchor", Kind::Text, Default::Text("all")),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
    param("reducer", Kind::Reducer, Default::Module("AvgNonZeroReducer()")),
];
const CONTRASTIVE: &[Param] = &[
    param("pos_margin", Kind::Float, Default::Float(0.0)),
    param("neg_margin", Kind::Float, Default::Float(1.0)),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
    param("reducer", Kind::Reducer, Default::Module("AvgNonZeroReducer()")),
];
/// PML asserts the distance is an SNRDistance; its options (`power`, ...) may still be given.
const SNR_CONTRASTIVE: &[Param] = &[
    param("pos_margin", Kind::Float, Default::Float(0.0)),
    param("neg_margin", Kind::Float, Default::Float(1.0)),
    param("distance", Kind::Distance, Default::Module("SNRDistance()")),
    param("reducer", Kind::Reducer, Default::Module("AvgNonZeroReducer()")),
];
const MULTI_SIMILARITY: &[Param] = &[
    param("alpha", Kind::Float, Default::Float(2.0)),
    param("beta", Kind::Float, Default::Float(50.0)),
    param("base", Kind::Float, Default::Float(0.5)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const NTXENT: &[Param] = &[
    param("temperature", Kind::Float, Default::Float(0.07)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const SUPCON: &[Param] = &[
    param("temperature", Kind::Float, Default::Float(0.1)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("AvgNonZeroReducer()")),
];
const CIRCLE: &[Param] = &[
    param("m", Kind::Float, Default::Float(0.4)),
    param("gamma", Kind::Float, Default::Float(80.0)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("AvgNonZeroReducer()")),
];
/// Degrees, as PML takes it (it records radians). The distance is fixed: normalised Euclidean.
const ANGULAR: &[Param] = &[param("alpha", Kind::Float, Default::Float(40.0)), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
const LIFTED_STRUCTURE: &[Param] = &[
    param("neg_margin", Kind::Float, Default::Float(1.0)),
    param("pos_margin", Kind::Float, Default::Float(0.0)),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const INTRA_PAIR_VARIANCE: &[Param] = &[
    param("pos_eps", Kind::Float, Default::Float(0.01)),
    param("neg_eps", Kind::Float, Default::Float(0.01)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// `num_classes` gives one beta per class; without it one beta serves all.
const MARGIN: &[Param] = &[
    param("margin", Kind::Float, Default::Float(0.2)),
    param("nu", Kind::Float, Default::Float(0.0)),
    param("beta", Kind::Float, Default::Float(1.2)),
    param("triplets_per_anchor", Kind::Text, Default::Text("all")),
    param("learn_beta", Kind::Bool, Default::Bool(false)),
    param("num_classes", Kind::Int, Default::Absent),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
    param("reducer", Kind::Reducer, Default::Module("DivisorReducer()")),
];
const NCA: &[Param] = &[
    param("softmax_scale", Kind::Float, Default::Float(1.0)),
    param("distance", Kind::Distance, Default::Module("LpDistance(power=2)")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const N_PAIRS: &[Param] = &[param("distance", Kind::Distance, Default::Module("DotProductSimilarity()")), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
/// Neither given: 100 bins (`delta` 0.02), as PML. Both given: they must agree, `delta = 2 / n_bins`.
const HISTOGRAM: &[Param] = &[
    param("n_bins", Kind::Int, Default::Absent),
    param("delta", Kind::Float, Default::Absent),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const DYNAMIC_SOFT_MARGIN: &[Param] = &[
    param("min_val", Kind::Float, Default::Float(-2.0)),
    param("num_bins", Kind::Int, Default::Int(10)),
    param("momentum", Kind::Float, Default::Float(0.01)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const FAST_AP: &[Param] = &[param("num_bins", Kind::Int, Default::Int(10)), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
const INSTANCE: &[Param] = &[param("gamma", Kind::Float, Default::Float(64.0)), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
/// PML's names: `l` is the embeddings' width, `K` the number of proxies, `lambdaC` the weight
/// of the context loss.
const MANIFOLD: &[Param] = &[
    param("l", Kind::Int, Default::Required),
    param("K", Kind::Int, Default::Int(50)),
    param("lambdaC", Kind::Float, Default::Float(1.0)),
    param("alpha", Kind::Float, Default::Float(0.8)),
    param("margin", Kind::Float, Default::Float(5e-4)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const PNP: &[Param] = &[
    param("b", Kind::Float, Default::Float(2.0)),
    param("alpha", Kind::Float, Default::Float(1.0)),
    param("anneal", Kind::Float, Default::Float(0.01)),
    param("variant", Kind::Text, Default::Text("O")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// PML requires `margin` and `Tn`; without `alpha` it is `1 + margin / 2`.
const RANKED_LIST: &[Param] = &[
    param("margin", Kind::Float, Default::Required),
    param("Tn", Kind::Float, Default::Required),
    param("imbalance", Kind::Float, Default::Float(0.5)),
    param("alpha", Kind::Float, Default::Absent),
    param("Tp", Kind::Float, Default::Float(0.0)),
    param("distance", Kind::Distance, Default::Module("LpDistance()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const SMOOTH_AP: &[Param] = &[param("temperature", Kind::Float, Default::Float(0.01)), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
const THRESHOLD_CONSISTENT_MARGIN: &[Param] = &[
    param("lambda_plus", Kind::Float, Default::Float(1.0)),
    param("lambda_minus", Kind::Float, Default::Float(1.0)),
    param("margin_plus", Kind::Float, Default::Float(0.9)),
    param("margin_minus", Kind::Float, Default::Float(0.5)),
];
/// The margin in degrees, as PML takes it (it records radians).
const TUPLET_MARGIN: &[Param] =
    &[param("margin", Kind::Float, Default::Float(5.73)), param("scale", Kind::Float, Default::Float(64.0)), param("reducer", Kind::Reducer, Default::Module("MeanReducer()"))];
const VICREG: &[Param] = &[
    param("invariance_lambda", Kind::Float, Default::Float(25.0)),
    param("variance_mu", Kind::Float, Default::Float(25.0)),
    param("covariance_v", Kind::Float, Default::Float(1.0)),
    param("eps", Kind::Float, Default::Float(1e-4)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// `loss` must be a metric loss; `miner`, when given, chooses the tuples against the queue.
const CROSS_BATCH_MEMORY: &[Param] = &[
    param("loss", Kind::Loss, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("memory_size", Kind::Int, Default::Int(1024)),
    param("miner", Kind::Miner, Default::Absent),
];
/// The margin in degrees, as PML takes it (it records radians).
const ARCFACE: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("margin", Kind::Float, Default::Float(28.6)),
    param("scale", Kind::Float, Default::Float(64.0)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// The margin is a cosine.
const COSFACE: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("margin", Kind::Float, Default::Float(0.35)),
    param("scale", Kind::Float, Default::Float(64.0)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const SUBCENTER_ARCFACE: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("margin", Kind::Float, Default::Float(28.6)),
    param("scale", Kind::Float, Default::Float(64.0)),
    param("sub_centers", Kind::Int, Default::Int(3)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// The margin is the angle multiplier, a whole number.
const LARGE_MARGIN_SOFTMAX: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("margin", Kind::Int, Default::Int(4)),
    param("scale", Kind::Float, Default::Float(1.0)),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const NORMALIZED_SOFTMAX: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("temperature", Kind::Float, Default::Float(0.05)),
];
/// Cosine similarity, the only distance PML's loss uses.
const PROXY_ANCHOR: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("margin", Kind::Float, Default::Float(0.1)),
    param("alpha", Kind::Float, Default::Float(32.0)),
    param("reducer", Kind::Reducer, Default::Module("DivisorReducer()")),
];
const PROXY_NCA: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("softmax_scale", Kind::Float, Default::Float(1.0)),
    param("distance", Kind::Distance, Default::Module("LpDistance(power=2)")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
/// The distance must be a similarity (PML asserts it; the loss refuses another when computing).
const SOFT_TRIPLE: &[Param] = &[
    param("num_classes", Kind::Int, Default::Required),
    param("embedding_size", Kind::Int, Default::Required),
    param("centers_per_class", Kind::Int, Default::Int(10)),
    param("la", Kind::Float, Default::Float(20.0)),
    param("gamma", Kind::Float, Default::Float(0.1)),
    param("margin", Kind::Float, Default::Float(0.01)),
    param("distance", Kind::Distance, Default::Module("CosineSimilarity()")),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];
const P2S_GRAD: &[Param] = &[
    param("descriptors_dim", Kind::Int, Default::Required),
    param("num_classes", Kind::Int, Default::Required),
    param("reducer", Kind::Reducer, Default::Module("MeanReducer()")),
];

/// PML's `TripletMarginLoss` from the file's parameters, as its concrete type: a key declared
/// `TripletMarginLoss` (DAML's `g_adv_loss`) takes it so, where other keys take the boxed loss.
pub fn triplet_margin(p: &Params, c: &Context) -> metric_learning::Result<TripletMarginLoss> {
    let loss = TripletMarginLoss::new()
        .margin(p.float("margin"))
        .swap(p.bool("swap"))
        .smooth_loss(p.bool("smooth_loss"))
        .triplets_per_anchor(triplets_per_anchor("TripletMarginLoss", p)?);
    Ok(distance_and_reducer!(loss, p, c))
}

/// PML's `triplets_per_anchor`: `"all"`, or how many random triplets per anchor. A file gives
/// the count as text too (`"5"`), so that one parameter takes both.
fn triplets_per_anchor(module: &str, p: &Params) -> metric_learning::Result<TripletsPerAnchor> {
    match p.text("triplets_per_anchor") {
        "all" => Ok(TripletsPerAnchor::All),
        count => match count.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(TripletsPerAnchor::Count(n)),
            _ => Err(Error::mismatch(format!("{module}'s triplets_per_anchor"), "\"all\" or a whole number of at least 1 (\"5\")", format!("{count:?}"))),
        },
    }
}

/// `num_classes` and `embedding_size`, each at least 1.
fn classes_and_width(module: &str, p: &Params) -> metric_learning::Result<(i64, i64)> {
    Ok((p.count(module, "num_classes", 1)? as i64, p.count(module, "embedding_size", 1)? as i64))
}

/// The value a loss records under `name`, to tell whether a setter would change anything.
fn recorded(loss: &impl Component, name: &str) -> Option<f64> {
    loss.records().into_iter().find(|r| r.name == name).map(|r| r.value)
}

fn margin(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let num_classes = if p.has("num_classes") { Some(p.count("MarginLoss", "num_classes", 1)? as i64) } else { None };
    let loss = MarginLoss::new()
        .margin(p.float("margin"))
        .nu(p.float("nu"))
        .beta(p.float("beta"), num_classes)
        .learn_beta(p.bool("learn_beta"))
        .triplets_per_anchor(triplets_per_anchor("MarginLoss", p)?);
    metric(distance_and_reducer!(loss, p, c))
}

fn histogram(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let n_bins = if p.has("n_bins") { Some(p.count("HistogramLoss", "n_bins", 1)? as i64) } else { None };
    let delta = p.has("delta").then(|| p.float("delta"));
    let loss = match (n_bins, delta) {
        (None, None) => HistogramLoss::new(),
        (Some(n), None) => HistogramLoss::new().n_bins(n),
        (None, Some(delta)) => HistogramLoss::new().delta(delta),
        // PML asserts exactly this equality.
        (Some(n), Some(delta)) if delta == 2.0 / n as f64 => HistogramLoss::new().delta(delta),
        (Some(n), Some(delta)) => return Err(Error::mismatch("HistogramLoss's delta", format!("2 / n_bins = {} (or leave one of them out)", 2.0 / n as f64), delta.to_string())),
    };
    metric(distance_and_reducer!(loss, p, c))
}

fn manifold(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let num_proxies = p.count("ManifoldLoss", "K", 1)? as i64;
    let mut loss = ManifoldLoss::new(p.count("ManifoldLoss", "l", 1)? as i64).lambda_c(p.float("lambdaC"))?.alpha(p.float("alpha")).margin(p.float("margin"));
    // The setter draws new proxies: only when their number changes.
    if recorded(&loss, "K") != Some(num_proxies as f64) {
        loss = loss.num_proxies(num_proxies);
    }
    metric(distance_and_reducer!(loss, p, c))
}

fn pnp(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let variant = match p.text("variant") {
        "Ds" => PnpVariant::Ds,
        "Dq" => PnpVariant::Dq,
        "Iu" => PnpVariant::Iu,
        "Ib" => PnpVariant::Ib,
        "O" => PnpVariant::O,
        other => return Err(Error::mismatch("PNPLoss's variant", "\"Ds\", \"Dq\", \"Iu\", \"Ib\" or \"O\"", format!("{other:?}"))),
    };
    let loss = PNPLoss::new().b(p.float("b")).alpha(p.float("alpha")).anneal(p.float("anneal")).variant(variant);
    metric(with_reducer!(loss, p, c))
}

fn ranked_list(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let mut loss = RankedListLoss::new(p.float("margin"), p.float("Tn")).imbalance(p.float("imbalance"))?.tp(p.float("Tp"));
    if p.has("alpha") {
        loss = loss.alpha(p.float("alpha"));
    }
    metric(distance_and_reducer!(loss, p, c))
}

/// Wraps the file's `loss` (a metric loss) with a queue of past embeddings. PML refuses some
/// losses inside it (those with learned class weights, FastAPLoss, ...); the runtime refuses
/// them only when it knows the loss's concrete type, and a loss from a file is boxed: here any
/// metric loss is wrapped, and one that takes no reference embeddings fails when first computed.
fn cross_batch_memory(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let embedding_size = p.count("CrossBatchMemory", "embedding_size", 1)? as i64;
    let memory_size = p.count("CrossBatchMemory", "memory_size", 1)? as i64;
    let loss = match p.loss("loss", c)? {
        Some(Loss::Metric(loss)) => loss,
        Some(classifier @ Loss::Classifier(_)) => return Err(Error::mismatch("CrossBatchMemory's loss", "a metric loss (Box<dyn MetricLoss>)", classifier.word())),
        None => return Err(Error::config("CrossBatchMemory needs `loss`, a table naming a metric loss (type = \"ContrastiveLoss\", ...)")),
    };
    // `new` cannot see the boxed loss's type: the file's name for it says it.
    if let Some(name) = p.module_name("loss").filter(|name| !CrossBatchMemory::supports(name)) {
        return Err(Error::config(format!("CrossBatchMemory cannot wrap {name} (PML's CrossBatchMemory supports its pair and triplet losses only)")));
    }
    let mut memory = CrossBatchMemory::new(loss, embedding_size)?.memory_size(memory_size);
    if let Some(miner) = p.miner("miner", c)? {
        memory = memory.miner(miner);
    }
    metric(memory)
}

/// L-Softmax and SphereFace: the same parameters, another constructor.
fn large_margin_softmax(module: &str, new: fn(i64, i64) -> LargeMarginSoftmaxLoss, p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let (num_classes, embedding_size) = classes_and_width(module, p)?;
    let loss = new(num_classes, embedding_size).margin(p.count(module, "margin", 1)? as i64).scale(p.float("scale"));
    metric(with_reducer!(loss, p, c))
}

fn soft_triple(p: &Params, c: &Context) -> metric_learning::Result<Loss> {
    let (num_classes, embedding_size) = classes_and_width("SoftTripleLoss", p)?;
    let centers_per_class = p.count("SoftTripleLoss", "centers_per_class", 1)? as i64;
    let mut loss = SoftTripleLoss::new(num_classes, embedding_size).la(p.float("la")).gamma(p.float("gamma")).margin(p.float("margin"));
    // The setter draws new centers: only when their number changes.
    if recorded(&loss, "centers_per_class") != Some(centers_per_class as f64) {
        loss = loss.centers_per_class(centers_per_class);
    }
    metric(distance_and_reducer!(loss, p, c))
}

/// The checks both families' tests share: the registry's defaults against what the library's
/// own modules record (PML's recorded attributes), so that neither can drift from the other.
#[cfg(test)]
pub(super) mod tests {
    use super::super::{Spec, Value};
    use super::*;
    use std::collections::HashSet;

    /// The values the tests give the required parameters, and the library's constructors too.
    pub(crate) const NUM_CLASSES: i64 = 10;
    pub(crate) const WIDTH: i64 = 8;
    const RANKED_LIST_MARGIN: f64 = 0.4;
    const RANKED_LIST_TN: f64 = 10.0;

    /// A value for a parameter the file must give; a new required parameter must be added here.
    fn required(module: &str, param: &Param) -> Value {
        match (param.name, param.kind) {
            ("num_classes", Kind::Int) => Value::Int(NUM_CLASSES),
            ("embedding_size" | "l" | "descriptors_dim", Kind::Int) => Value::Int(WIDTH),
            // RankedListLoss's.
            ("margin", Kind::Float) => Value::Float(RANKED_LIST_MARGIN),
            ("Tn", Kind::Float) => Value::Float(RANKED_LIST_TN),
            // CrossBatchMemory's.
            ("loss", Kind::Loss) => nested("ContrastiveLoss"),
            // MultipleLosses'.
            ("losses", Kind::NamedLosses) => match nested("ContrastiveLoss") {
                Value::Module(spec) => Value::Named(vec![("contrastive".to_string(), *spec)]),
                _ => unreachable!("nested makes a module"),
            },
            (name, _) => panic!("{module}: no test value for its required `{name}`"),
        }
    }

    /// A loss table naming `name`, with its defaults.
    fn nested(name: &'static str) -> Value {
        let module = LOSSES.find(name).expect("a loss of the registry");
        Value::Module(Box::new(Spec { type_name: module.name, type_span: None, params: Params::default().with_defaults(module.params) }))
    }

    /// Only the required parameters, given, and the defaults.
    pub(crate) fn minimal<T>(module: &Module<T>) -> Params {
        let mut params = Params::default();
        for p in module.params.iter().filter(|p| matches!(p.default, Default::Required)) {
            params.set(p.name, required(module.name, p));
        }
        params.with_defaults(module.params)
    }

    /// The library's own loss of that name, from its constructor alone (no setter): what the
    /// library does with every parameter the constructor does not take. A loss added to the
    /// registry must be added here.
    fn library_loss(name: &str) -> Box<dyn Component> {
        let (classes, width) = (NUM_CLASSES, WIDTH);
        match name {
            "TripletMarginLoss" => Box::new(TripletMarginLoss::new()),
            "ContrastiveLoss" => Box::new(ContrastiveLoss::new()),
            "SignalToNoiseRatioContrastiveLoss" => Box::new(SignalToNoiseRatioContrastiveLoss::new()),
            "MultiSimilarityLoss" => Box::new(MultiSimilarityLoss::new()),
            "NTXentLoss" => Box::new(NTXentLoss::default()),
            "SupConLoss" => Box::new(SupConLoss::default()),
            "CircleLoss" => Box::new(CircleLoss::new()),
            "AngularLoss" => Box::new(AngularLoss::new()),
            "LiftedStructureLoss" => Box::new(LiftedStructureLoss::new()),
            "GeneralizedLiftedStructureLoss" => Box::new(GeneralizedLiftedStructureLoss::new()),
            "IntraPairVarianceLoss" => Box::new(IntraPairVarianceLoss::new()),
            "MarginLoss" => Box::new(MarginLoss::new()),
            "NCALoss" => Box::new(NCALoss::new()),
            "NPairsLoss" => Box::new(NPairsLoss::new()),
            "HistogramLoss" => Box::new(HistogramLoss::new()),
            "DynamicSoftMarginLoss" => Box::new(DynamicSoftMarginLoss::new()),
            "FastAPLoss" => Box::new(FastAPLoss::default()),
            "InstanceLoss" => Box::new(InstanceLoss::new()),
            "ManifoldLoss" => Box::new(ManifoldLoss::new(width)),
            "PNPLoss" => Box::new(PNPLoss::new()),
            "RankedListLoss" => Box::new(RankedListLoss::new(RANKED_LIST_MARGIN, RANKED_LIST_TN)),
            "SmoothAPLoss" => Box::new(SmoothAPLoss::new()),
            "ThresholdConsistentMarginLoss" => Box::new(ThresholdConsistentMarginLoss::new()),
            "TupletMarginLoss" => Box::new(TupletMarginLoss::new()),
            "VICRegLoss" => Box::new(VICRegLoss::new()),
            "CrossBatchMemory" => Box::new(CrossBatchMemory::new(ContrastiveLoss::new(), width).expect("ContrastiveLoss is supported")),
            "ArcFaceLoss" => Box::new(ArcFaceLoss::new(classes, width)),
            "CosFaceLoss" => Box::new(CosFaceLoss::new(classes, width)),
            "SubCenterArcFaceLoss" => Box::new(SubCenterArcFaceLoss::new(classes, width)),
            "LargeMarginSoftmaxLoss" => Box::new(LargeMarginSoftmaxLoss::new(classes, width)),
            "SphereFaceLoss" => Box::new(SphereFaceLoss::new(classes, width)),
            "NormalizedSoftmaxLoss" => Box::new(NormalizedSoftmaxLoss::new(classes, width)),
            "ProxyAnchorLoss" => Box::new(ProxyAnchorLoss::new(classes, width)),
            "ProxyNCALoss" => Box::new(ProxyNCALoss::new(classes, width)),
            "SoftTripleLoss" => Box::new(SoftTripleLoss::new(classes, width)),
            "P2SGradLoss" => Box::new(P2SGradLoss::new(width, classes)),
            "CrossEntropyLoss" => Box::new(CrossEntropyLoss::new()),
            "MultipleLosses" => Box::new(MultipleLosses::new().loss("contrastive", 1.0, ContrastiveLoss::new())),
            other => panic!("{other}: no library constructor in the test; add it to `library_loss`"),
        }
    }

    /// A parameter PML records transformed: the module, the parameter, and the transformation.
    pub(crate) type RecordedAs = (&'static str, &'static str, fn(f64) -> f64);

    /// The drift check: every module makes with only its required parameters, and
    /// - every default the registry gives as a number (bools as 0 or 1) is what the library's
    ///   own module, made by its constructor alone, records under that name (`recorded_as`
    ///   names the parameters PML records transformed: an angle given in degrees, kept in
    ///   radians);
    /// - the module the registry makes from its defaults records exactly what the library's
    ///   own does (so a setter given the wrong parameter, or a default distance or reducer
    ///   that differs, shows too).
    ///
    /// The module the registry makes is not the reference: it records the registry's defaults
    /// back, whatever they are.
    pub(crate) fn defaults_are_the_library_s<T>(family: &Family<T>, records: fn(&T) -> Vec<Record>, library: fn(&str) -> Box<dyn Component>, recorded_as: &[RecordedAs]) {
        let mut checked = 0;
        for module in family.modules {
            let made = (module.make)(&minimal(module), &Context::EMPTY).unwrap_or_else(|e| panic!("{}: cannot be made with its defaults: {e}", module.name));
            let own = library(module.name).records();
            for param in module.params {
                let default = match param.default {
                    Default::Float(v) => v,
                    Default::Int(v) => v as f64,
                    Default::Bool(b) => f64::from(u8::from(b)),
                    _ => continue,
                };
                let Some(record) = own.iter().find(|r| r.name == param.name) else { continue };
                let expected = recorded_as.iter().find(|(m, p, _)| *m == module.name && *p == param.name).map_or(default, |(_, _, f)| f(default));
                assert!(
                    (record.value - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                    "{}: the registry's default {} = {} but the library's is recorded as {} (the default would record {expected})",
                    module.name,
                    param.name,
                    param.default.describe(),
                    record.value
                );
                checked += 1;
            }
            assert_eq!(records(&made), own, "{}: made from the registry's defaults, it records otherwise than the library's own", module.name);
        }
        assert!(checked > 0, "no default of the {}s was checked", family.word);
    }

    /// Every module's names are unique, and so are its parameters'.
    pub(crate) fn names_are_unique<T>(family: &Family<T>) {
        let mut names = HashSet::new();
        for module in family.modules {
            assert!(names.insert(module.name), "two {}s named {}", family.word, module.name);
            let mut params = HashSet::new();
            for p in module.params {
                assert!(params.insert(p.name), "{}: two parameters named {}", module.name, p.name);
            }
        }
    }

    /// A misspelt text parameter (an enum's value) is a mismatch, not a silent default.
    pub(crate) fn misspelt_text_is_refused<T>(family: &Family<T>) {
        for module in family.modules {
            for p in module.params.iter().filter(|p| p.kind == Kind::Text) {
                let mut params = minimal(module);
                params.set(p.name, Value::Text("no such value".into()));
                match (module.make)(&params, &Context::EMPTY) {
                    Err(Error::Mismatch { key, expected, .. }) => assert!(key.contains(p.name) && !expected.is_empty(), "{}: {key}: {expected}", module.name),
                    Err(other) => panic!("{}: a misspelt {} is {other}, not a mismatch", module.name, p.name),
                    Ok(_) => panic!("{}: a misspelt {} was taken", module.name, p.name),
                }
            }
        }
    }

    fn loss_records(loss: &Loss) -> Vec<Record> {
        match loss {
            Loss::Metric(loss) => loss.records(),
            Loss::Classifier(loss) => loss.records(),
        }
    }

    #[test]
    fn every_default_is_the_library_s() {
        let radians: fn(f64) -> f64 = f64::to_radians;
        let inverse: fn(f64) -> f64 = |v| 1.0 / v;
        let single: fn(f64) -> f64 = |v| f64::from(v as f32);
        defaults_are_the_library_s(
            &LOSSES,
            loss_records,
            library_loss,
            &[
                ("AngularLoss", "alpha", radians),
                ("ArcFaceLoss", "margin", radians),
                ("SubCenterArcFaceLoss", "margin", radians),
                ("TupletMarginLoss", "margin", radians),
                // PML keeps (and records) SoftTriple's gamma as its inverse.
                ("SoftTripleLoss", "gamma", inverse),
                // MarginLoss keeps beta in a (float32) parameter, learned or not.
                ("MarginLoss", "beta", single),
            ],
        );
    }

    #[test]
    fn names_are_unique_and_misspellings_refused() {
        names_are_unique(&LOSSES);
        misspelt_text_is_refused(&LOSSES);
    }

    #[test]
    fn learned_losses_are_shaped_by_the_file() {
        let module = LOSSES.find("SoftTripleLoss").unwrap();
        let mut params = minimal(module);
        params.set("centers_per_class", Value::Int(4));
        let made = (module.make)(&params, &Context::EMPTY).unwrap();
        let records = loss_records(&made);
        let value = |name: &str| records.iter().find(|r| r.name == name).map(|r| r.value);
        assert_eq!((value("centers_per_class"), value("num_classes"), value("embedding_size")), (Some(4.0), Some(10.0), Some(8.0)));
        let Loss::Metric(loss) = made else { panic!("SoftTripleLoss is a metric loss") };
        assert_eq!(loss.class_weights().map(|w| w.size()), Some(vec![40, 8]));
    }

    #[test]
    fn cross_batch_memory_takes_a_metric_loss_and_a_miner() {
        let module = LOSSES.find("CrossBatchMemory").unwrap();
        let mut params = minimal(module);
        params.set("loss", nested("CrossEntropyLoss"));
        assert!(matches!((module.make)(&params, &Context::EMPTY), Err(Error::Mismatch { .. })), "a classifier loss was wrapped");
        let mut params = minimal(module);
        params.set("loss", nested("FastAPLoss"));
        let refused = (module.make)(&params, &Context::EMPTY).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("CrossBatchMemory cannot wrap FastAPLoss"), "{refused}");
        let mut params = minimal(module);
        let miner = super::super::miners::MINERS.find("MultiSimilarityMiner").unwrap();
        params.set("miner", Value::Module(Box::new(Spec { type_name: miner.name, type_span: None, params: Params::default().with_defaults(miner.params) })));
        params.set("memory_size", Value::Int(16));
        let made = (module.make)(&params, &Context::EMPTY).unwrap();
        let records = loss_records(&made);
        // The queue's, the inner loss's and the miner's records.
        for (name, value) in [("memory_size", 16.0), ("embedding_size", 8.0), ("neg_margin", 1.0), ("epsilon", 0.1)] {
            assert_eq!(records.iter().find(|r| r.name == name).map(|r| r.value), Some(value), "{name}");
        }
    }

    #[test]
    fn histogram_bins_and_width_must_agree() {
        let module = LOSSES.find("HistogramLoss").unwrap();
        let make = |n_bins: Option<i64>, delta: Option<f64>| {
            let mut params = minimal(module);
            if let Some(n) = n_bins {
                params.set("n_bins", Value::Int(n));
            }
            if let Some(d) = delta {
                params.set("delta", Value::Float(d));
            }
            (module.make)(&params, &Context::EMPTY).map(|loss| loss_records(&loss).into_iter().find(|r| r.name == "delta").map(|r| r.value))
        };
        assert_eq!(make(None, None).unwrap(), Some(0.02));
        assert_eq!(make(Some(50), None).unwrap(), Some(0.04));
        assert_eq!(make(Some(50), Some(0.04)).unwrap(), Some(0.04));
        assert!(make(Some(50), Some(0.02)).is_err());
    }

    #[test]
    fn regularizers_wrap_metric_losses_and_refuse_classifier_ones() {
        let lp = || {
            let module = super::super::regularizers::REGULARIZERS.find("LpRegularizer").unwrap();
            Value::Module(Box::new(Spec { type_name: module.name, type_span: None, params: Params::default().with_defaults(module.params) }))
        };
        let contrastive = LOSSES.find("ContrastiveLoss").unwrap();
        let mut params = minimal(contrastive).with_defaults(REGULARIZED);
        params.set("embedding_regularizer", lp());
        params.set("embedding_reg_weight", Value::Float(0.25));
        let spec = Spec { type_name: contrastive.name, type_span: None, params };
        let made = LOSSES.make(&spec, &Context::EMPTY).unwrap();
        let records = loss_records(&made);
        assert_eq!(records.iter().find(|r| r.name == "embedding_reg_weight").map(|r| r.value), Some(0.25), "{records:?}");
        assert!(records.iter().any(|r| r.name == "neg_margin"), "the loss's own records stay: {records:?}");
        let mut params = Params::default().with_defaults(REGULARIZED);
        params.set("weight_regularizer", lp());
        let spec = Spec { type_name: "CrossEntropyLoss", type_span: None, params };
        let refused = LOSSES.make(&spec, &Context::EMPTY).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("a classifier loss takes no regularizer"), "{refused}");
    }
}
