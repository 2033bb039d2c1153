//! Distance matrices (PML's `distances`). The full set with `is_inverted` semantics is its own
//! issue; these are the two the stock losses and miners use by default.

use tch::Tensor;

/// Rows scaled to unit L2 norm (PyTorch's `F.normalize`, eps 1e-12).
pub fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x.norm_scalaropt_dim(2, [1], true).clamp_min(1e-12);
    x / norm
}

/// Euclidean distances between L2-normalised rows (PML's `LpDistance()` default).
pub fn normalized_l2(x: &Tensor) -> Tensor {
    let x = l2_normalize(x);
    // ||a - b||^2 = 2 - 2 a.b for unit vectors; clamp keeps sqrt's gradient finite on the diagonal.
    let squared = (x.matmul(&x.transpose(0, 1)) * -2.0 + 2.0).clamp_min(0.0);
    squared.clamp_min(1e-12).sqrt() * squared.gt(0.0).to_kind(x.kind())
}

/// Cosine similarities between rows (PML's `CosineSimilarity()`).
pub fn cosine_similarity(x: &Tensor) -> Tensor {
    let x = l2_normalize(x);
    x.matmul(&x.transpose(0, 1))
}
