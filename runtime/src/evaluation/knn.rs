//! Exact k-nearest-neighbour search in blocks, ordered as faiss's `IndexFlatL2` orders it.
//!
//! Queries are taken `query_block` rows at a time and compared with the references
//! `reference_block` rows at a time: one tile of scores is alive at once, and each query block
//! keeps a running top-k that the next reference tile is merged into. Peak memory is therefore
//! `query_block x reference_block` scores plus `query_block x k` neighbours, never n x n.

use super::accuracy_calculator::KnnDistance;
use super::select::{self, Score, Search, Workspace, CANDIDATE_BYTES};
use crate::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Largest magnitudes whose squares and sums of squares over any width float32 holds, as normal
/// numbers: embeddings in this range are not rescaled (no copy).
const SAFE_MAGNITUDES: (f64, f64) = (1.0 / (1u64 << 40) as f64, (1u64 << 40) as f64);

/// The memory the kept candidates of one query block may take.
const CANDIDATE_BUDGET: i64 = 64 << 20;

/// How many queries and references one tile of scores spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// Queries per block.
    pub query: i64,
    /// References per tile.
    pub reference: i64,
}

impl Default for Blocks {
    /// 1024 queries, in tiles of 512 references: each thread's share of a tile (1 MB of float32
    /// on two threads) stays in its core's cache while it is selected from, and a block is
    /// large enough for its fixed costs not to count. Measured with `bench/accuracy_vs_pml`.
    fn default() -> Blocks {
        Blocks { query: 1024, reference: 512 }
    }
}

/// Embeddings made ready for scoring: on one device, in one float kind, rescaled (and
/// normalised for cosine) so that squares neither overflow nor underflow.
pub(crate) struct Prepared {
    query: Tensor,
    reference: Tensor,
    /// Squared norms of the references (Euclidean only).
    reference_norms: Option<Tensor>,
    /// Squared norms of the queries (Euclidean only), computed once: a libtorch operation per
    /// block would wake its thread pool, whose spinning then slows the search's threads.
    query_norms: Option<Tensor>,
    distance: KnnDistance,
}

impl Prepared {
    /// `query` and `reference` must be finite 2-D tensors of the same width on one device.
    pub(crate) fn new(query: &Tensor, reference: &Tensor, kind: Kind, distance: KnnDistance) -> Result<Prepared> {
        // A set against itself (get_accuracy) is prepared once, not copied twice.
        let same = is_same_tensor(query, reference);
        // Contiguous, so that the CPU search reads them in place.
        let (mut query, mut reference) = (query.f_to_kind(kind)?.f_contiguous()?, reference.f_to_kind(kind)?.f_contiguous()?);
        // Every ranking here is invariant under one positive scale for both sets, and a power
        // of two scales exactly: bring the largest magnitude to [0.5, 1) so that 1e18 or 1e-30
        // embeddings rank as faithfully as unit-sized ones (float32 squares of 1e18 overflow).
        let largest = largest_magnitude(&query)?.max(largest_magnitude(&reference)?);
        if largest > 0.0 && !(SAFE_MAGNITUDES.0..=SAFE_MAGNITUDES.1).contains(&largest) {
            let scale = 2f64.powi(-(largest.log2().floor() as i32) - 1);
            query = query.f_mul_scalar(scale)?;
            if !same {
                reference = reference.f_mul_scalar(scale)?;
            }
        }
        if distance == KnnDistance::Cosine {
            query = normalize_rows(&query)?;
            if !same {
                reference = normalize_rows(&reference)?;
            }
        }
        if same {
            reference = query.shallow_clone();
        }
        let reference_norms = match distance {
            KnnDistance::Euclidean => Some(squared_norms(&reference)?),
            _ => None,
        };
        let query_norms = match &reference_norms {
            Some(norms) if same => Some(norms.shallow_clone()),
            Some(_) => Some(squared_norms(&query)?),
            None => None,
        };
        Ok(Prepared { query, reference, reference_norms, query_norms, distance })
    }

    /// Number of references.
    pub(crate) fn references(&self) -> i64 {
        self.reference.size()[0]
    }

    /// Scores of `queries` (a narrow of the prepared query) against references
    /// `[start, start + len)`: lower is nearer. Squared L2 clamped at zero as faiss computes
    /// it, or the negated similarity.
    fn scores(&self, queries: &Tensor, query_norms: Option<&Tensor>, start: i64, len: i64) -> Result<Tensor> {
        let references = self.reference.f_narrow(0, start, len)?.f_transpose(0, 1)?;
        match (self.distance, &self.reference_norms, query_norms) {
            (KnnDistance::Euclidean, Some(norms), Some(query_norms)) => {
                // faiss's order of operations, (|q|² + |r|²) - 2 q·r, for its rounding (the
                // doubling is exact), with the product accumulated into the sum of norms by
                // one matrix product: one tile alive, and two passes over it fewer.
                let mut scores = query_norms.f_unsqueeze(1)?.f_add(&norms.f_narrow(0, start, len)?.f_unsqueeze(0)?)?;
                let _ = scores.f_addmm_(&queries.f_mul_scalar(-2.0)?, &references)?;
                let _ = scores.f_clamp_min_(0.0)?;
                Ok(scores)
            }
            _ => {
                let mut products = queries.f_matmul(&references)?;
                let _ = products.f_neg_()?;
                Ok(products)
            }
        }
    }

