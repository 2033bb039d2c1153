//! The clustering metrics of PML's calculator, NMI and AMI: k-means of the query embeddings
//! into as many clusters as there are query labels, then scikit-learn's
//! `normalized_mutual_info_score` and `adjusted_mutual_info_score` (arithmetic normalisation)
//! of the labels against the clusters.
//!
//! PML runs faiss's k-means (random initialisation, 20 iterations); here it is k-means++
//! seeded from the calculator's `seed` (draws from a [`StdRng`], never libtorch's global
//! generator, so that results are reproducible whatever else draws), then 20 Lloyd iterations
//! on the embeddings' device. The clusters are therefore not faiss's, but on data that clusters
//! well both reach the same partition, and the scores agree.

use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tch::{Kind, Tensor};

/// faiss's `Kmeans(niter=20)`, as PML builds it.
const ITERATIONS: usize = 20;

/// Rows whose distances to the centroids are computed at once: memory is `BLOCK x clusters`.
const BLOCK: i64 = 8192;

/// The cluster of each row of `embeddings` (2-D, finite; int64 on the embeddings' device),
/// k-means into `clusters` clusters (1 ≤ clusters ≤ rows).
pub(crate) fn kmeans(embeddings: &Tensor, clusters: i64, seed: u64) -> Result<Tensor> {
    let rows = embeddings.size()[0];
    if clusters < 1 || clusters > rows {
        return Err(Error::data(format!("k-means: expected between 1 and {rows} clusters (one per row at most), found {clusters}")));
    }
    // As PML: k-means of float32 embeddings. Assignments are invariant under one positive
    // scale and a power of two scales exactly: bring the largest magnitude to [0.5, 1), so
    // that the squares of 1e18 embeddings do not overflow nor those of 1e-30 ones underflow.
    let mut x = embeddings.f_to_kind(Kind::Float)?;
    let largest = x.f_abs()?.f_max()?.f_double_value(&[])?;
    if largest > 0.0 {
        x = x.f_mul_scalar(2f64.powi(-(largest.log2().floor() as i32) - 1))?;
    }
    let norms = squared_norms(&x)?;
    let mut centroids = plus_plus(&x, &norms, clusters, seed)?;
    for _ in 0..ITERATIONS {
        let assignment = nearest(&x, &norms, &centroids)?;
        centroids = update(&x, &assignment, &centroids)?;
    }
    // As PML: each row's nearest final centroid.
    nearest(&x, &norms, &centroids)
}

fn squared_norms(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_square()?.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?)
}

/// Squared distances of rows `[start, start + len)` of `x` to `centroids`, clamped at 0
/// (the expansion |x|² + |c|² - 2 x·c can round below it).
fn distances(x: &Tensor, norms: &Tensor, centroids: &Tensor, start: i64, len: i64) -> Result<Tensor> {
    let rows = x.f_narrow(0, start, len)?;
    let centroid_norms = squared_norms(centroids)?;
    let mut d = norms.f_narrow(0, start, len)?.f_unsqueeze(1)?.f_add(&centroid_norms.f_unsqueeze(0)?)?;
    let _ = d.f_addmm_(&rows.f_mul_scalar(-2.0)?, &centroids.f_transpose(0, 1)?)?;
    Ok(d.f_clamp_min(0.0)?)
}

