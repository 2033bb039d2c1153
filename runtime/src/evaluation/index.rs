//! A trained model's embeddings as a searchable index: PML's `InferenceModel` and
//! `MatchFinder` (nearest references of new queries, and whether two embeddings match), on the
//! exact blocked k-NN the [`AccuracyCalculator`](super::AccuracyCalculator) uses, saved and
//! loaded as a safetensors file.

use super::accuracy_calculator::KnnDistance;
use super::knn::{Blocks, Prepared};
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// The `format` metadata of an index file, versioned so that a later layout can be told apart.
const FORMAT: &str = "metric-learning-index-1";

/// At most this many values of paired rows are alive at once when distances are recomputed.
const PAIR_BUDGET: i64 = 1 << 24;

/// Reference embeddings to search, with the distance that ranks them and optionally their
/// labels: PML's `InferenceModel` after `train_knn`, for embeddings computed beforehand.
#[derive(Debug)]
pub struct NearestNeighbourIndex {
    /// `n x d`, floating point, on the device they were given on.
    references: Tensor,
    distance: KnnDistance,
    labels: Option<Vec<i64>>,
}

/// The nearest references of each query, nearest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Matches {
    /// Per query, the indices of its nearest references (rows of the index).
    pub indices: Vec<Vec<i64>>,
    /// Per query, how far each of those references is, in the index's distance, computed in
    /// float64 from the embeddings: the L2 distance (not squared) for
    /// [`KnnDistance::Euclidean`], increasing; the cosine similarity or the dot product,
    /// decreasing, for the other two. The order is the search's, which ranks in float32 unless
    /// either set is float64: values within that rounding of each other may be out of order.
    pub distances: Vec<Vec<f64>>,
    /// Per query, the labels of those references, when the index has labels.
    pub labels: Option<Vec<Vec<i64>>>,
}

impl NearestNeighbourIndex {
    /// An index over `references` (`n x d`, floating point, finite, at least one row), kept on
    /// their device and searched by `distance`.
    ///
    /// # Errors
    /// When `references` is not a 2-D floating-point tensor, is empty or holds NaN or infinite
    /// values.
    pub fn new(references: &Tensor, distance: KnnDistance) -> Result<NearestNeighbourIndex> {
        tch::no_grad(|| {
            check_embeddings("references", references, false)?;
            if references.size()[1] == 0 {
                return Err(Error::data(format!("references have no columns: expected at least one, found shape {:?}", references.size())));
            }
            // Detached, so that the index holds no autograd graph of the model that made them.
            let references = references.f_detach()?.f_contiguous()?;
            Ok(NearestNeighbourIndex { references, distance, labels: None })
        })
    }

