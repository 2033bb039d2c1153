//! The k nearest references of each query, chosen on the CPU as faiss chooses them: one bounded
//! max-heap per query, fed tile after tile of scores, so that each score costs one comparison
//! with the query's current k-th best (libtorch's `topk` over every tile, then merging, costs
//! several times more at k = 100 and more). Ties go to the lower reference index, as in faiss:
//! scores arrive in increasing index order, so a score equal to the k-th best never displaces it.

use crate::Result;
use tch::{Device, Kind, Tensor};

/// The best `k` (score, reference index) pairs of each query of a block so far.
pub(crate) struct RunningBest {
    k: usize,
    /// Per query, a max-heap on (score, index): its root is the worst kept.
    heaps: Vec<Vec<(f64, i64)>>,
}

impl RunningBest {
    pub(crate) fn new(rows: usize, k: usize) -> RunningBest {
        RunningBest { k, heaps: (0..rows).map(|_| Vec::with_capacity(k)).collect() }
    }

    /// Offers a `rows x width` tile of scores (lower is nearer) whose column `j` is reference
    /// `first_index + j`; tiles must come in increasing index order.
    pub(crate) fn offer(&mut self, scores: &Tensor, first_index: i64) -> Result<()> {
        let width = scores.size()[1] as usize;
        if width == 0 {
            return Ok(());
        }
        let scores = scores.f_contiguous()?;
        let count = scores.numel();
        match scores.kind() {
            Kind::Float if scores.device() == Device::Cpu => {
                // SAFETY: a contiguous CPU tensor of kind Float holds `count` f32 values at its
                // data pointer, and `scores` owns them (unchanged) until this call returns.
                let values = unsafe { std::slice::from_raw_parts(scores.data_ptr() as *const f32, count) };
                self.offer_values(values, width, first_index);
            }
            Kind::Double if scores.device() == Device::Cpu => {
                // SAFETY: as above, with f64 values.
                let values = unsafe { std::slice::from_raw_parts(scores.data_ptr() as *const f64, count) };
                self.offer_values(values, width, first_index);
            }
            _ => self.offer_values(&Vec::<f32>::try_from(scores.f_to_kind(Kind::Float)?.f_reshape([-1])?)?, width, first_index),
        }
        Ok(())
    }

    fn offer_values<T: Copy + Into<f64> + Send + Sync>(&mut self, values: &[T], width: usize, first_index: i64) {
        let k = self.k;
        let threads = (tch::get_num_threads().max(1) as usize).min(self.heaps.len().max(1));
        let rows_per_thread = self.heaps.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (chunk, heaps) in self.heaps.chunks_mut(rows_per_thread).enumerate() {
                let first_row = chunk * rows_per_thread;
                scope.spawn(move || {
                    for (offset, heap) in heaps.iter_mut().enumerate() {
                        let row = &values[(first_row + offset) * width..(first_row + offset + 1) * width];
                        // Most scores lose to the k-th best: one comparison, no call.
                        let mut threshold = worst_kept(heap, k);
                        for (column, &score) in row.iter().enumerate() {
                            let score: f64 = score.into();
                            if score < threshold {
                                push(heap, k, (score, first_index + column as i64));
                                threshold = worst_kept(heap, k);
                            }
                        }
                    }
                });
            }
        });
    }

    /// The kept reference indices of each query, nearest first (by score, then index), as a
    /// `rows x k` int64 tensor on `device`.
    pub(crate) fn into_indices(self, device: Device) -> Result<Tensor> {
        let rows = self.heaps.len() as i64;
        let kept = self.heaps.first().map_or(0, Vec::len) as i64;
        let mut indices = Vec::with_capacity((rows * kept) as usize);
        for mut heap in self.heaps {
            heap.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            indices.extend(heap.into_iter().map(|(_, index)| index));
        }
        Ok(Tensor::from_slice(&indices).f_reshape([rows, kept])?.f_to_device(device)?)
    }
}

/// The score a candidate must beat to be kept: the worst kept once `k` are, else anything.
fn worst_kept(heap: &[(f64, i64)], k: usize) -> f64 {
    if heap.len() < k {
        f64::INFINITY
    } else {
        heap.first().map_or(f64::NEG_INFINITY, |worst| worst.0)
    }
}

/// Whether `a` is worse than `b`: a larger score, or an equal score and a larger index.
fn worse(a: (f64, i64), b: (f64, i64)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

/// Keeps the `k` best of `heap` and `candidate`.
fn push(heap: &mut Vec<(f64, i64)>, k: usize, candidate: (f64, i64)) {
    if heap.len() < k {
        heap.push(candidate);
        let mut child = heap.len() - 1;
        while child > 0 {
            let parent = (child - 1) / 2;
            if !worse(heap[child], heap[parent]) {
                break;
            }
            heap.swap(child, parent);
            child = parent;
        }
        return;
    }
    // Its index is above every kept one, so an equal score is not better (callers check this
    // first; it is kept here so that `push` is right on its own).
    if k == 0 || candidate.0 >= heap[0].0 {
        return;
    }
    heap[0] = candidate;
    let mut parent = 0;
    loop {
        let (left, right) = (2 * parent + 1, 2 * parent + 2);
        let mut worst = parent;
        if left < k && worse(heap[left], heap[worst]) {
            worst = left;
        }
        if right < k && worse(heap[right], heap[worst]) {
            worst = right;
        }
        if worst == parent {
            break;
        }
        heap.swap(parent, worst);
        parent = worst;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_smallest_with_ties_to_the_lower_index_across_tiles() {
        // One query; references 0..6 with scores 3, 1, 2, 1 | 0, 1.
        let mut best = RunningBest::new(1, 3);
        best.offer(&Tensor::from_slice(&[3.0f32, 1.0, 2.0, 1.0]).reshape([1, 4]), 0).unwrap();
        best.offer(&Tensor::from_slice(&[0.0f32, 1.0]).reshape([1, 2]), 4).unwrap();
        let indices = Vec::<i64>::try_from(best.into_indices(Device::Cpu).unwrap().reshape([-1])).unwrap();
        // 0 (ref 4), then the 1s in index order: refs 1 and 3; ref 5's 1 comes too late.
        assert_eq!(indices, [4, 1, 3]);
    }
}
