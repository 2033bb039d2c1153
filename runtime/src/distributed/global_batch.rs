//! The global batch on every rank: each rank's rows gathered in rank order, this rank's own rows
//! being its tensor itself, so that gradients flow back through them (and only them: the
//! other ranks' rows arrive as data).

use super::process_group::ProcessGroup;
use crate::{Error, Result};
use tch::{Device, Tensor};

/// Every rank's `local` rows, in rank order, with this rank's share being `local` itself.
///
/// # Errors
/// When the ranks hold different numbers of rows (the loader gives every rank the same share,
/// a custom step may not), or a peer fails.
pub(crate) fn gather(group: &ProcessGroup, local: &Tensor, what: &str) -> Result<Tensor> {
    let rows = local.size().first().copied().unwrap_or(0);
    let counts = group.all_gather(&Tensor::from_slice(&[rows]))?;
    let counts = Vec::<i64>::try_from(&counts)?;
    if counts.iter().any(|&n| n != rows) {
        return Err(Error::mismatch(
            format!("the {what} gathered from every rank"),
            "the same number of rows on every rank",
            format!("rows by rank {counts:?}"),
        ));
    }
    let device = local.device();
    let others = group.all_gather(&local.detach().f_to_device(Device::Cpu)?)?.f_to_device(device)?;
    let (rank, world) = (group.rank() as i64, group.world_size() as i64);
    let before = others.f_narrow(0, 0, rank * rows)?;
    let after = others.f_narrow(0, (rank + 1) * rows, (world - rank - 1) * rows)?;
    Ok(Tensor::f_cat(&[before, local.shallow_clone(), after], 0)?)
}

/// Where this rank's rows start in a global batch of `rows` per rank.
pub(crate) fn own_start(group: &ProcessGroup, rows: i64) -> i64 {
    group.rank() as i64 * rows
}
