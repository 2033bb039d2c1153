//! PML's trainers, each declared with `#[trainer]` and written as its step alone.

mod metric_loss_only;
mod train_with_classifier;

pub use metric_loss_only::{MetricLossOnly, MetricLossOnlyBuilder, MetricLossOnlyKey, MetricLossOnlyLoss, MetricLossOnlyLosses};
pub use train_with_classifier::{
    TrainWithClassifier, TrainWithClassifierBuilder, TrainWithClassifierKey, TrainWithClassifierLoss, TrainWithClassifierLosses,
};
