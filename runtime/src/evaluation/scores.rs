//! The three numbers the examples and tests print: precision@1, R-precision and MAP@R of a set
//! against itself, computed by the [`AccuracyCalculator`].

use super::accuracy_calculator::{AccuracyCalculator, Metric, K};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Retrieval scores of a set of embeddings against itself, leaving each query out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnnScores {
    /// The fraction of queries whose nearest neighbour has their label.
    pub precision_at_1: f64,
    /// The fraction of matches among the first R neighbours, R being the number of other
    /// samples with the query's label.
    pub r_precision: f64,
    /// Mean average precision at R, R being the number of other samples with the query's label
    /// (Musgrave et al., "A Metric Learning Reality Check").
    pub map_at_r: f64,
}

/// Scores `embeddings` (one row per sample) by exact Euclidean k-NN among themselves, as PML's
/// `AccuracyCalculator` does with `k="max_bin_count"` and the query left out. Memory is linear
/// in the number of samples (the k-NN runs in blocks). Queries alone in their class are left
/// out, as PML does; if every query is, both scores are NaN.
///
/// # Errors
/// When the embeddings are not 2-D or do not match the labels in number, or hold NaN or
/// infinite values.
pub fn knn_scores(embeddings: &Tensor, labels: &[i64]) -> Result<KnnScores> {
    let size = embeddings.size();
    if size.len() != 2 || size[0] != labels.len() as i64 {
        return Err(Error::data(format!(
            "knn_scores: expected embeddings of shape ({}, width), found {size:?}",
            labels.len()
        )));
    }
    let labels = Tensor::from_slice(labels).to_device(embeddings.device());
    let embeddings = if embeddings.kind() == Kind::Double { embeddings.shallow_clone() } else { embeddings.f_to_kind(Kind::Float)? };
    let accuracies = AccuracyCalculator::new()
        .include([Metric::PrecisionAt1, Metric::RPrecision, Metric::MeanAveragePrecisionAtR])
        .k(K::MaxBinCount)
        .get_accuracy(&embeddings, &labels)?;
    let get = |m| accuracies.get(m).unwrap_or(f64::NAN);
    Ok(KnnScores {
        precision_at_1: get(Metric::PrecisionAt1),
        r_precision: get(Metric::RPrecision),
        map_at_r: get(Metric::MeanAveragePrecisionAtR),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_map_at_r() {
        // Points on a line; class 0 = {0, 1, 10}, class 1 = {2, 11}.
        let points = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 10.0, 11.0]).unsqueeze(1);
        let labels = [0, 0, 1, 0, 1];
        let scores = knn_scores(&points, &labels).unwrap();
        // Nearest neighbours: 0->1 (hit), 1->0 or 2 (tie broken to 0, hit), 2->1 (miss), 10->11 (miss), 11->10 (miss).
        // AP@R: q0 R=2 [1(h), 2(m)] = 1/2; q1 R=2 [0(h), 2(m)] = 1/2; q2 R=1 [1(m)] = 0;
        // q10 R=2 [11(m), 2(m)] = 0; q11 R=1 [10(m)] = 0.
        assert!((scores.map_at_r - 0.2).abs() < 1e-9, "{scores:?}");
        assert!((scores.precision_at_1 - 0.4).abs() < 1e-9, "{scores:?}");
        // R-precision: q0 1/2, q1 1/2, q2 0, q10 0, q11 0.
        assert!((scores.r_precision - 0.2).abs() < 1e-9, "{scores:?}");
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        let message = knn_scores(&Tensor::zeros([3, 2], (Kind::Float, tch::Device::Cpu)), &[0, 1]).unwrap_err().to_string();
        assert!(message.contains("expected embeddings of shape (2, width), found [3, 2]"), "{message}");
    }
}
