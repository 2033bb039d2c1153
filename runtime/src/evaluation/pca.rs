//! Principal component analysis of embeddings, as PML's tester runs it (sklearn's
//! `StandardScaler`, then faiss's `PCAMatrix`) before scoring or plotting them.

use crate::{Error, Result};
use tch::{Kind, Tensor};

/// A PCA fitted on `n x d` embeddings: their mean, optionally their per-column scale, and the
/// `dims` directions of largest variance. Its tensors stay on the device it was fitted on.
#[derive(Debug)]
pub struct Pca {
    /// Column means, `[d]`, float64.
    mean: Tensor,
    /// Column scales, `[d]`, float64, when fitted with `standardize`.
    scale: Option<Tensor>,
    /// The components, `[dims, d]`, float64, largest variance first.
    components: Tensor,
    /// Each component's share of the total variance.
    ratios: Vec<f64>,
}

impl Pca {
    /// Fits `dims` components on `x` (`n x d`, floating point, finite, at least two rows) on
    /// its device, in float64.
    ///
    /// The rows are centred; with `standardize`, each column is also divided by its standard
    /// deviation, as sklearn's `StandardScaler` (which PML's tester applies before its PCA)
    /// does: the population one (`ddof = 0`), and a constant column is left unscaled. The
    /// components are the eigenvectors of the `d x d` covariance with the largest eigenvalues,
    /// in decreasing order, each signed so that its largest-magnitude coefficient is positive:
    /// the same data gives the same components wherever it runs.
    ///
    /// # Errors
    /// When `x` is not a 2-D floating-point tensor, has fewer than 2 rows or non-finite values,
    /// or `dims` is not in `1..=d`.
    pub fn fit(x: &Tensor, dims: i64, standardize: bool) -> Result<Pca> {
        tch::no_grad(|| Pca::fit_checked(x, dims, standardize))
    }

    fn fit_checked(x: &Tensor, dims: i64, standardize: bool) -> Result<Pca> {
        let size = check_floats("x", x)?;
        let (n, d) = (size[0], size[1]);
        if n < 2 {
            return Err(Error::data(format!("PCA needs at least 2 rows to estimate a covariance, found shape {size:?}")));
        }
        if !(1..=d).contains(&dims) {
            return Err(Error::config(format!("PCA dims must be between 1 and the width {d}, found {dims}")));
        }
        let bad_rows = x.f_isfinite()?.f_all_dim(1, false)?.f_logical_not()?;
        let bad = bad_rows.f_sum(Kind::Int64)?.f_int64_value(&[])?;
        if bad > 0 {
            let first = bad_rows.f_nonzero()?.f_int64_value(&[0, 0])?;
            return Err(Error::data(format!(
                "PCA: {bad} of {n} rows hold NaN or infinite values (the first is row {first}); expected finite values"
            )));
        }

        let x = x.f_to_kind(Kind::Double)?;
        let mean = x.f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
        let mut centred = x.f_sub(&mean)?;
        let scale = if standardize {
            let std = centred.f_std_dim([0i64].as_slice(), false, false)?;
            // StandardScaler leaves constant columns unscaled; detected on the values
            // themselves, since their centred float64 std is rounding noise rather than zero.
            let (min, max) = x.f_aminmax(0, false)?;
            let constant = min.f_eq_tensor(&max)?;
            let scale = std.f_where_self(&constant.f_logical_not()?, &std.f_ones_like()?)?;
            centred = centred.f_div(&scale)?;
            Some(scale)
        } else {
            None
        };

        let covariance = centred.f_transpose(0, 1)?.f_matmul(&centred)?.f_div_scalar((n - 1) as f64)?;
        // eigh orders eigenvalues increasingly: the last `dims` columns, reversed.
        let (values, vectors) = covariance.f_linalg_eigh("L")?;
        let values = values.f_flip([0i64].as_slice())?.f_clamp_min(0.0)?;
        let vectors = vectors.f_flip([1i64].as_slice())?.f_narrow(1, 0, dims)?;
        let components = vectors.f_transpose(0, 1)?.f_contiguous()?;
        // Eigenvectors are defined up to sign; the sign that makes the largest-magnitude
        // coefficient positive is a choice any run of the same data makes alike.
        let largest = components.f_abs()?.f_argmax(1, true)?;
        let signs = components.f_gather(1, &largest, false)?.f_sign()?;
        let components = components.f_mul(&signs)?;

        let values = Vec::<f64>::try_from(values.f_to_device(tch::Device::Cpu)?)?;
        let total: f64 = values.iter().sum();
        // Data without variance explains nothing: zero rather than 0 / 0.
        let ratios = values.iter().take(dims as usize).map(|v| if total > 0.0 { v / total } else { 0.0 }).collect();
        Ok(Pca { mean, scale, components, ratios })
    }