    /// This index, with a label for each reference (in row order), reported with the matches.
    ///
    /// # Errors
    /// When there is not exactly one label per reference.
    pub fn with_labels(mut self, labels: Vec<i64>) -> Result<NearestNeighbourIndex> {
        let rows = self.len();
        if labels.len() != rows {
            return Err(Error::mismatch("labels", format!("{rows} labels, one per reference"), format!("{} labels", labels.len())));
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// Number of references.
    pub fn len(&self) -> usize {
        self.references.size()[0] as usize
    }

    /// Whether the index has no references; never, since [`new`](Self::new) refuses an empty
    /// set, but collections say so.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The reference embeddings, `n x d`.
    pub fn references(&self) -> &Tensor {
        &self.references
    }

    /// The distance that ranks the references.
    pub fn distance(&self) -> KnnDistance {
        self.distance
    }

    /// The references' labels, if the index has them.
    pub fn labels(&self) -> Option<&[i64]> {
        self.labels.as_deref()
    }

    /// The `k` nearest references of each row of `queries` (`m x d`, floating point, finite,
    /// the references' width; no rows give no matches), nearest first, ties broken by the lower index as faiss breaks
    /// them; all references when `k` is larger than their number. An exact search, in blocks,
    /// on the references' device (queries elsewhere are moved there).
    ///
    /// # Errors
    /// When `k < 1`, or `queries` is not a 2-D floating-point tensor of finite values as wide
    /// as the references.
    pub fn search(&self, queries: &Tensor, k: i64) -> Result<Matches> {
        tch::no_grad(|| self.search_checked(queries, k))
    }

    fn search_checked(&self, queries: &Tensor, k: i64) -> Result<Matches> {
        if k < 1 {
            return Err(Error::config(format!("k must be at least 1 (the number of neighbours per query), found {k}")));
        }
        let queries = self.check_queries("queries", queries)?;
        let kind = search_kind(&queries, &self.references);
        let prepared = Prepared::new(&queries, &self.references, kind, self.distance)?;
        let mut indices: Vec<Vec<i64>> = Vec::with_capacity(queries.size()[0] as usize);
        prepared.for_each_block(k, false, Blocks::default(), |_, neighbours| {
            indices.extend((0..neighbours.rows).map(|row| neighbours.row(row).to_vec()));
            Ok(())
        })?;

        // The search's scores are in the prepared units (squared, rescaled, negated): the
        // distances of the pairs it found are computed again from the embeddings themselves.
        let found = indices.first().map_or(0, Vec::len) as i64;
        let rows = indices.len() as i64;
        let flat: Vec<i64> = indices.iter().flatten().copied().collect();
        let flat_distances = if flat.is_empty() {
            Vec::new()
        } else {
            let device = self.references.device();
            let query_rows = Tensor::f_arange(rows, (Kind::Int64, device))?.f_repeat_interleave_self_int(found, 0, None)?;
            let reference_rows = Tensor::from_slice(&flat).f_to_device(device)?;
            paired_scores(&queries, &query_rows, &self.references, &reference_rows, self.distance)?
        };
        let distances = flat_distances.chunks(found.max(1) as usize).map(<[f64]>::to_vec).collect();
        let labels = self.labels.as_ref().map(|labels| indices.iter().map(|row| row.iter().map(|&i| labels[i as usize]).collect()).collect());
        Ok(Matches { indices, distances, labels })
    }

    /// Whether each row of `a` matches the same row of `b` (both `m x d`, the references'
    /// width), as PML's `InferenceModel.is_match`: an L2 distance at most `threshold` for
    /// [`KnnDistance::Euclidean`], a similarity at least `threshold` for the other two.
    ///
    /// # Errors
    /// When `a` and `b` differ in shape, or either is not a 2-D floating-point tensor of finite
    /// values as wide as the references.
    pub fn is_match(&self, a: &Tensor, b: &Tensor, threshold: f64) -> Result<Vec<bool>> {
        tch::no_grad(|| {
            let a = self.check_queries("a", a)?;
            let b = self.check_queries("b", b)?;
            if a.size() != b.size() {
                return Err(Error::mismatch("b", format!("the shape of a, {:?}", a.size()), format!("shape {:?}", b.size())));
            }
            let rows = Tensor::f_arange(a.size()[0], (Kind::Int64, a.device()))?;
            let scores = paired_scores(&a, &rows, &b, &rows, self.distance)?;
            Ok(scores.into_iter().map(|s| if self.distance == KnnDistance::Euclidean { s <= threshold } else { s >= threshold }).collect())
        })
    }

    /// Saves the index to `path` as a safetensors file: `references` (float32, or float64 when
    /// they are; half-precision ones are widened to float32), `labels` (int64) when it has them,
    /// and metadata `format` and `distance`. The file is written whole or not at all: to a
    /// temporary file in the same folder, then renamed over `path`.
    ///
    /// # Errors
    /// [`Error::File`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let rows = self.len();
        let width = self.references.size()[1] as usize;
        let cpu = self.references.f_to_device(Device::Cpu)?.f_contiguous()?;
        let (dtype, bytes) = if cpu.kind() == Kind::Double {
            (Dtype::F64, Vec::<f64>::try_from(cpu.f_reshape([-1])?)?.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())
        } else {
            (Dtype::F32, Vec::<f32>::try_from(cpu.f_to_kind(Kind::Float)?.f_reshape([-1])?)?.iter().flat_map(|v| v.to_le_bytes()).collect())
        };
        let label_bytes: Option<Vec<u8>> = self.labels.as_ref().map(|labels| labels.iter().flat_map(|v| v.to_le_bytes()).collect());
        let unwritable = |reason: String| Error::File { path: path.to_path_buf(), reason };
        let mut views = vec![("references", TensorView::new(dtype, vec![rows, width], &bytes).map_err(|e| unwritable(format!("{e:?}")))?)];
        if let Some(label_bytes) = &label_bytes {
            views.push(("labels", TensorView::new(Dtype::I64, vec![rows], label_bytes).map_err(|e| unwritable(format!("{e:?}")))?));
        }
        let metadata = HashMap::from([("format".to_string(), FORMAT.to_string()), ("distance".to_string(), distance_name(self.distance).to_string())]);
        let file = safetensors::tensor::serialize(views, &Some(metadata)).map_err(|e| unwritable(format!("cannot serialize the index: {e:?}")))?;
        crate::files::write_atomically(path, &file)
    }

    /// Loads an index that [`save`](Self::save) wrote, its references on `device`.
    ///
    /// # Errors
    /// [`Error::File`], naming the path, when the file cannot be read, is not a safetensors
    /// file, is not an index of this format (its `format` metadata), or its distance, tensors,
    /// kinds or shapes are not what an index holds.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<NearestNeighbourIndex> {
        let path = path.as_ref();
        let invalid = |reason: String| Error::File { path: path.to_path_buf(), reason };
        let bytes = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| invalid(format!("not a safetensors file ({e:?})")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        match metadata.get("format") {
            Some(format) if format == FORMAT => {}
            Some(format) => return Err(invalid(format!("expected an index of format `{FORMAT}`, found format `{format}`"))),
            None => return Err(invalid(format!("expected an index of format `{FORMAT}`, found a safetensors file without `format` metadata"))),
        }
        let distance = match metadata.get("distance").map(String::as_str) {
            Some("euclidean") => KnnDistance::Euclidean,
            Some("cosine") => KnnDistance::Cosine,
            Some("dot_product") => KnnDistance::DotProduct,
            other => return Err(invalid(format!("expected `distance` metadata euclidean, cosine or dot_product, found {other:?}"))),
        };
        let file = SafeTensors::deserialize(&bytes).map_err(|e| invalid(format!("not a safetensors file ({e:?})")))?;
        let mut names: Vec<&String> = file.names();
        names.sort();
        if let Some(unknown) = names.iter().find(|n| !matches!(n.as_str(), "references" | "labels")) {
            return Err(invalid(format!("expected tensors `references` and optionally `labels`, found {names:?} (`{unknown}` is not an index's)")));
        }
        let view = file.tensor("references").map_err(|_| invalid(format!("expected a tensor `references`, found {names:?}")))?;
        let shape = view.shape().to_vec();
        let [rows, width] = shape[..] else {
            return Err(invalid(format!("expected `references` of shape [rows, width], found {shape:?}")));
        };
        let references = match view.dtype() {
            Dtype::F32 => Tensor::from_slice(&decode(view.data(), f32::from_le_bytes)),
            Dtype::F64 => Tensor::from_slice(&decode(view.data(), f64::from_le_bytes)),
            other => return Err(invalid(format!("expected `references` of F32 or F64, found {other:?}"))),
        };
        let references = references.f_reshape([rows as i64, width as i64])?.f_to_device(device)?;
        let index = NearestNeighbourIndex::new(&references, distance).map_err(|e| invalid(format!("its references are not an index's: {e}")))?;
        match file.tensor("labels") {
            Ok(labels) => {
                if labels.dtype() != Dtype::I64 || labels.shape() != [rows] {
                    return Err(invalid(format!(
                        "expected `labels` of I64 and shape [{rows}], one per reference, found {:?} of shape {:?}",
                        labels.dtype(),
                        labels.shape()
                    )));
                }
                index.with_labels(decode(labels.data(), i64::from_le_bytes))
            }
            Err(_) => Ok(index),
        }
    }

    /// `x` checked as rows to compare with the references, on their device.
    fn check_queries(&self, name: &str, x: &Tensor) -> Result<Tensor> {
        check_embeddings(name, x, true)?;
        let (width, found) = (self.references.size()[1], x.size()[1]);
        if found != width {
            return Err(Error::mismatch(name, format!("rows of width {width}, as the references'"), format!("shape {:?}", x.size())));
        }
        Ok(x.f_to_device(self.references.device())?)
    }
}

/// Float64 when either set is, float32 otherwise, as the accuracy calculator searches.
fn search_kind(a: &Tensor, b: &Tensor) -> Kind {
    if a.kind() == Kind::Double || b.kind() == Kind::Double {
        Kind::Double
    } else {
        Kind::Float
    }
}

/// For each `i`, the distance of `a[a_rows[i]]` and `b[b_rows[i]]`: L2, cosine similarity or
/// dot product, in float64, computed a bounded number of pairs at a time.
fn paired_scores(a: &Tensor, a_rows: &Tensor, b: &Tensor, b_rows: &Tensor, distance: KnnDistance) -> Result<Vec<f64>> {
    let pairs = a_rows.size()[0];
    let width = a.size()[1].max(1);
    let chunk = (PAIR_BUDGET / width).max(1);
    let mut scores = Vec::with_capacity(pairs as usize);
    let mut start = 0;
    while start < pairs {
        let len = chunk.min(pairs - start);
        let x = a.f_index_select(0, &a_rows.f_narrow(0, start, len)?)?.f_to_kind(Kind::Double)?;
        let y = b.f_index_select(0, &b_rows.f_narrow(0, start, len)?)?.f_to_kind(Kind::Double)?;
        let sum = |t: Tensor| t.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        let values = match distance {
            // From the difference, not |x|² + |y|² - 2x·y: no cancellation for near pairs.
            KnnDistance::Euclidean => sum(x.f_sub(&y)?.f_square()?)?.f_sqrt()?,
            // Zero rows have similarity 0, as PML's normalised rows (F.normalize) give.
            KnnDistance::Cosine => sum(unit_rows(&x)?.f_mul(&unit_rows(&y)?)?)?,
            KnnDistance::DotProduct => sum(x.f_mul(&y)?)?,
        };
        scores.extend(Vec::<f64>::try_from(values.f_to_device(Device::Cpu)?)?);
        start += len;
    }
    Ok(scores)
}

/// Rows divided by their L2 norm, zero rows left zero.
fn unit_rows(x: &Tensor) -> Result<Tensor> {
    let norms = x.f_square()?.f_sum_dim_intlist([1i64].as_slice(), true, Kind::Double)?.f_sqrt()?.f_clamp_min(f64::MIN_POSITIVE)?;
    Ok(x.f_div(&norms)?)
}

/// The check of the accuracy calculator's sets: 2-D, floating point, at least one row (unless
/// `may_be_empty`), finite.
fn check_embeddings(name: &str, x: &Tensor, may_be_empty: bool) -> Result<()> {
    let size = x.size();
    if size.len() != 2 {
        return Err(Error::mismatch(name, "a 2-D tensor (rows x width)", format!("shape {size:?}")));
    }
    if !matches!(x.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
        return Err(Error::mismatch(name, "floating-point embeddings", format!("{:?}", x.kind())));
    }
    let rows = size[0];
    if rows == 0 {
        return if may_be_empty { Ok(()) } else { Err(Error::data(format!("{name} is empty: expected at least one row, found shape {size:?}"))) };
    }
    let bad_rows = x.f_isfinite()?.f_all_dim(1, false)?.f_logical_not()?;
    let bad = bad_rows.f_sum(Kind::Int64)?.f_int64_value(&[])?;
    if bad > 0 {
        let first = bad_rows.f_nonzero()?.f_int64_value(&[0, 0])?;
        return Err(Error::data(format!("{name}: {bad} of {rows} rows hold NaN or infinite values (the first is row {first}); expected finite embeddings")));
    }
    Ok(())
}

fn distance_name(distance: KnnDistance) -> &'static str {
    match distance {
        KnnDistance::Euclidean => "euclidean",
        KnnDistance::Cosine => "cosine",
        KnnDistance::DotProduct => "dot_product",
    }
}

