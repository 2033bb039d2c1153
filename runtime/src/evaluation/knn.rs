use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Retrieval scores of a set of embeddings against itself, leaving each query out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnnScores {
    /// The fraction of queries whose nearest neighbour has their label.
    pub precision_at_1: f64,
    /// Mean average precision at R, R being the number of other samples with the query's label
    /// (Musgrave et al., "A Metric Learning Reality Check").
    pub map_at_r: f64,
}

/// Queries scored per block, so that memory grows with the data set, not with its square.
const QUERY_BLOCK: i64 = 1024;

/// Scores `embeddings` (one row per sample) by exact Euclidean k-NN among themselves, as PML's
/// `AccuracyCalculator` does with its default k ("max bin count") and the query left out.
///
/// # Errors
/// When the embeddings are not 2-D or do not match the labels in number.
pub fn knn_scores(embeddings: &Tensor, labels: &[i64]) -> Result<KnnScores> {
    let size = embeddings.size();
    if size.len() != 2 || size[0] != labels.len() as i64 {
        return Err(Error::data(format!(
            "knn_scores: expected embeddings of shape ({}, width), found {size:?}",
            labels.len()
        )));
    }
    let n = size[0];
    if n < 2 {
        return Err(Error::data(format!("knn_scores: needs at least 2 embeddings, found {n}")));
    }
    tch::no_grad(|| {
        let x = embeddings.to_kind(Kind::Float);
        let y = Tensor::from_slice(labels).to_device(x.device());
        let class_sizes = y.unsqueeze(1).eq_tensor(&y.unsqueeze(0)).sum_dim_intlist(1i64, false, Kind::Int64);
        let relevant = &class_sizes - 1;
        let k = (relevant.max().int64_value(&[])).clamp(1, n - 1);
        let squared_norms = x.square().sum_dim_intlist(1i64, false, Kind::Float);
        let positions = Tensor::arange_start(1, k + 1, (Kind::Float, x.device()));
        let (mut hits_at_1, mut map_sum) = (0.0, 0.0);
        let mut start = 0;
        while start < n {
            let rows = QUERY_BLOCK.min(n - start);
            let queries = x.narrow(0, start, rows);
            let mut distances = squared_norms.narrow(0, start, rows).unsqueeze(1) - queries.matmul(&x.transpose(0, 1)) * 2.0
                + squared_norms.unsqueeze(0);
            let own = Tensor::arange_start(start, start + rows, (Kind::Int64, x.device())).unsqueeze(1);
            let _ = distances.scatter_value_(1, &own, f64::INFINITY);
            let (_, neighbours) = distances.topk(k, 1, false, true);
            let query_labels = y.narrow(0, start, rows).unsqueeze(1);
            let hits = y.index_select(0, &neighbours.reshape([-1])).reshape([rows, k]).eq_tensor(&query_labels).to_kind(Kind::Float);
            hits_at_1 += hits.select(1, 0).sum(Kind::Float).double_value(&[]);
            let r = relevant.narrow(0, start, rows).to_kind(Kind::Float).unsqueeze(1);
            let within_r = positions.unsqueeze(0).le_tensor(&r).to_kind(Kind::Float);
            let hits_r = hits * within_r;
            let precision = hits_r.cumsum(1, Kind::Float) / positions.unsqueeze(0);
            let average = (precision * &hits_r).sum_dim_intlist(1i64, false, Kind::Float) / r.squeeze_dim(1).clamp_min(1.0);
            map_sum += average.sum(Kind::Float).double_value(&[]);
            start += rows;
        }
        Ok(KnnScores { precision_at_1: hits_at_1 / n as f64, map_at_r: map_sum / n as f64 })
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
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        let message = knn_scores(&Tensor::zeros([3, 2], (Kind::Float, tch::Device::Cpu)), &[0, 1]).unwrap_err().to_string();
        assert!(message.contains("expected embeddings of shape (2, width), found [3, 2]"), "{message}");
    }
}