    /// `x` (`m x d`, floating point) in the components' coordinates: `m x dims`, of `x`'s kind
    /// and on its device.
    ///
    /// # Errors
    /// When `x` is not a 2-D floating-point tensor of the fitted width.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        tch::no_grad(|| {
            let size = check_floats("x", x)?;
            let width = self.width();
            if size[1] != width {
                return Err(Error::mismatch("x", format!("rows of width {width}, the width the PCA was fitted on"), format!("shape {size:?}")));
            }
            let device = x.device();
            let mut centred = x.f_to_kind(Kind::Double)?.f_sub(&self.mean.f_to_device(device)?)?;
            if let Some(scale) = &self.scale {
                centred = centred.f_div(&scale.f_to_device(device)?)?;
            }
            let components = self.components.f_to_device(device)?;
            Ok(centred.f_matmul(&components.f_transpose(0, 1)?)?.f_to_kind(x.kind())?)
        })
    }

    /// Each component's share of the total variance of the (standardized, if so fitted) data,
    /// largest first, as sklearn's `explained_variance_ratio_`; zeros when the data has no
    /// variance.
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        self.ratios.clone()
    }

    /// The components, `dims x d` (one per row, largest variance first), float64, on the
    /// device the PCA was fitted on.
    pub fn components(&self) -> &Tensor {
        &self.components
    }

    /// Number of components.
    pub fn dims(&self) -> i64 {
        self.components.size()[0]
    }

    /// Width of the rows the PCA was fitted on.
    pub fn width(&self) -> i64 {
        self.components.size()[1]
    }
}