    /// Calls `each(start, neighbours)` for each block of queries, in order, with the `k`
    /// nearest references of each query of the block, ordered by (score, index) as faiss
    /// orders them. With `drop_self`, the query is the reference's first rows: `k + 1` are
    /// searched and each row's own index removed (or, when ties pushed it out of the list, the
    /// last column), as PML's FaissKNN does.
    pub(crate) fn for_each_block(
        &self,
        k: i64,
        drop_self: bool,
        blocks: Blocks,
        mut each: impl FnMut(i64, &Neighbours) -> Result<()>,
    ) -> Result<()> {
        if blocks.query < 1 || blocks.reference < 1 {
            return Err(Error::config(format!(
                "k-NN block sizes must be at least 1, found {} queries x {} references",
                blocks.query, blocks.reference
            )));
        }
        let n_query = self.query.size()[0];
        let n_reference = self.references();
        let searched = (k + i64::from(drop_self)).min(n_reference);
        // The candidates kept per query grow with k: fewer queries per block when k is large,
        // so that they stay within the budget too.
        let candidate_bytes = 2 * searched.max(1) * CANDIDATE_BYTES as i64;
        let query_block = blocks.query.min((CANDIDATE_BUDGET / candidate_bytes).max(1));
        let mut workspaces = Workspaces::default();
        let mut start = 0;
        while start < n_query {
            let rows = query_block.min(n_query - start);
            let mut neighbours = if searched == 0 {
                Neighbours { scores: Vec::new(), indices: Vec::new(), rows: rows as usize, found: 0 }
            } else {
                self.nearest(start, rows, searched, blocks.reference, &mut workspaces)?
            };
            if drop_self {
                neighbours = neighbours.without_self(start);
            }
            each(start, &neighbours)?;
            start += rows;
        }
        Ok(())
    }

    /// The `searched` nearest references of queries `start..start + rows`.
    fn nearest(&self, start: i64, rows: i64, searched: i64, tile: i64, workspaces: &mut Workspaces) -> Result<Neighbours> {
        let queries = self.query.f_narrow(0, start, rows)?;
        let query_norms = match &self.query_norms {
            Some(norms) => Some(norms.f_narrow(0, start, rows)?),
            None => None,
        };
        let device = self.query.device();
        if device != Device::Cpu {
            return self.nearest_by_topk(&queries, query_norms.as_ref(), searched, tile);
        }
        match queries.kind() {
            Kind::Double => self.nearest_on_cpu(&queries, query_norms.as_ref(), searched, tile, &mut workspaces.double),
            _ => self.nearest_on_cpu(&queries, query_norms.as_ref(), searched, tile, &mut workspaces.float),
        }
    }

    /// [`select::nearest`] on the prepared CPU tensors, read in place.
    fn nearest_on_cpu<T: Score>(
        &self,
        queries: &Tensor,
        query_norms: Option<&Tensor>,
        searched: i64,
        tile: i64,
        workspace: &mut Workspace<T>,
    ) -> Result<Neighbours> {
        let queries = queries.f_contiguous()?;
        let width = queries.size()[1] as usize;
        let rows = queries.size()[0];
        let norms = match (query_norms, &self.reference_norms) {
            (Some(q), Some(r)) => Some((q.shallow_clone(), r.shallow_clone())),
            _ => None,
        };
        let search = Search {
            queries: slice::<T>(&queries)?,
            references: slice::<T>(&self.reference)?,
            norms: match &norms {
                Some((q, r)) => Some((slice::<T>(q)?, slice::<T>(r)?)),
                None => None,
            },
            width,
            k: searched as usize,
            tile: tile as usize,
        };
        let (scores, indices, found) = select::nearest(&search, tch::get_num_threads().max(1) as usize, workspace)?;
        Ok(Neighbours { scores, indices, rows: rows as usize, found })
    }

