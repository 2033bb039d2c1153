//! The k nearest references of each query, chosen on the CPU from tile after tile of scores.
//!
//! Each query keeps a reservoir of candidates (faiss's `ReservoirTopN`): a score is appended
//! when it beats the query's threshold, and when the reservoir holds `2k` the best `k` are
//! selected in linear time and the threshold becomes the k-th. Each score costs one comparison,
//! each kept candidate O(1) amortised, whatever k is (a heap costs O(log k) per kept candidate,
//! and most candidates of the first tile are kept). Ties go to the lower reference index, as in
//! faiss: scores arrive in increasing index order, so a score equal to the threshold (the k-th
//! best, of a lower index) never displaces it.

use crate::{Error, Result};
use tch::Kind;

/// A score type the selection reads from tiles in place. A candidate is packed into one
/// integer, the score's bits made monotonic above the index's, so that ordering candidates by
/// (score, index) is one integer comparison.
pub(crate) trait Score: Copy + PartialOrd + Send + Sync + 'static + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> {
    const INFINITY: Self;
    const ZERO: Self;
    const KIND: Kind;
    type Packed: Ord + Copy + Send;
    fn pack(self, index: u32) -> Self::Packed;
    fn unpack(packed: Self::Packed) -> (f64, u32);
    fn score_of(packed: Self::Packed) -> Self;
    /// `c (m x n, row-major) = a (m x k, row-major) · bᵀ`, `b` being `n x k` row-major.
    fn products(a: &[Self], b: &[Self], c: &mut [Self], m: usize, k: usize, n: usize);
}

/// Checks the slices' lengths for [`Score::products`]; matrixmultiply reads raw pointers.
fn check_products<T>(a: &[T], b: &[T], c: &[T], m: usize, k: usize, n: usize) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n, "products: slices too short");
}

impl Score for f32 {
    const INFINITY: f32 = f32::INFINITY;
    const ZERO: f32 = 0.0;
    const KIND: Kind = Kind::Float;
    type Packed = u64;
    fn pack(self, index: u32) -> u64 {
        // + 0.0 makes -0.0 +0.0: they tie, as in faiss, and go to the lower index.
        let bits = (self + 0.0).to_bits();
        let monotonic = if bits >> 31 == 1 { !bits } else { bits | 1 << 31 };
        (u64::from(monotonic) << 32) | u64::from(index)
    }
    fn unpack(packed: u64) -> (f64, u32) {
        (f64::from(Self::score_of(packed)), packed as u32)
    }
    fn score_of(packed: u64) -> f32 {
        let monotonic = (packed >> 32) as u32;
        f32::from_bits(if monotonic >> 31 == 1 { monotonic & !(1 << 31) } else { !monotonic })
    }
    fn products(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
        check_products(a, b, c, m, k, n);
        // SAFETY: the lengths were checked against the dimensions and strides.
        unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, 0.0, c.as_mut_ptr(), n as isize, 1);
        }
    }
}

impl Score for f64 {
    const INFINITY: f64 = f64::INFINITY;
    const ZERO: f64 = 0.0;
    const KIND: Kind = Kind::Double;
    type Packed = u128;
    fn pack(self, index: u32) -> u128 {
        let bits = (self + 0.0).to_bits();
        let monotonic = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
        (u128::from(monotonic) << 32) | u128::from(index)
    }
    fn unpack(packed: u128) -> (f64, u32) {
        (Self::score_of(packed), packed as u32)
    }
    fn score_of(packed: u128) -> f64 {
        let monotonic = (packed >> 32) as u64;
        f64::from_bits(if monotonic >> 63 == 1 { monotonic & !(1 << 63) } else { !monotonic })
    }
    fn products(a: &[f64], b: &[f64], c: &mut [f64], m: usize, k: usize, n: usize) {
        check_products(a, b, c, m, k, n);
        // SAFETY: the lengths were checked against the dimensions and strides.
        unsafe {
            matrixmultiply::dgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, 0.0, c.as_mut_ptr(), n as isize, 1);
        }
    }
}

/// The bytes one kept candidate takes (at most: an f64 score and a 32-bit index), for sizing blocks.
pub(crate) const CANDIDATE_BYTES: usize = 16;

/// The inputs of a CPU k-NN search: row-major slices of the prepared embeddings.
pub(crate) struct Search<'a, T> {
    /// `rows x width` queries.
    pub queries: &'a [T],
    /// `n x width` references.
    pub references: &'a [T],
    /// Squared norms of the queries and the references, for squared Euclidean distances;
    /// without them the scores are negated dot products.
    pub norms: Option<(&'a [T], &'a [T])>,
    pub width: usize,
    /// How many nearest to keep per query (at least 1).
    pub k: usize,
    /// References per tile of products.
    pub tile: usize,
}

