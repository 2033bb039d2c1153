//! Gradients averaged (and parameters broadcast) over the ranks in flat buckets, as DDP does: one
//! collective per bucket of about 25 MB rather than one per tensor, each bucket holding tensors
//! of one kind.

use super::process_group::ProcessGroup;
use crate::Result;
use tch::{Kind, Tensor};

/// DDP's bucket size.
pub const BUCKET_BYTES: usize = 25 * 1024 * 1024;

/// The tensors' positions grouped into buckets: in reverse order (the order backward produces
/// gradients in, as DDP fills them), one kind per bucket, each at most `bytes` unless one
/// tensor alone is larger.
pub fn plan(tensors: &[Tensor], bytes: usize) -> Vec<Vec<usize>> {
    let mut open: Vec<(Kind, usize, Vec<usize>)> = Vec::new();
    let mut full = Vec::new();
    for (position, tensor) in tensors.iter().enumerate().rev() {
        let kind = tensor.kind();
        let size = tensor.numel() * kind.elt_size_in_bytes();
        match open.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, used, members)) if *used + size <= bytes || members.is_empty() => {
                *used += size;
                members.push(position);
            }
            Some(bucket) => full.push(std::mem::replace(bucket, (kind, size, vec![position])).2),
            None => open.push((kind, size, vec![position])),
        }
    }
    full.extend(open.into_iter().map(|(_, _, members)| members));
    full
}

impl ProcessGroup {
    /// Replaces each tensor by its mean over the ranks, in buckets of at most `bytes`; every
    /// rank must pass tensors of the same shapes and kinds in the same order.
    ///
    /// # Errors
    /// As [`ProcessGroup::all_reduce_sum`].
    pub fn all_reduce_mean(&self, tensors: &[Tensor], bytes: usize) -> Result<()> {
        let world = self.world_size() as f64;
        in_buckets(tensors, bytes, |joined| {
            self.all_reduce_sum(joined)?;
            let _ = joined.f_div_scalar_(world)?;
            Ok(())
        })
    }

    /// Gives every rank the tensors as rank `root` holds them, in buckets of at most `bytes`;
    /// every rank must pass tensors of the same shapes and kinds in the same order.
    ///
    /// # Errors
    /// As [`ProcessGroup::broadcast`].
    pub fn broadcast_all(&self, tensors: &[Tensor], root: usize, bytes: usize) -> Result<()> {
        in_buckets(tensors, bytes, |joined| self.broadcast(joined, root))
    }
}

/// Each bucket of the tensors flattened into one, through `collective`, and copied back.
fn in_buckets(tensors: &[Tensor], bytes: usize, mut collective: impl FnMut(&mut Tensor) -> Result<()>) -> Result<()> {
    for bucket in plan(tensors, bytes) {
        let flat: Vec<Tensor> = bucket.iter().map(|&i| tensors[i].detach().reshape([-1])).collect();
        let mut joined = Tensor::f_cat(&flat, 0)?;
        collective(&mut joined)?;
        let mut offset = 0;
        for &i in &bucket {
            let n = tensors[i].numel() as i64;
            // `detach` shares the storage: the copy lands in the tensor (a parameter or its
            // gradient) without autograd seeing an in-place write to a leaf.
            let mut target = tensors[i].detach();
            target.f_copy_(&joined.narrow(0, offset, n).view(tensors[i].size().as_slice()))?;
            offset += n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn buckets_follow_reverse_order_keep_kinds_apart_and_respect_the_size() {
        let t = |n: i64, kind: Kind| Tensor::zeros([n], (kind, Device::Cpu));
        // 4-byte floats: 10, 10, 30 elements; a double tensor in between.
        let tensors = [t(10, Kind::Float), t(10, Kind::Float), t(5, Kind::Double), t(30, Kind::Float)];
        assert_eq!(plan(&tensors, 80), vec![vec![3], vec![1, 0], vec![2]]);
        assert_eq!(plan(&tensors, 1 << 20), vec![vec![3, 1, 0], vec![2]]);
        // A tensor larger than a bucket gets one of its own.
        assert_eq!(plan(&tensors, 8), vec![vec![3], vec![1], vec![0], vec![2]]);
    }
}