/// The shape of `x`, which must be a 2-D floating-point tensor.
fn check_floats(name: &str, x: &Tensor) -> Result<Vec<i64>> {
    let size = x.size();
    if size.len() != 2 {
        return Err(Error::mismatch(name, "a 2-D tensor (rows x width)", format!("shape {size:?}")));
    }
    if !matches!(x.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
        return Err(Error::mismatch(name, "a floating-point tensor", format!("{:?}", x.kind())));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// 500 points spread 10 along (3, 4, 0) / 5, 1 along (0, 0, 1), 0.1 along the third axis,
    /// around (5, -2, 7).
    fn elongated() -> (Tensor, Tensor) {
        tch::manual_seed(1);
        let opts = (Kind::Double, Device::Cpu);
        let main = Tensor::from_slice(&[0.6, 0.8, 0.0]);
        let second = Tensor::from_slice(&[0.0, 0.0, 1.0]);
        let third = Tensor::from_slice(&[0.8, -0.6, 0.0]);
        let coefficients = Tensor::randn([500, 3], opts) * Tensor::from_slice(&[10.0, 1.0, 0.1]);
        let basis = Tensor::stack(&[main.shallow_clone(), second, third], 0);
        (coefficients.matmul(&basis) + Tensor::from_slice(&[5.0, -2.0, 7.0]), main)
    }

    #[test]
    fn the_first_component_is_the_dominant_direction() {
        let (x, main) = elongated();
        for kind in [Kind::Double, Kind::Float] {
            let pca = Pca::fit(&x.to_kind(kind), 2, false).unwrap();
            let first = pca.components().get(0);
            // Same direction and, by the sign rule, the same sign (0.8 is the largest coefficient).
            let cosine = first.dot(&main).double_value(&[]);
            assert!(cosine > 0.9999, "{kind:?}: first component {first:?}, cosine {cosine}");
            let ratios = pca.explained_variance_ratio();
            // Variances 100, 1 and 0.01 (up to sampling): about 0.99 and 0.0099.
            assert_eq!(ratios.len(), 2);
            assert!(ratios[0] > 0.98 && ratios[0] < 1.0, "{ratios:?}");
            assert!(ratios[1] > 0.005 && ratios[1] < 0.02, "{ratios:?}");
        }
    }

    #[test]
    fn transformed_columns_have_decreasing_variance_and_no_mean() {
        let (x, _) = elongated();
        let pca = Pca::fit(&x, 3, false).unwrap();
        let y = pca.transform(&x).unwrap();
        assert_eq!(y.size(), [500, 3]);
        assert_eq!(y.kind(), Kind::Double);
        let variances = Vec::<f64>::try_from(y.var_dim([0i64].as_slice(), true, false)).unwrap();
        assert!(variances[0] > variances[1] && variances[1] > variances[2], "{variances:?}");
        // The variances are the eigenvalues: their shares are the ratios.
        let total: f64 = variances.iter().sum();
        for (v, r) in variances.iter().zip(pca.explained_variance_ratio()) {
            assert!((v / total - r).abs() < 1e-9, "{variances:?}");
        }
        let means = Vec::<f64>::try_from(y.mean_dim([0i64].as_slice(), false, Kind::Double)).unwrap();
        assert!(means.iter().all(|m| m.abs() < 1e-9), "{means:?}");
        // A float input comes back as float.
        assert_eq!(pca.transform(&x.to_kind(Kind::Float)).unwrap().kind(), Kind::Float);
    }

    #[test]
    fn standardizing_divides_by_the_population_std_and_keeps_constant_columns() {
        let (x, _) = elongated();
        let with_constant = Tensor::cat(&[x.shallow_clone(), Tensor::full([500, 1], 3.0, (Kind::Double, Device::Cpu))], 1);
        let pca = Pca::fit(&with_constant, 3, true).unwrap();
        // By hand: StandardScaler's population std (the unbiased one is 0.1% larger: seen at 1e-9).
        let mean = x.mean_dim([0i64].as_slice(), true, Kind::Double);
        let std = x.std_dim([0i64].as_slice(), false, true);
        let scaled = (&x - mean) / std;
        let by_hand = Pca::fit(&scaled, 3, false).unwrap();
        let difference = (pca.transform(&with_constant).unwrap() - by_hand.transform(&scaled).unwrap()).abs().max().double_value(&[]);
        assert!(difference < 1e-9, "{difference}");
        for (a, b) in pca.explained_variance_ratio().iter().zip(by_hand.explained_variance_ratio()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // Standardized, the three columns weigh alike: no component explains 99% any more.
        assert!(pca.explained_variance_ratio()[0] < 0.9, "{:?}", pca.explained_variance_ratio());
    }

    #[test]
    fn fitting_twice_gives_the_same_signs() {
        let (x, _) = elongated();
        let a = Pca::fit(&x, 3, true).unwrap();
        let b = Pca::fit(&x.flip([0i64].as_slice()), 3, true).unwrap();
        let difference = (a.components() - b.components()).abs().max().double_value(&[]);
        assert!(difference < 1e-9, "{difference}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = Tensor::randn([10, 4], (Kind::Float, Device::Cpu));
        assert!(matches!(Pca::fit(&x.reshape([40]), 1, false), Err(Error::Mismatch { .. })));
        assert!(matches!(Pca::fit(&x.to_kind(Kind::Int64), 1, false), Err(Error::Mismatch { .. })));
        assert!(matches!(Pca::fit(&x, 0, false), Err(Error::Config(_))));
        assert!(matches!(Pca::fit(&x, 5, false), Err(Error::Config(_))));
        assert!(matches!(Pca::fit(&x.narrow(0, 0, 1), 1, false), Err(Error::Data(_))));
        let nan = x.copy();
        let _ = nan.get(3).get(2).fill_(f64::NAN);
        match Pca::fit(&nan, 2, false) {
            Err(Error::Data(message)) => assert!(message.contains("row 3"), "{message}"),
            other => panic!("expected a data error, found {other:?}"),
        }
        let pca = Pca::fit(&x, 2, false).unwrap();
        assert!(matches!(pca.transform(&x.narrow(1, 0, 3)), Err(Error::Mismatch { .. })));
        assert_eq!(pca.dims(), 2);
        assert_eq!(pca.width(), 4);
    }
}
