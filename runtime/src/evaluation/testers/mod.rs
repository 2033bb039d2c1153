//! PML's testers: embed named splits of data with a trainer's models, then score each query
//! split against its reference splits with the [`AccuracyCalculator`](super::AccuracyCalculator).
//!
//! - [`GlobalEmbeddingSpaceTester`]: the query against the reference splits combined.
//! - [`WithSameParentLabelTester`]: for hierarchical labels, each level scored within each
//!   parent class of the level above, averaged over parents.
//! - [`GlobalTwoStreamEmbeddingSpaceTester`]: two-stream data (anchor and positive stacked on
//!   dimension 1, as TwoStreamMetricLoss trains on), anchors queried against the second stream.
//!
//! ```no_run
//! # use metric_learning::prelude::*;
//! # use metric_learning::evaluation::{GlobalEmbeddingSpaceTester, ReferenceSet};
//! # fn run<T: Step>(trainer: &mut Trainer<T>, train: &InMemoryDataset, val: &InMemoryDataset) -> metric_learning::Result<()> {
//! let tester = GlobalEmbeddingSpaceTester::new().batch_size(256).reference_set(ReferenceSet::CompareToSelf);
//! let results = tester.test(trainer, &[("train", train), ("val", val)], 1)?;
//! println!("{results}");
//! let p1 = results.get("val", "precision_at_1_level0");
//! # Ok(()) }
//! ```

mod embedding;
mod kinds;
mod results;
mod settings;
mod splits;

pub use embedding::EmbeddingModel;
pub use kinds::{GlobalEmbeddingSpace, GlobalTwoStreamEmbeddingSpace, Scoring, TesterKind, WithSameParentLabel};
pub use results::{LevelAccuracies, SplitAccuracies, TestResults};
pub use settings::{LabelLevels, ReferenceSet, Tester};
pub use splits::{SplitEmbeddings, Streams};

/// PML's `GlobalEmbeddingSpaceTester`.
pub type GlobalEmbeddingSpaceTester = Tester<GlobalEmbeddingSpace>;
/// PML's `WithSameParentLabelTester`.
pub type WithSameParentLabelTester = Tester<WithSameParentLabel>;
/// PML's `GlobalTwoStreamEmbeddingSpaceTester`.
pub type GlobalTwoStreamEmbeddingSpaceTester = Tester<GlobalTwoStreamEmbeddingSpace>;
