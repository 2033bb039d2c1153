//! Scoring embeddings by retrieval and clustering: PML's [`AccuracyCalculator`] (NMI and AMI
//! of a seeded k-means of the query; precision@1, R-precision, MAP@R, MAP, MRR; separate query
//! and reference sets; per-class and class-averaged results) on an exact k-NN computed in
//! blocks, so that memory stays linear in the number of embeddings; and [`knn_scores`], the two numbers the examples print.

mod accuracy_calculator;
mod clustering;
mod index;
mod knn;
mod labels;
mod metrics;
mod pca;
pub(crate) mod plot;
mod scores;
mod select;
mod testers;

pub use accuracy_calculator::{Accuracies, AccuracyCalculator, KnnDistance, LabelComparison, Metric, Score, K};
pub use clustering::{adjusted_mutual_info, normalized_mutual_info};
pub use index::{Matches, NearestNeighbourIndex};
pub use knn::Blocks;
pub use pca::Pca;
pub use plot::save_embedding_plot;
pub use scores::{knn_scores, KnnScores};
pub use testers::{
    EmbeddingModel, GlobalEmbeddingSpace, GlobalEmbeddingSpaceTester, GlobalTwoStreamEmbeddingSpace, GlobalTwoStreamEmbeddingSpaceTester,
    LabelLevels, LevelAccuracies, ReferenceSet, Scoring, SplitAccuracies, SplitEmbeddings, Streams, TestResults, Tester, TesterKind,
    WithSameParentLabel, WithSameParentLabelTester,
};
