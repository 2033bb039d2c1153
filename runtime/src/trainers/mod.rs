//! PML's trainers, each declared with `#[trainer]` and written as its step alone. Each module
//! also holds what the declaration generated (builder, key enums, loss record), re-exported here.

mod cascaded_embeddings;
mod deep_adversarial_metric_learning;
mod metric_loss_only;
mod train_with_classifier;
mod two_stream_metric_loss;
mod unsupervised_embeddings_using_augmentations;

pub use cascaded_embeddings::*;
pub use deep_adversarial_metric_learning::*;
pub use metric_loss_only::*;
pub use train_with_classifier::*;
pub use two_stream_metric_loss::*;
pub use unsupervised_embeddings_using_augmentations::*;
