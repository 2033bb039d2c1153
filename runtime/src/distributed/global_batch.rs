//! The global batch on every rank: each rank's rows gathered in rank order, this rank's own rows
//! being its tensors themselves, so that gradients flow back through them (and only them: the
//! other ranks' rows arrive as data).
//!
//! One exchange carries every tensor of a call (embeddings and labels packed side by side as
//! bytes), and the last exchange is kept: a miner and a loss wrapped on the same embeddings in
//! one step exchange them once. Collectives are slow next to a small model's step (about half a
//! millisecond each for a few kilobytes between two processes here).

use super::process_group::ProcessGroup;
use crate::losses::Reference;
use crate::{Error, Result};
use std::cell::RefCell;
use tch::{Device, Kind, Tensor};

/// What the last exchange on this thread sent and received.
struct Exchange {
    group: *const ProcessGroup,
    /// The inputs, detached: they keep the storage alive, so that a new tensor cannot take the
    /// same address, and share the version counter that in-place writes advance.
    sent: Vec<(Tensor, i64)>,
    /// Every rank's rows of each input, as data.
    received: Vec<Tensor>,
}

thread_local! {
    static LAST: RefCell<Option<Exchange>> = const { RefCell::new(None) };
}

/// Every rank's rows of each of `locals` (all with the same number of rows), in rank order,
/// with this rank's share being the local tensor itself.
///
/// # Errors
/// When the ranks hold different numbers of rows or widths (the loader gives every rank the
/// same share, a custom step may not): Gloo would abort the process on such an exchange. Or a
/// peer fails.
pub(crate) fn gather(group: &ProcessGroup, locals: &[&Tensor], what: &str) -> Result<Vec<Tensor>> {
    let rows = locals.first().and_then(|t| t.size().first().copied()).unwrap_or(0);
    let received = match cached(group, locals) {
        Some(received) => received,
        None => {
            let received = exchange(group, locals, rows, what)?;
            let sent = locals.iter().map(|t| (t.detach(), t.f_internal_version().unwrap_or(-1))).collect();
            LAST.with(|last| *last.borrow_mut() = Some(Exchange { group, sent, received: received.iter().map(Tensor::shallow_clone).collect() }));
            received
        }
    };
    let (rank, world) = (group.rank() as i64, group.world_size() as i64);
    locals
        .iter()
        .zip(received)
        .map(|(local, all)| {
            let all = all.f_to_device(local.device())?;
            let before = all.f_narrow(0, 0, rank * rows)?;
            let after = all.f_narrow(0, (rank + 1) * rows, (world - rank - 1) * rows)?;
            Ok(Tensor::f_cat(&[before, local.shallow_clone(), after], 0)?)
        })
        .collect()
}

/// The last exchange's result, when it sent these very tensors, unchanged since, on this group.
fn cached(group: &ProcessGroup, locals: &[&Tensor]) -> Option<Vec<Tensor>> {
    LAST.with(|last| {
        let last = last.borrow();
        let exchange = last.as_ref()?;
        let same = std::ptr::eq(exchange.group, group)
            && exchange.sent.len() == locals.len()
            && exchange.sent.iter().zip(locals).all(|((sent, version), local)| {
                sent.data_ptr() == local.data_ptr()
                    && sent.size() == local.size()
                    && sent.stride() == local.stride()
                    && sent.kind() == local.kind()
                    && sent.device() == local.device()
                    && local.f_internal_version().is_ok_and(|v| v == *version)
            });
        same.then(|| exchange.received.iter().map(Tensor::shallow_clone).collect())
    })
}

/// One all-gather of the inputs packed as bytes, row by row, after one of the packed shape.
fn exchange(group: &ProcessGroup, locals: &[&Tensor], rows: i64, what: &str) -> Result<Vec<Tensor>> {
    let mut parts = Vec::new();
    for local in locals {
        if local.size().first().copied().unwrap_or(0) != rows {
            return Err(Error::mismatch(what, format!("{rows} rows in every tensor gathered"), format!("a tensor of shape {:?}", local.size())));
        }
        parts.push(local.detach().f_to_device(Device::Cpu)?.f_contiguous()?.f_reshape([rows, -1])?.f_view_dtype(Kind::Uint8)?);
    }
    let packed = Tensor::f_cat(&parts, 1)?;
    let width = packed.size()[1];
    let shapes = Vec::<i64>::try_from(&group.all_gather(&Tensor::from_slice(&[rows, width]))?)?;
    if shapes.chunks(2).any(|shape| shape != [rows, width]) {
        let by_rank: Vec<String> = shapes.chunks(2).map(|s| format!("{} rows of {} bytes", s[0], s[1])).collect();
        return Err(Error::mismatch(
            format!("the {what} gathered from every rank"),
            "the same number of rows, of the same shape, on every rank",
            format!("by rank: {}", by_rank.join(", ")),
        ));
    }
    let all = group.all_gather(&packed)?;
    let mut offset = 0;
    let mut unpacked = Vec::new();
    for (local, part) in locals.iter().zip(&parts) {
        let bytes = part.size()[1];
        let mut shape = local.size();
        if shape.is_empty() {
            shape.push(1);
        }
        shape[0] *= group.world_size() as i64;
        let columns = all.f_narrow(1, offset, bytes)?.f_contiguous()?.f_view_dtype(local.kind())?;
        unpacked.push(columns.f_reshape(shape.as_slice())?);
        offset += bytes;
    }
    Ok(unpacked)
}

/// [`gather`] of embeddings and their labels.
pub(crate) fn gather_pair(group: &ProcessGroup, embeddings: &Tensor, labels: &Tensor, what: &str) -> Result<(Tensor, Tensor)> {
    let mut all = gather(group, &[embeddings, labels], what)?.into_iter();
    match (all.next(), all.next()) {
        (Some(embeddings), Some(labels)) => Ok((embeddings, labels)),
        _ => Err(Error::Distributed(format!("gathering the {what}: two tensors sent, fewer received"))),
    }
}

/// [`gather_pair`] of a loss's or miner's reference embeddings, when it was given some.
pub(crate) fn gather_reference(group: &ProcessGroup, reference: Option<Reference<'_>>) -> Result<Option<(Tensor, Tensor)>> {
    reference.map(|r| gather_pair(group, r.embeddings, r.labels, "reference embeddings and labels")).transpose()
}

/// Where this rank's rows start in a global batch of `rows` per rank.
pub(crate) fn own_start(group: &ProcessGroup, rows: i64) -> i64 {
    group.rank() as i64 * rows
}
