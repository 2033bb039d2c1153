//! Metric learning on libtorch, in the manner of pytorch-metric-learning (PML): a trainer is a
//! struct whose fields are its keys (models, losses, miners, hyper-parameters), declared with
//! [`trainer`](macro@trainer); the macro generates a type-checked builder, so that a forgotten
//! key is a compile error rather than a `KeyError` an hour into a run.
//!
//! ```no_run
//! use metric_learning::prelude::*;
//! # fn main() -> metric_learning::Result<()> {
//! let train = FashionMnist::load(Split::Train)?;
//! let labels = train.all_labels().int_column(0).unwrap_or_default();
//! let mut trainer = MetricLossOnly::builder()
//!     .trunk(Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc", 784, 64, Default::default()))))
//!     .metric_loss(TripletMarginLoss::new().margin(0.1))
//!     .tuple_miner(MultiSimilarityMiner::new(0.1))
//!     .trunk_optimizer(Adam::new(1e-3))
//!     .sampler(MPerClassSampler::new(&labels, 8).length_before_new_iter(train.len()))
//!     .dataset(train)
//!     .batch_size(128)
//!     .build()?;
//! trainer.train(2)?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

// The macro's output names `::metric_learning`; this makes that path resolve inside this crate
// too, where the stock trainers are declared.
extern crate self as metric_learning;

pub mod builder;
pub mod checkpoint;
pub mod component;
pub mod data;
pub mod declared;
pub mod distances;
#[cfg(feature = "distributed")]
pub mod distributed;
pub mod engine;
mod error;
pub(crate) mod files;
pub mod evaluation;
mod guard;
pub mod hooks;
pub mod indices;
pub mod losses;
pub mod miners;
mod model;
pub mod optim;
pub mod precision;
pub mod reducers;
pub mod regularizers;
pub mod samplers;
mod seeds;
pub mod trainer;
pub mod trainers;
pub mod transforms;

pub use engine::Iteration;
pub use error::{Error, Result, When};
pub use metric_learning_macros::trainer;
pub use model::Model;
pub use tch;
pub use trainer::Step;

/// The names most programs need: the trainers, every loss, miner, distance, reducer,
/// optimizer, scheduler and sampler, the data types, and what a hand-written step uses.
pub mod prelude {
    pub use crate::component::{Component, Record};
    pub use crate::data::{Dataset, FashionMnist, InMemoryDataset, Labels, Split};
    pub use crate::distances::{BatchedDistance, CosineSimilarity, Distance, DotProductSimilarity, LpDistance, NegativeLpDistance, SnrDistance};
    pub use crate::engine::{Iteration, Phase, Trainer};
    pub use crate::evaluation::{knn_scores, KnnScores};
    pub use crate::indices::Tuples;
    pub use crate::losses::{
        AngularLoss, ArcFaceLoss, CircleLoss, ClassifierLoss, ContrastiveLoss, CosFaceLoss, CrossBatchMemory, CrossEntropyLoss,
        DynamicSoftMarginLoss, FastAPLoss, GeneralizedLiftedStructureLoss, HistogramLoss, InstanceLoss, IntraPairVarianceLoss,
        LargeMarginSoftmaxLoss, LiftedStructureLoss, ManifoldLoss, MarginLoss, MetricLoss, MultiSimilarityLoss, MultipleLosses,
        NCALoss, NPairsLoss, NTXentLoss, NormalizedSoftmaxLoss, P2SGradLoss, PNPLoss, PnpVariant, ProxyAnchorLoss,
        ProxyNCALoss, RankedListLoss, Reference, SelfSupervisedLoss, SignalToNoiseRatioContrastiveLoss, SmoothAPLoss,
        SoftTripleLoss, SphereFaceLoss, SubCenterArcFaceLoss, SubCenterOutliers, SupConLoss, ThresholdConsistentMarginLoss,
        TripletMarginLoss, TripletsPerAnchor, TupletMarginLoss, VICRegLoss,
    };
    pub use crate::miners::{
        AngularMiner, BatchEasyHardMiner, BatchHardMiner, DistanceWeightedMiner, EmbeddingsAlreadyPackagedAsTriplets, HdcMiner,
        MaximumLossMiner, MultiSimilarityMiner, OptionalMiner, PairMarginMiner, Strategy, SubsetBatchMiner, TripletMarginMiner,
        TripletType, TupleMiner, UniformHistogramMiner,
    };
    pub use crate::optim::{
        Adam, AdamW, ClipGradNorm, ClipGradValue, CosineAnnealingLr, ExponentialLr, GradClipper, LinearLr, LrScheduler,
        MultiStepLr, Optimizer, PlateauMode, ReduceLrOnPlateau, Sgd, StepLr,
    };
    pub use crate::reducers::{
        AvgNonZeroReducer, ClassWeightedReducer, DivisorReducer, DoNothingReducer, MeanReducer, MultipleReducers, PerAnchorReducer,
        Reducer, SumReducer, ThresholdReducer,
    };
    pub use crate::regularizers::{
        CenterInvariantRegularizer, LpRegularizer, RegularFaceRegularizer, Regularizer, SparseCentersRegularizer, WithRegularizers,
        ZeroMeanRegularizer,
    };
    pub use crate::samplers::{FixedSetOfTriplets, HierarchicalSampler, MPerClassSampler, RandomSampler, Sampler, SequentialSampler, TuplesToWeightsSampler};
    pub use crate::trainer::{InlineLoss, Step};
    pub use crate::trainers::{
        CascadedEmbeddings, DeepAdversarialMetricLearning, MetricLossOnly, TrainWithClassifier, TwoStreamMetricLoss,
        UnsupervisedEmbeddingsUsingAugmentations,
    };
    pub use crate::{trainer, Error, Model, Result, When};
    pub use tch::{self, nn, Device, Kind, Tensor};
}