/// The index of each row's nearest centroid, `BLOCK` rows at a time.
fn nearest(x: &Tensor, norms: &Tensor, centroids: &Tensor) -> Result<Tensor> {
    let rows = x.size()[0];
    let mut parts = Vec::new();
    let mut start = 0;
    while start < rows {
        let len = BLOCK.min(rows - start);
        parts.push(distances(x, norms, centroids, start, len)?.f_argmin(1, false)?);
        start += len;
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Lloyd's update: each centroid moves to the mean of its rows; one that lost every row stays
/// where it was (it may win rows back in the next assignment).
fn update(x: &Tensor, assignment: &Tensor, centroids: &Tensor) -> Result<Tensor> {
    let k = centroids.size()[0];
    let device = x.device();
    let sums = Tensor::f_zeros_like(centroids)?.f_index_add(0, assignment, x)?;
    let counts = Tensor::f_zeros([k], (Kind::Float, device))?.f_index_add(0, assignment, &Tensor::f_ones([x.size()[0]], (Kind::Float, device))?)?;
    let means = sums.f_div(&counts.f_clamp_min(1.0)?.f_unsqueeze(1)?)?;
    Ok(means.f_where_self(&counts.f_gt(0.0)?.f_unsqueeze(1)?, centroids)?)
}

/// k-means++ initialisation: the first centroid a uniformly drawn row, each next one a row
/// drawn with probability proportional to its squared distance to the nearest centroid so
/// far. The draws are made on the CPU from `seed`; when every remaining distance is zero
/// (duplicate rows), the draw is uniform.
fn plus_plus(x: &Tensor, norms: &Tensor, clusters: i64, seed: u64) -> Result<Tensor> {
    let rows = x.size()[0];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut chosen = vec![rng.gen_range(0..rows)];
    let mut closest = distances(x, norms, &x.f_narrow(0, chosen[0], 1)?, 0, rows)?.f_reshape([-1])?;
    while (chosen.len() as i64) < clusters {
        let weights = Vec::<f64>::try_from(&closest.f_to_kind(Kind::Double)?.f_to_device(tch::Device::Cpu)?)?;
        let total: f64 = weights.iter().sum();
        let next = if total > 0.0 && total.is_finite() {
            let target = rng.gen::<f64>() * total;
            let mut running = 0.0;
            // The first row whose running sum passes the target; rows at distance 0 (chosen
            // ones among them) are never drawn. Rounding can leave the target just past the
            // end: then the last row of positive weight.
            let mut pick = None;
            for (i, w) in weights.iter().enumerate() {
                if *w > 0.0 {
                    running += w;
                    pick = Some(i as i64);
                    if running > target {
                        break;
                    }
                }
            }
            pick.unwrap_or(0)
        } else {
            rng.gen_range(0..rows)
        };
        chosen.push(next);
        let d = distances(x, norms, &x.f_narrow(0, next, 1)?, 0, rows)?.f_reshape([-1])?;
        closest = closest.f_minimum(&d)?;
    }
    let index = Tensor::from_slice(&chosen).f_to_device(x.device())?;
    Ok(x.f_index_select(0, &index)?)
}

/// The contingency table of two labellings of the same samples, sparse: its row and column
/// sums and its non-zero cells.
struct Contingency {
    n: i64,
    rows: Vec<i64>,
    columns: Vec<i64>,
    /// (row, column, count) of every non-zero cell.
    cells: Vec<(usize, usize, i64)>,
}

impl Contingency {
    fn new(labels_true: &[i64], labels_pred: &[i64]) -> Contingency {
        let index = |labels: &[i64]| -> (Vec<usize>, usize) {
            let mut unique = labels.to_vec();
            unique.sort_unstable();
            unique.dedup();
            let positions = labels.iter().map(|l| unique.binary_search(l).unwrap_or(0)).collect();
            (positions, unique.len())
        };
        let (r, n_rows) = index(labels_true);
        let (c, n_columns) = index(labels_pred);
        let mut pairs: Vec<(usize, usize)> = r.into_iter().zip(c).collect();
        pairs.sort_unstable();
        let mut cells: Vec<(usize, usize, i64)> = Vec::new();
        for (i, j) in pairs {
            match cells.last_mut() {
                Some(last) if (last.0, last.1) == (i, j) => last.2 += 1,
                _ => cells.push((i, j, 1)),
            }
        }
        let (mut rows, mut columns) = (vec![0i64; n_rows], vec![0i64; n_columns]);
        for &(i, j, count) in &cells {
            rows[i] += count;
            columns[j] += count;
        }
        Contingency { n: labels_true.len() as i64, rows, columns, cells }
    }

    /// scikit-learn's `mutual_info_score` on the table (natural log): terms below machine
    /// epsilon are zeroed and the sum clipped at 0, as there.
    fn mutual_information(&self) -> f64 {
        if self.rows.len() == 1 || self.columns.len() == 1 {
            return 0.0;
        }
        let n = self.n as f64;
        let (row_sum, column_sum) = (self.rows.iter().sum::<i64>() as f64, self.columns.iter().sum::<i64>() as f64);
        let mut mi = 0.0;
        for &(i, j, count) in &self.cells {
            let p = count as f64 / n;
            let outer = (self.rows[i] * self.columns[j]) as f64;
            let log_outer = -outer.ln() + row_sum.ln() + column_sum.ln();
            let term = p * ((count as f64).ln() - n.ln()) + p * log_outer;
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
        mi.max(0.0)
    }

    /// scikit-learn's `expected_mutual_information`: the mutual information expected of two
    /// random labellings with these row and column sums (hypergeometric model), in log space
    /// with ln Γ so that the factorials do not overflow.
    fn expected_mutual_information(&self) -> f64 {
        let (a, b) = (&self.rows, &self.columns);
        if a.len() == 1 || b.len() == 1 {
            return 0.0;
        }
        let n = self.n;
        let ln_factorial = LnFactorial::new(n);
        let ln_n = (n as f64).ln();
        let mut emi = 0.0;
        for &ai in a {
            for &bj in b {
                let start = 1.max(ai - n + bj);
                let end = ai.min(bj);
                // The terms of nij that do not depend on it.
                let fixed = ln_factorial.at(ai) + ln_factorial.at(bj) + ln_factorial.at(n - ai) + ln_factorial.at(n - bj) - ln_factorial.at(n);
                let ln_ab = (ai as f64).ln() + (bj as f64).ln();
                for nij in start..=end {
                    let term1 = nij as f64 / n as f64;
                    let term2 = ln_n + (nij as f64).ln() - ln_ab;
                    let gln = fixed
                        - ln_factorial.at(nij)
                        - ln_factorial.at(ai - nij)
                        - ln_factorial.at(bj - nij)
                        - ln_factorial.at(n - ai - bj + nij);
                    emi += term1 * term2 * gln.exp();
                }
            }
        }
        emi
    }
}

/// ln(m!) = ln Γ(m + 1) for m = 0..=n, summed once in f64 (the arguments of the expected
/// mutual information are all integers up to n).
struct LnFactorial(Vec<f64>);

impl LnFactorial {
    fn new(n: i64) -> LnFactorial {
        let mut table = Vec::with_capacity(n.max(0) as usize + 1);
        let mut sum = 0.0f64;
        table.push(0.0);
        for m in 1..=n.max(0) {
            sum += (m as f64).ln();
            table.push(sum);
        }
        LnFactorial(table)
    }

    fn at(&self, m: i64) -> f64 {
        self.0[m as usize]
    }
}

/// scikit-learn's `entropy` of a labelling from its counts (natural log).
fn entropy(counts: &[i64]) -> f64 {
    if counts.len() <= 1 {
        return 0.0;
    }
    let total = counts.iter().sum::<i64>() as f64;
    -counts.iter().map(|&c| (c as f64 / total) * ((c as f64).ln() - total.ln())).sum::<f64>()
}

fn check_lengths(labels_true: &[i64], labels_pred: &[i64]) -> Result<()> {
    if labels_true.len() != labels_pred.len() {
        return Err(Error::mismatch(
            "labels_pred",
            format!("{} labels, one per true label", labels_true.len()),
            format!("{} labels", labels_pred.len()),
        ));
    }
    Ok(())
}

/// scikit-learn's `normalized_mutual_info_score(labels_true, labels_pred)` with arithmetic
/// normalisation: MI / ((H(true) + H(pred)) / 2); 1 when both labellings are one cluster (or
/// empty), 0 when the mutual information is 0 otherwise.
///
/// # Errors
/// [`Error::Mismatch`] when the labellings have different lengths.
pub fn normalized_mutual_info(labels_true: &[i64], labels_pred: &[i64]) -> Result<f64> {
    check_lengths(labels_true, labels_pred)?;
    if labels_true.is_empty() {
        return Ok(1.0);
    }
    let table = Contingency::new(labels_true, labels_pred);
    if table.rows.len() == 1 && table.columns.len() == 1 {
        return Ok(1.0);
    }
    let mi = table.mutual_information();
    if mi == 0.0 {
        return Ok(0.0);
    }
    Ok(mi / ((entropy(&table.rows) + entropy(&table.columns)) / 2.0))
}

/// scikit-learn's `adjusted_mutual_info_score(labels_true, labels_pred)` with arithmetic
/// normalisation: `(MI - E(MI)) / (mean(H(true), H(pred)) - E(MI))`; 1 when both labellings are
/// one cluster (or empty), 0 when only one is. As there, numerator and denominator are kept at
/// least machine epsilon away from 0, with their sign.
///
/// # Errors
/// [`Error::Mismatch`] when the labellings have different lengths.
pub fn adjusted_mutual_info(labels_true: &[i64], labels_pred: &[i64]) -> Result<f64> {
    check_lengths(labels_true, labels_pred)?;
    if labels_true.is_empty() {
        return Ok(1.0);
    }
    let table = Contingency::new(labels_true, labels_pred);
    match (table.rows.len(), table.columns.len()) {
        (1, 1) => return Ok(1.0),
        (1, _) | (_, 1) => return Ok(0.0),
        _ => {}
    }
    let mi = table.mutual_information();
    let emi = table.expected_mutual_information();
    let normalizer = (entropy(&table.rows) + entropy(&table.columns)) / 2.0;
    let away_from_zero = |v: f64| if v < 0.0 { v.min(-f64::EPSILON) } else { v.max(f64::EPSILON) };
    Ok(away_from_zero(mi - emi) / away_from_zero(normalizer - emi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn hand_computed_scores() {
        // Identical partitions up to renaming.
        assert!((normalized_mutual_info(&[0, 0, 1, 1], &[5, 5, 3, 3]).unwrap() - 1.0).abs() < 1e-12);
        assert!((adjusted_mutual_info(&[0, 0, 1, 1], &[5, 5, 3, 3]).unwrap() - 1.0).abs() < 1e-12);
        // Independent: MI = 0.
        assert_eq!(normalized_mutual_info(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap(), 0.0);
        assert_eq!(adjusted_mutual_info(&[0, 0, 0], &[0, 1, 2]).unwrap(), 0.0);
        assert_eq!(normalized_mutual_info(&[4, 4, 4], &[1, 1, 1]).unwrap(), 1.0);
        assert!(normalized_mutual_info(&[0, 1], &[0]).is_err());
    }

    #[test]
    fn kmeans_finds_separated_blobs_and_is_reproducible() {
        tch::manual_seed(0);
        let centres = Tensor::from_slice(&[0.0f32, 0.0, 10.0, 0.0, 0.0, 10.0]).reshape([3, 2]);
        let labels = Tensor::arange(300, (Kind::Int64, Device::Cpu)).remainder(3);
        let x = centres.index_select(0, &labels) + Tensor::randn([300, 2], (Kind::Float, Device::Cpu)) * 0.3;
        let clusters = kmeans(&x, 3, 7).unwrap();
        let (y, c) = (Vec::<i64>::try_from(&labels).unwrap(), Vec::<i64>::try_from(&clusters).unwrap());
        assert!((normalized_mutual_info(&y, &c).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(clusters, kmeans(&x, 3, 7).unwrap());
        // Duplicate rows: no panic, and as many clusters as rows is allowed.
        let same = Tensor::ones([4, 3], (Kind::Float, Device::Cpu));
        assert_eq!(kmeans(&same, 4, 0).unwrap().size(), vec![4]);
        assert!(kmeans(&same, 5, 0).is_err());
    }
}