/// Little-endian values of `N` bytes each (safetensors' byte order).
fn decode<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes.chunks_exact(N).map(|c| from(c.try_into().unwrap_or([0; N]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn random(rows: i64, width: i64, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        Tensor::randn([rows, width], (Kind::Float, Device::Cpu))
    }

    fn temp_path(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        std::env::temp_dir().join(format!("ml-index-{}-{nanos}-{}-{name}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
    }

    /// Every query's (score, reference) pairs, best first by brute force in float64: larger
    /// is nearer for similarities.
    fn brute_force(queries: &Tensor, references: &Tensor, distance: KnnDistance) -> Vec<Vec<(f64, i64)>> {
        let (q, r) = (queries.to_kind(Kind::Double), references.to_kind(Kind::Double));
        let width = q.size()[1] as usize;
        let q = Vec::<f64>::try_from(q.reshape([-1])).unwrap();
        let r = Vec::<f64>::try_from(r.reshape([-1])).unwrap();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        q.chunks(width)
            .map(|qi| {
                let mut row: Vec<(f64, i64)> = r
                    .chunks(width)
                    .enumerate()
                    .map(|(j, rj)| {
                        let dot: f64 = qi.iter().zip(rj).map(|(a, b)| a * b).sum();
                        let score = match distance {
                            KnnDistance::Euclidean => qi.iter().zip(rj).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt(),
                            KnnDistance::Cosine => dot / (norm(qi) * norm(rj)),
                            KnnDistance::DotProduct => dot,
                        };
                        (score, j as i64)
                    })
                    .collect();
                let nearer = |a: &(f64, i64), b: &(f64, i64)| match distance {
                    KnnDistance::Euclidean => a.0.total_cmp(&b.0),
                    _ => b.0.total_cmp(&a.0),
                };
                row.sort_by(|a, b| nearer(a, b).then(a.1.cmp(&b.1)));
                row
            })
            .collect()
    }

    #[test]
    fn search_agrees_with_brute_force_for_each_distance() {
        let references = random(200, 7, 0);
        let queries = random(30, 7, 1);
        for distance in [KnnDistance::Euclidean, KnnDistance::Cosine, KnnDistance::DotProduct] {
            let index = NearestNeighbourIndex::new(&references, distance).unwrap();
            let matches = index.search(&queries, 5).unwrap();
            let expected = brute_force(&queries, &references, distance);
            assert_eq!(matches.indices.len(), 30);
            assert!(matches.labels.is_none());
            for (q, expected) in expected.iter().enumerate() {
                let indices: Vec<i64> = expected[..5].iter().map(|e| e.1).collect();
                assert_eq!(matches.indices[q], indices, "{distance:?}, query {q}");
                for (found, e) in matches.distances[q].iter().zip(expected) {
                    assert!((found - e.0).abs() < 1e-5, "{distance:?}, query {q}: {found} vs {}", e.0);
                }
            }
        }
    }

    #[test]
    fn k_beyond_the_references_returns_them_all_with_labels() {
        let references = random(6, 3, 2);
        let labels = vec![10, 11, 12, 13, 14, 15];
        let index = NearestNeighbourIndex::new(&references, KnnDistance::Euclidean).unwrap().with_labels(labels.clone()).unwrap();
        assert_eq!(index.len(), 6);
        // The references themselves: each is its own nearest, at distance 0.
        let matches = index.search(&references, 50).unwrap();
        let labels_found = matches.labels.as_ref().unwrap();
        for q in 0..6 {
            assert_eq!(matches.indices[q].len(), 6);
            assert_eq!(matches.indices[q][0], q as i64);
            assert!(matches.distances[q][0].abs() < 1e-6, "{:?}", matches.distances[q]);
            assert!(matches.distances[q].windows(2).all(|w| w[0] <= w[1]), "{:?}", matches.distances[q]);
            let expected: Vec<i64> = matches.indices[q].iter().map(|&i| labels[i as usize]).collect();
            assert_eq!(labels_found[q], expected);
        }
        assert!(matches!(NearestNeighbourIndex::new(&references, KnnDistance::Euclidean).unwrap().with_labels(vec![1, 2]), Err(Error::Mismatch { .. })));
    }

    #[test]
    fn is_match_thresholds_the_pair_distance() {
        let a = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0, 1.0, 1.0]).reshape([3, 2]);
        let b = Tensor::from_slice(&[3.0f32, 4.0, 2.0, 0.0, -1.0, -1.0]).reshape([3, 2]);
        let index = |d| NearestNeighbourIndex::new(&a, d).unwrap();
        // L2 distances 5, 1 and 2√2.
        assert_eq!(index(KnnDistance::Euclidean).is_match(&a, &b, 2.9).unwrap(), [false, true, true]);
        assert_eq!(index(KnnDistance::Euclidean).is_match(&a, &b, 1.0).unwrap(), [false, true, false]);
        // Cosine 0 (a zero row), 1 and -1; dot products 0, 2 and -2.
        assert_eq!(index(KnnDistance::Cosine).is_match(&a, &b, 0.5).unwrap(), [false, true, false]);
        assert_eq!(index(KnnDistance::DotProduct).is_match(&a, &b, 0.0).unwrap(), [true, true, false]);
        assert!(matches!(index(KnnDistance::Cosine).is_match(&a, &b.narrow(0, 0, 2), 0.5), Err(Error::Mismatch { .. })));
    }

    #[test]
    fn a_saved_index_loads_and_searches_alike() {
        let references = random(50, 4, 3);
        let queries = random(8, 4, 4);
        for (distance, kind, labels) in [
            (KnnDistance::Euclidean, Kind::Float, Some((0..50).map(|i| i % 7).collect::<Vec<i64>>())),
            (KnnDistance::Cosine, Kind::Double, None),
            (KnnDistance::DotProduct, Kind::Float, None),
        ] {
            let mut index = NearestNeighbourIndex::new(&references.to_kind(kind), distance).unwrap();
            if let Some(labels) = labels {
                index = index.with_labels(labels).unwrap();
            }
            let path = temp_path("index.safetensors");
            index.save(&path).unwrap();
            let loaded = NearestNeighbourIndex::load(&path, Device::Cpu).unwrap();
            assert_eq!(loaded.distance(), distance);
            assert_eq!(loaded.references().kind(), kind);
            assert_eq!(loaded.labels(), index.labels());
            assert_eq!(loaded.search(&queries, 3).unwrap(), index.search(&queries, 3).unwrap());
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn a_file_that_is_not_an_index_is_a_file_error() {
        let path = temp_path("not-an-index");
        std::fs::write(&path, b"hello, not safetensors").unwrap();
        let error = NearestNeighbourIndex::load(&path, Device::Cpu).unwrap_err();
        assert!(matches!(&error, Error::File { path: p, .. } if p == &path), "{error}");
        // A safetensors file of another kind: no index format.
        let bytes = 0f32.to_le_bytes();
        let other = safetensors::tensor::serialize([("weights", TensorView::new(Dtype::F32, vec![1], &bytes).unwrap())], &None).unwrap();
        std::fs::write(&path, other).unwrap();
        match NearestNeighbourIndex::load(&path, Device::Cpu) {
            Err(Error::File { reason, .. }) => assert!(reason.contains("format"), "{reason}"),
            other => panic!("expected a file error, found {other:?}"),
        }
        // The right format with labels of the wrong length.
        let (references, labels) = (0f32.to_le_bytes(), 0i64.to_le_bytes().repeat(2));
        let metadata = HashMap::from([("format".to_string(), FORMAT.to_string()), ("distance".to_string(), "cosine".to_string())]);
        let views = [
            ("references", TensorView::new(Dtype::F32, vec![1, 1], &references).unwrap()),
            ("labels", TensorView::new(Dtype::I64, vec![2], &labels).unwrap()),
        ];
        std::fs::write(&path, safetensors::tensor::serialize(views, &Some(metadata)).unwrap()).unwrap();
        match NearestNeighbourIndex::load(&path, Device::Cpu) {
            Err(Error::File { reason, .. }) => assert!(reason.contains("labels"), "{reason}"),
            other => panic!("expected a file error, found {other:?}"),
        }
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(NearestNeighbourIndex::load(&path, Device::Cpu), Err(Error::File { .. })));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let references = random(10, 4, 5);
        let index = NearestNeighbourIndex::new(&references, KnnDistance::Euclidean).unwrap();
        assert!(matches!(index.search(&references, 0), Err(Error::Config(_))));
        assert!(matches!(index.search(&references.narrow(1, 0, 3), 1), Err(Error::Mismatch { .. })));
        assert!(matches!(index.search(&references.to_kind(Kind::Int64), 1), Err(Error::Mismatch { .. })));
        assert!(matches!(NearestNeighbourIndex::new(&references.narrow(0, 0, 0), KnnDistance::Cosine), Err(Error::Data(_))));
        assert!(matches!(NearestNeighbourIndex::new(&references.reshape([40]), KnnDistance::Cosine), Err(Error::Mismatch { .. })));
        let nan = references.copy();
        let _ = nan.get(2).get(1).fill_(f64::NAN);
        assert!(matches!(NearestNeighbourIndex::new(&nan, KnnDistance::Cosine), Err(Error::Data(_))));
        assert!(matches!(index.search(&nan, 1), Err(Error::Data(_))));
        let missing = std::env::temp_dir().join("no-such-folder-for-an-index").join("index.safetensors");
        assert!(matches!(index.save(&missing), Err(Error::File { path, .. }) if path == missing));
    }
}