    /// The `searched` nearest references of each of `queries`, ordered by (score, index), with
    /// libtorch's `topk` per tile and a merge: the path for tensors off the CPU.
    fn nearest_by_topk(&self, queries: &Tensor, query_norms: Option<&Tensor>, searched: i64, tile: i64) -> Result<Neighbours> {
        let n_reference = self.references();
        // The running best of this query block: scores and global reference indices,
        // ordered by (score, index).
        let mut best: Option<(Tensor, Tensor)> = None;
        let mut tile_start = 0;
        while tile_start < n_reference {
            let len = tile.min(n_reference - tile_start);
            let scores = self.scores(queries, query_norms, tile_start, len)?;
            let (values, columns) = smallest(&scores, searched)?;
            let indices = columns.f_add_scalar(tile_start)?;
            best = Some(match best {
                None => (values, indices),
                // Every index kept so far is below this tile's: a stable sort on the
                // scores of [best | tile] keeps the (score, index) order.
                Some((best_values, best_indices)) => {
                    let values = Tensor::f_cat(&[best_values, values], 1)?;
                    let indices = Tensor::f_cat(&[best_indices, indices], 1)?;
                    let (sorted, order) = values.f_sort_stable(true, 1, false)?;
                    let keep = searched.min(sorted.size()[1]);
                    (sorted.f_narrow(1, 0, keep)?, indices.f_gather(1, &order, false)?.f_narrow(1, 0, keep)?)
                }
            });
            tile_start += len;
        }
        match best {
            Some((scores, indices)) => {
                let (rows, found) = (indices.size()[0] as usize, indices.size()[1] as usize);
                let cpu = |t: &Tensor, kind| t.f_to_device(Device::Cpu)?.f_to_kind(kind)?.f_reshape([-1]);
                let scores = Vec::<f64>::try_from(cpu(&scores, Kind::Double)?)?;
                let indices = Vec::<i64>::try_from(cpu(&indices, Kind::Int64)?)?;
                Ok(Neighbours { scores, indices, rows, found })
            }
            None => Err(Error::data("k-NN: the reference set is empty")),
        }
    }
}

/// The `k` smallest scores of each row and their columns, ordered by (score, column): faiss
/// breaks ties by the lower index, `topk` by none in particular.
fn smallest(scores: &Tensor, k: i64) -> Result<(Tensor, Tensor)> {
    let width = scores.size()[1];
    if k >= width {
        // Columns are in index order, so a stable sort is (score, column) order.
        return Ok(scores.f_sort_stable(true, 1, false)?);
    }
    // The k + 1 smallest, in order: a row whose k-th and (k + 1)-th scores are equal has a tie
    // at the cutoff, where topk chose among the tied at random; a stable sort of that row keeps
    // the lowest columns. Rare outside duplicated embeddings, and found without another pass
    // over the tile.
    let (values, columns) = scores.f_topk(k + 1, 1, false, true)?;
    let tied = values.f_narrow(1, k - 1, 1)?.f_eq_tensor(&values.f_narrow(1, k, 1)?)?.f_squeeze_dim(1)?.f_nonzero()?.f_squeeze_dim(1)?;
    let mut columns = columns.f_narrow(1, 0, k)?.f_contiguous()?;
    if tied.size()[0] > 0 {
        let (_, order) = scores.f_index_select(0, &tied)?.f_sort_stable(true, 1, false)?;
        columns = columns.f_index_copy(0, &tied, &order.f_narrow(1, 0, k)?)?;
    }
    // Order the chosen by column, then stably by score: (score, column) order.
    let (columns, _) = columns.f_sort(1, false)?;
    let values = scores.f_gather(1, &columns, false)?;
    let (values, order) = values.f_sort_stable(true, 1, false)?;
    Ok((values, columns.f_gather(1, &order, false)?))
}

/// The CPU search's buffers, for either float kind, kept across query blocks.
#[derive(Default)]
struct Workspaces {
    float: Workspace<f32>,
    double: Workspace<f64>,
}

/// The nearest references of a block of queries, nearest first: `rows x found`, row-major.
pub(crate) struct Neighbours {
    /// Lower is nearer: squared L2 or the negated similarity, of the prepared (rescaled)
    /// embeddings.
    pub scores: Vec<f64>,
    /// Reference indices.
    pub indices: Vec<i64>,
    pub rows: usize,
    pub found: usize,
}

impl Neighbours {
    /// Row `row`'s reference indices.
    pub(crate) fn row(&self, row: usize) -> &[i64] {
        &self.indices[row * self.found..(row + 1) * self.found]
    }

    /// Drops from each row (queries `start..`) the column holding the row's own index, or its
    /// last column when the own index is not there (PML's `return_results`).
    fn without_self(&self, start: i64) -> Neighbours {
        let found = self.found.saturating_sub(1);
        let (mut scores, mut indices) = (Vec::with_capacity(self.rows * found), Vec::with_capacity(self.rows * found));
        for row in 0..self.rows {
            let own = start + row as i64;
            let columns = row * self.found..(row + 1) * self.found;
            // Rows without their own index lose their last column instead.
            let dropped = self.indices[columns.clone()].iter().position(|&i| i == own).unwrap_or(found);
            for (column, position) in columns.enumerate() {
                if column != dropped {
                    scores.push(self.scores[position]);
                    indices.push(self.indices[position]);
                }
            }
        }
        Neighbours { scores, indices, rows: self.rows, found }
    }
}