/// The `k` nearest references of each query, ordered by (score, index) as faiss orders them:
/// scores (float64, lower is nearer) and indices, each `rows x kept` row-major.
///
/// The queries are split between `threads` threads; each multiplies its queries with tile
/// after tile of references (a single-threaded matrix product) and selects from each tile
/// while it is in cache. No thread waits for another until the end, and libtorch's thread pool
/// is not used: its threads spin after each product, and on few cores that spinning, not the
/// selection, would be the cost.
pub(crate) fn nearest<T: Score>(search: &Search<'_, T>, threads: usize, workspace: &mut Workspace<T>) -> Result<(Vec<f64>, Vec<i64>, usize)> {
    let width = search.width.max(1);
    let rows = search.queries.len() / width;
    let n = search.references.len() / width;
    if u32::try_from(n).is_err() {
        return Err(Error::data(format!("k-NN: at most {} references are supported, found {n}", u32::MAX)));
    }
    let rows_per_thread = rows.div_ceil(threads.clamp(1, rows.max(1))).max(1);
    let shares = rows.div_ceil(rows_per_thread);
    workspace.parts.resize_with(shares.max(workspace.parts.len()), Part::default);
    std::thread::scope(|scope| {
        for (share, part) in workspace.parts.iter_mut().take(shares).enumerate() {
            let first_row = share * rows_per_thread;
            let count = rows_per_thread.min(rows - first_row);
            scope.spawn(move || search_rows(search, first_row, count, n, part));
        }
    });
    let parts = &workspace.parts[..shares];
    let kept = parts.iter().map(|p| p.kept).min().unwrap_or(0);
    let (mut scores, mut indices) = (Vec::with_capacity(rows * kept), Vec::with_capacity(rows * kept));
    for part in parts {
        scores.extend_from_slice(&part.scores);
        indices.extend_from_slice(&part.indices);
    }
    Ok((scores, indices, kept))
}

/// What the threads of [`nearest`] allocate, kept from one block of queries to the next: each
/// thread's tile of products, reservoirs and results. Allocated by the calling thread and
/// reused, so that the blocks do not each leave their own allocations behind.
pub(crate) struct Workspace<T: Score> {
    parts: Vec<Part<T>>,
}

impl<T: Score> Default for Workspace<T> {
    fn default() -> Self {
        Workspace { parts: Vec::new() }
    }
}

struct Part<T: Score> {
    products: Vec<T>,
    reservoirs: Vec<Reservoir<T>>,
    scores: Vec<f64>,
    indices: Vec<i64>,
    kept: usize,
}

impl<T: Score> Default for Part<T> {
    fn default() -> Self {
        Part { products: Vec::new(), reservoirs: Vec::new(), scores: Vec::new(), indices: Vec::new(), kept: 0 }
    }
}

/// One thread's share of [`nearest`]: queries `first_row..first_row + count`, into `part`.
fn search_rows<T: Score>(search: &Search<'_, T>, first_row: usize, count: usize, n: usize, part: &mut Part<T>) {
    let (width, k, tile) = (search.width, search.k.max(1), search.tile.max(1));
    let queries = &search.queries[first_row * width..(first_row + count) * width];
    part.reservoirs.resize_with(count, || Reservoir { kept: Vec::new(), threshold: T::INFINITY });
    part.reservoirs.truncate(count);
    for reservoir in &mut part.reservoirs {
        reservoir.kept.clear();
        reservoir.threshold = T::INFINITY;
    }
    part.products.resize(count * tile.min(n), T::ZERO);
    let mut start = 0;
    while start < n {
        let len = tile.min(n - start);
        let references = &search.references[start * width..(start + len) * width];
        T::products(queries, references, &mut part.products, count, width, len);
        for (row, reservoir) in part.reservoirs.iter_mut().enumerate() {
            let norms = search.norms.map(|(q, r)| (q[first_row + row], &r[start..start + len]));
            reservoir.offer(&part.products[row * len..(row + 1) * len], norms, start as u32, k);
        }
        start += len;
    }
    part.kept = part.reservoirs.iter().map(|r| r.kept.len().min(k)).min().unwrap_or(0);
    part.scores.clear();
    part.indices.clear();
    for reservoir in &mut part.reservoirs {
        reservoir.shrink(k);
        reservoir.kept.sort_unstable();
        for &packed in reservoir.kept.iter().take(part.kept) {
            let (score, index) = T::unpack(packed);
            part.scores.push(score);
            part.indices.push(i64::from(index));
        }
    }
}

struct Reservoir<T: Score> {
    /// Candidates that beat the threshold when they came; at most `2k`.
    kept: Vec<T::Packed>,
    /// What a new candidate must beat: the k-th best once `k` have been selected.
    threshold: T,
}

