//! Scoring embeddings by retrieval. The full accuracy calculator (R-precision, MAP, MRR, NMI,
//! AMI, separate query and reference sets) is its own issue; this is the exact k-NN scorer the
//! demo and the tests need.

mod knn;

pub use knn::{knn_scores, KnnScores};