/// The values of a contiguous CPU tensor of `T`'s kind, borrowed in place.
fn slice<T: Score>(t: &Tensor) -> Result<&[T]> {
    if t.kind() != T::KIND || t.device() != Device::Cpu || !t.is_contiguous() {
        return Err(Error::data(format!("k-NN: expected a contiguous CPU tensor of {:?}, found {:?} on {:?}", T::KIND, t.kind(), t.device())));
    }
    // SAFETY: a contiguous CPU tensor of T's kind holds numel() values of T at its data
    // pointer; the slice borrows `t`, which owns them and is not written while borrowed.
    Ok(unsafe { std::slice::from_raw_parts(t.data_ptr() as *const T, t.numel()) })
}

/// Whether `a` and `b` view the same memory the same way (a set scored against itself).
pub(crate) fn is_same_tensor(a: &Tensor, b: &Tensor) -> bool {
    a.data_ptr() == b.data_ptr() && a.size() == b.size() && a.stride() == b.stride() && a.kind() == b.kind() && a.device() == b.device()
}

/// max |x|, without a copy of `x`.
fn largest_magnitude(x: &Tensor) -> Result<f64> {
    let (min, max) = x.f_aminmax(None, false)?;
    Ok(min.f_double_value(&[])?.abs().max(max.f_double_value(&[])?.abs()))
}

/// Rows at a time for whole-set passes (norms, checks): their temporaries stay small.
pub(crate) const ROW_CHUNK: i64 = 16384;

/// `f(chunk)` for consecutive chunks of `ROW_CHUNK` rows of `x`, concatenated.
pub(crate) fn by_row_chunks(x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let rows = x.size()[0];
    let mut parts = Vec::new();
    let mut start = 0;
    while start < rows {
        let len = ROW_CHUNK.min(rows - start);
        parts.push(f(&x.f_narrow(0, start, len)?)?);
        start += len;
    }
    if parts.is_empty() {
        return Ok(f(x)?);
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Each row's sum of squares, a chunk of rows at a time (a whole-set square would be a copy of
/// the set).
fn squared_norms(x: &Tensor) -> Result<Tensor> {
    by_row_chunks(x, |chunk| Ok(chunk.f_square()?.f_sum_dim_intlist([1i64].as_slice(), false, chunk.kind())?))
}

/// Rows divided by their L2 norm (zero rows stay zero), as `F.normalize`.
fn normalize_rows(x: &Tensor) -> Result<Tensor> {
    let norms = squared_norms(x)?.f_sqrt()?.f_clamp_min(1e-12)?.f_unsqueeze(1)?;
    Ok(x.f_div(&norms)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neighbours(x: &Tensor, k: i64, drop_self: bool, blocks: Blocks) -> Vec<Vec<i64>> {
        let prepared = Prepared::new(x, x, Kind::Float, KnnDistance::Euclidean).unwrap();
        let mut all = Vec::new();
        prepared
            .for_each_block(k, drop_self, blocks, |_, n| {
                all.extend((0..n.rows).map(|row| n.row(row).to_vec()));
                Ok(())
            })
            .unwrap();
        all
    }

    #[test]
    fn ties_go_to_the_lower_index_whatever_the_blocks() {
        // Rows 1, 3 and 4 are the same point: from row 0 they tie.
        let x = Tensor::from_slice(&[0.0f32, 5.0, 9.0, 5.0, 5.0, 7.0]).unsqueeze(1);
        for (q, r) in [(1, 1), (2, 2), (6, 6), (1, 4), (4, 1)] {
            let n = neighbours(&x, 3, false, Blocks { query: q, reference: r });
            assert_eq!(n[0], vec![0, 1, 3], "blocks {q} x {r}");
            // Self removal by index: row 3's own index is dropped, its twins stay first.
            let n = neighbours(&x, 3, true, Blocks { query: q, reference: r });
            assert_eq!(n[3], vec![1, 4, 5], "blocks {q} x {r}");
        }
    }

    #[test]
    fn a_row_pushed_out_by_ties_loses_its_last_column() {
        let neighbours = Neighbours { scores: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], indices: vec![4, 7, 9, 0, 1, 2], rows: 2, found: 3 };
        let kept = neighbours.without_self(0);
        assert_eq!(kept.indices, [4, 7, 0, 2]);
        assert_eq!(kept.scores, [0.0, 1.0, 3.0, 5.0]);
    }
}