impl<T: Score> Reservoir<T> {
    /// Keeps the best `k` and makes the k-th the threshold.
    fn shrink(&mut self, k: usize) {
        if self.kept.len() > k {
            self.kept.select_nth_unstable(k - 1);
            self.kept.truncate(k);
            self.threshold = T::score_of(self.kept[k - 1]);
        }
    }

    /// Offers one query's row of a tile: `products` are its dot products with references
    /// `first_index..`, turned into scores (lower is nearer) chunk by chunk, as faiss turns
    /// them: `max((|q|² + |r|²) - 2 q·r, 0)` with `norms`, else `-q·r`.
    fn offer(&mut self, products: &[T], norms: Option<(T, &[T])>, first_index: u32, k: usize) {
        let capacity = 2 * k;
        let mut threshold = self.threshold;
        let mut scores = [T::INFINITY; CHUNK];
        for (chunk, products) in products.chunks(CHUNK).enumerate() {
            let scores = &mut scores[..products.len()];
            let first = chunk * CHUNK;
            match norms {
                Some((query_norm, reference_norms)) => {
                    for ((score, &product), &norm) in scores.iter_mut().zip(products).zip(&reference_norms[first..]) {
                        let distance = (query_norm + norm) - (product + product);
                        *score = if distance < T::ZERO { T::ZERO } else { distance };
                    }
                }
                None => {
                    for (score, &product) in scores.iter_mut().zip(products) {
                        *score = T::ZERO - product;
                    }
                }
            }
            // Most scores lose: a comparison the compiler vectorises marks the winners of the
            // chunk in a bit mask, and only those are read again. Ties with the threshold are
            // kept: the selection orders them by index.
            let mut winners = 0u64;
            for (bit, &score) in scores.iter().enumerate() {
                winners |= u64::from(score <= threshold) << bit;
            }
            while winners != 0 {
                let offset = winners.trailing_zeros() as usize;
                winners &= winners - 1;
                let score = scores[offset];
                // A selection within the chunk lowers the threshold for the rest of it.
                if score <= threshold {
                    self.kept.push(score.pack(first_index + (first + offset) as u32));
                    if self.kept.len() >= capacity {
                        self.shrink(k);
                        threshold = self.threshold;
                    }
                }
            }
        }
    }
}

/// Scores scanned at once for a candidate.
const CHUNK: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    /// One query at the origin of one dimension: references at `positions` score their
    /// negated products, so `-position` is each one's score; tiles of `tile`.
    fn nearest(scores: &[f32], k: usize, tile: usize) -> Vec<i64> {
        let references: Vec<f32> = scores.iter().map(|s| -s).collect();
        let search = Search { queries: &[1.0], references: &references, norms: None, width: 1, k, tile };
        super::nearest(&search, 1, &mut Workspace::default()).unwrap().1
    }

    #[test]
    fn keeps_the_k_smallest_with_ties_to_the_lower_index_across_tiles() {
        // References 0..6 with scores 3, 1, 2, 1 | 0, 1: 0 (ref 4), then the 1s in index
        // order, refs 1 and 3; ref 5's 1 comes too late.
        assert_eq!(nearest(&[3.0, 1.0, 2.0, 1.0, 0.0, 1.0], 3, 4), [4, 1, 3]);
    }

    #[test]
    fn many_selections_keep_the_exact_best() {
        // Decreasing scores force a selection every k candidates; ties every other value.
        let scores: Vec<f32> = (0..1000).map(|i| ((1000 - i) / 2) as f32).collect();
        // The smallest scores are 0 (ref 999), 1 (refs 997, 998), 2 (995, 996).
        assert_eq!(nearest(&scores, 5, 64), [999, 997, 998, 995, 996]);
    }
}

#[cfg(test)]
mod packing {
    use super::*;

    #[test]
    fn packed_order_is_score_then_index() {
        let scores = [-3.5f32, -0.0, 0.0, 1e-30, 2.0, f32::MAX, f32::INFINITY, -f32::INFINITY];
        for &a in &scores {
            assert_eq!(f32::unpack(a.pack(7)), (f64::from(a + 0.0), 7));
            assert_eq!(f64::unpack(f64::from(a).pack(7)), (f64::from(a + 0.0), 7));
            for &b in &scores {
                for (i, j) in [(1u32, 2u32), (2, 1)] {
                    let expected = (a + 0.0).partial_cmp(&(b + 0.0)).unwrap().then(i.cmp(&j));
                    assert_eq!(a.pack(i).cmp(&b.pack(j)), expected, "{a} {i} vs {b} {j}");
                    assert_eq!(f64::from(a).pack(i).cmp(&f64::from(b).pack(j)), expected, "{a} {i} vs {b} {j} (f64)");
                }
            }
        }
    }
}
