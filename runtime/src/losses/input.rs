//! What every metric loss and miner does first (PML's `BaseMetricLossFunction.forward`): check
//! shapes, move labels to the embeddings' device, and default the reference to the queries.

use super::Reference;
use crate::distances::Distance;
use crate::indices::{all_pairs, dense_triplets, triplet_pairs_reading, Tuples};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The checks PML makes on every loss and miner input, with the module named.
pub(crate) fn check_embeddings(module: &str, embeddings: &Tensor, labels: &Tensor) -> Result<()> {
    check_shapes(module, embeddings, labels)?;
    check_nan(module, embeddings, &nan_suspect(embeddings))
}

/// The shape checks alone: they read nothing from the device.
fn check_shapes(module: &str, embeddings: &Tensor, labels: &Tensor) -> Result<()> {
    let e = embeddings.size();
    let l = labels.size();
    if e.len() != 2 {
        return Err(Error::data(format!("{module}: embeddings must be 2-D (batch, width), found shape {e:?}")));
    }
    if l.len() != 1 {
        return Err(Error::data(format!("{module}: labels must be 1-D (batch,), found shape {l:?}")));
    }
    if e[0] != l[0] {
        return Err(Error::data(format!("{module}: {} embeddings but {} labels; they must be equal", e[0], l[0])));
    }
    if e[0] == 0 {
        return Err(Error::data(format!("{module}: the batch is empty (embeddings of shape {e:?})")));
    }
    Ok(())
}

/// 1 (an `Int64` scalar on the device) when the embeddings may hold a NaN, else 0. A NaN would
/// otherwise surface as a NaN loss, or as a zero loss when every tuple's value is filtered
/// out, far from its cause. A NaN makes the sum NaN, and summing costs a fifth of
/// `isnan().any()`; only a NaN sum (a NaN, or infinities of both signs) needs the exact check.
fn nan_suspect(embeddings: &Tensor) -> Tensor {
    tch::no_grad(|| embeddings.sum(embeddings.kind()).isnan().to_kind(Kind::Int64))
}

/// The error when embeddings whose sum was NaN (`suspect`, read) hold a NaN.
fn check_nan(module: &str, embeddings: &Tensor, suspect: &Tensor) -> Result<()> {
    if suspect.int64_value(&[]) != 0 && embeddings.isnan().any().int64_value(&[]) != 0 {
        return Err(Error::data(format!("{module}: the embeddings (shape {:?}) contain NaN", embeddings.size())));
    }
    Ok(())
}

/// The tuples' index lists in groups that share a bound (anchors index the queries,
/// positives and negatives the references), with each group's smallest and largest index on
/// the device: `[min, max]` per group.
struct TupleRanges {
    groups: Vec<(&'static str, i64)>,
    extremes: Tensor,
}

impl TupleRanges {
    fn check(&self, module: &str, extremes: &[i64]) -> Result<()> {
        for ((name, bound), range) in self.groups.iter().zip(extremes.chunks(2)) {
            if let Some(outside) = range.iter().find(|&&index| index < 0 || index >= *bound) {
                return Err(Error::data(format!("{module}: the tuples' {name} must lie in 0..{bound}; found {outside}")));
            }
        }
        Ok(())
    }
}

/// The checks of tuples given to a loss that read nothing from the device (1-D `Int64` lists
/// of matching lengths), and the range check to read with the call's other counts.
fn tuple_ranges(module: &str, tuples: &Tuples, rows: i64, columns: i64) -> Result<Option<TupleRanges>> {
    let (anchors, others, lengths_match): (Vec<&Tensor>, Vec<&Tensor>, bool) = match tuples {
        Tuples::Pairs { a1, p, a2, n } => (vec![a1, a2], vec![p, n], a1.size() == p.size() && a2.size() == n.size()),
        Tuples::Triplets { a, p, n } => (vec![a], vec![p, n], a.size() == p.size() && p.size() == n.size()),
    };
    for list in anchors.iter().chain(&others) {
        if list.dim() != 1 || list.kind() != Kind::Int64 {
            return Err(Error::data(format!("{module}: tuples must be 1-D Int64 index lists, found {:?} of shape {:?}", list.kind(), list.size())));
        }
    }
    if !lengths_match {
        let lengths: Vec<i64> = anchors.iter().chain(&others).map(|l| l.size()[0]).collect();
        return Err(Error::data(format!("{module}: the tuples' index lists must pair up one to one, found lengths {lengths:?}")));
    }
    // One group when anchors and the others index the same rows (no reference embeddings).
    let groups: Vec<(&'static str, Vec<&Tensor>, i64)> = if rows == columns {
        vec![("indices", anchors.into_iter().chain(others).collect(), rows)]
    } else {
        vec![("anchors", anchors, rows), ("positives and negatives", others, columns)]
    };
    let mut bounds = Vec::new();
    let mut extremes = Vec::new();
    for (name, lists, bound) in groups {
        let lists: Vec<&Tensor> = lists.into_iter().filter(|l| l.numel() > 0).collect();
        if !lists.is_empty() {
            let (smallest, largest) = Tensor::cat(&lists, 0).aminmax(None, false);
            extremes.extend([smallest, largest]);
            bounds.push((name, bound));
        }
    }
    Ok((!bounds.is_empty()).then(|| TupleRanges { groups: bounds, extremes: Tensor::stack(&extremes, 0) }))
}

/// Checked inputs of one loss or miner call.
pub(crate) struct LossInput<'a> {
    pub embeddings: &'a Tensor,
    pub labels: Tensor,
    pub ref_embeddings: &'a Tensor,
    /// `None` when the queries are their own references (then a sample is not its own positive).
    pub ref_labels: Option<Tensor>,
    module: &'a str,
    /// The NaN check still to read (see [`LossInput::deferred`]): the suspects of the
    /// embeddings and of the reference.
    nan_suspects: Option<(Tensor, Option<Tensor>)>,
    /// The tuples' range check still to read.
    tuple_ranges: Option<TupleRanges>,
}

impl<'a> LossInput<'a> {
    /// Checks shapes, NaN and the tuples' indices (one read from the device).
    pub fn new(module: &'a str, embeddings: &'a Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'a>>) -> Result<LossInput<'a>> {
        let mut input = LossInput::deferred(module, embeddings, labels, indices, reference)?;
        input.read(&[])?;
        Ok(input)
    }

    /// Checks shapes now, and NaN and the tuples' index ranges with the call's first
    /// [`LossInput::read`], so that a call that reads counts from the device reads once: the
    /// caller must read before it uses the tuples' indices.
    pub fn deferred(module: &'a str, embeddings: &'a Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'a>>) -> Result<LossInput<'a>> {
        check_shapes(module, embeddings, labels)?;
        let device = embeddings.device();
        let labels = labels.to_device(device).to_kind(Kind::Int64);
        let (ref_embeddings, ref_labels) = match reference {
            None => (embeddings, None),
            Some(r) => {
                check_shapes(&format!("{module} (reference)"), r.embeddings, r.labels)?;
                if r.embeddings.size()[1] != embeddings.size()[1] {
                    return Err(Error::data(format!(
                        "{module}: embeddings of width {} but reference embeddings of width {}",
                        embeddings.size()[1],
                        r.embeddings.size()[1]
                    )));
                }
                (r.embeddings, Some(r.labels.to_device(device).to_kind(Kind::Int64)))
            }
        };
        let nan_suspects = Some((nan_suspect(embeddings), ref_labels.as_ref().map(|_| nan_suspect(ref_embeddings))));
        let tuple_ranges = match indices {
            Some(tuples) => tuple_ranges(module, tuples, embeddings.size()[0], ref_embeddings.size()[0])?,
            None => None,
        };
        Ok(LossInput { embeddings, labels, ref_embeddings, ref_labels, module, nan_suspects, tuple_ranges })
    }

    /// `counts` (`Int64` scalars) from the device in one transfer, with the NaN check when it
    /// is still to be done.
    ///
    /// # Errors
    /// When the embeddings or the reference embeddings hold a NaN.
    pub fn read(&mut self, counts: &[Tensor]) -> Result<Vec<i64>> {
        let suspects = self.nan_suspects.take();
        let ranges = self.tuple_ranges.take();
        let mut values: Vec<Tensor> = counts.iter().map(|c| c.to_kind(Kind::Int64).reshape([1])).collect();
        if let Some(ranges) = &ranges {
            values.push(ranges.extremes.shallow_clone());
        }
        if let Some((queries, reference)) = &suspects {
            values.push(queries.reshape([1]));
            values.extend(reference.iter().map(|r| r.reshape([1])));
        }
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let read = Vec::<i64>::try_from(Tensor::cat(&values, 0).to_device(tch::Device::Cpu)).map_err(|e| Error::data(format!("{}: reading counts from the device: {e}", self.module)))?;
        let mut next = counts.len();
        if let Some(ranges) = &ranges {
            let extremes = 2 * ranges.groups.len();
            ranges.check(self.module, &read[next..next + extremes])?;
            next += extremes;
        }
        if let Some((_, reference)) = &suspects {
            let module = self.module;
            check_nan(module, self.embeddings, &Tensor::from(read[next]))?;
            if reference.is_some() {
                check_nan(&format!("{module} (reference)"), self.ref_embeddings, &Tensor::from(read[next + 1]))?;
            }
        }
        Ok(read[..counts.len()].to_vec())
    }

    /// The pairs two (rows, columns) masks mark, row-major (as `nonzero` lists them), with
    /// their counts read in the call's one transfer.
    ///
    /// # Errors
    /// As [`LossInput::read`].
    pub fn pairs_of_masks(&mut self, positive: &Tensor, negative: &Tensor) -> Result<Tuples> {
        if positive.device() == tch::Device::Cpu {
            // On the CPU nothing waits for a read, and `nonzero` counts as it lists.
            self.read(&[])?;
            return Ok(Tuples::from_masks(positive, negative));
        }
        let counts = self.read(&[positive.sum(Kind::Int64), negative.sum(Kind::Int64)])?;
        Ok(Tuples::from_counted_masks(positive, negative, counts[0], counts[1]))
    }

    pub fn rows(&self) -> i64 {
        self.embeddings.size()[0]
    }

    pub fn columns(&self) -> i64 {
        self.ref_embeddings.size()[0]
    }

    /// Dense (rows, columns) masks of the positive and negative pairs of the tuples, or of every
    /// pair when none are given; `None` when PML's pair losses would skip the computation
    /// (every index list of length at most one). Building the masks directly skips the index
    /// lists that matrix-based losses never need.
    pub fn pair_masks(&self, indices: Option<&Tuples>) -> Option<(Tensor, Tensor)> {
        let (positive, negative) = match indices {
            Some(tuples) => {
                let pairs = tuples.to_pairs();
                if too_few_pairs(&pairs) {
                    return None;
                }
                // Clamped into the batch: a deferred call reads the indices' range later, and an
                // index outside must be its error, not a fault before it.
                let (rows, columns) = (self.rows(), self.columns());
                let mask = |r: &Tensor, c: &Tensor| crate::indices::pair_mask(&r.clamp(0, rows - 1), &c.clamp(0, columns - 1), rows, columns);
                (mask(&pairs.0, &pairs.1), mask(&pairs.2, &pairs.3))
            }
            None => crate::indices::pair_masks(&self.labels, self.ref_labels.as_ref()),
        };
        // Every entry is a positive or a negative pair (bar the diagonal without references),
        // so with more than 2 entries one kind has at least 2 and no count is needed.
        let entries = self.rows() * self.columns() - if self.ref_labels.is_none() { self.rows() } else { 0 };
        if indices.is_none() && entries <= 2 {
            let counts = Tensor::stack(&[positive.sum(Kind::Int64), negative.sum(Kind::Int64)], 0);
            if Vec::<i64>::try_from(counts).unwrap_or_default().iter().all(|&c| c <= 1) {
                return None;
            }
        }
        Some((positive, negative))
    }

    /// The tuples as triplets; without tuples, all triplets or `k` random ones per anchor
    /// (PML's `convert_to_triplets`).
    pub fn triplets(&self, indices: Option<&Tuples>, per_anchor: super::TripletsPerAnchor) -> (Tensor, Tensor, Tensor) {
        let generated;
        let tuples = match indices {
            Some(given) => given,
            None => {
                generated = match per_anchor {
                    super::TripletsPerAnchor::All => crate::indices::all_triplets(&self.labels, self.ref_labels.as_ref()),
                    super::TripletsPerAnchor::Count(k) => crate::indices::random_triplets(&self.labels, self.ref_labels.as_ref(), k),
                };
                &generated
            }
        };
        tuples.to_triplets(self.rows(), self.columns())
    }

    /// The triplets (as [`LossInput::triplets`] gives them) with their anchor-positive and
    /// anchor-negative entries of `distance`'s matrix. Mined pairs are measured once each
    /// before they are combined into triplets, and only the entries the triplets use are
    /// computed when they are few.
    pub fn triplet_distances(&mut self, distance: &dyn Distance, indices: Option<&Tuples>, per_anchor: super::TripletsPerAnchor) -> Result<TripletDistances> {
        let (rows, columns) = (self.rows(), self.columns());
        let (a, p, n) = match indices {
            Some(Tuples::Pairs { a1, p, a2, n }) => match triplet_pairs_reading(a1, a2, rows, columns, |counts| self.read(counts))? {
                Some((positive_pair, negative_pair)) => {
                    // The NaN check, when there was no count to read (no pairs of a kind).
                    self.read(&[])?;
                    let positives = a1.size()[0];
                    let d = distance.entries(self.embeddings, self.ref_embeddings, &Tensor::cat(&[a1, a2], 0), &Tensor::cat(&[p, n], 0));
                    return Ok(TripletDistances {
                        a: a1.index_select(0, &positive_pair),
                        p: p.index_select(0, &positive_pair),
                        n: n.index_select(0, &negative_pair),
                        ap: d.narrow(0, 0, positives).index_select(0, &positive_pair),
                        an: d.narrow(0, positives, a2.size()[0]).index_select(0, &negative_pair),
                    });
                }
                None => dense_triplets(a1, p, a2, n, rows, columns),
            },
            _ => self.triplets(indices, per_anchor),
        };
        // The NaN check, when no count was read on the way.
        self.read(&[])?;
        let d = distance.entries(self.embeddings, self.ref_embeddings, &Tensor::cat(&[&a, &a], 0), &Tensor::cat(&[&p, &n], 0));
        let t = a.size()[0];
        Ok(TripletDistances { ap: d.narrow(0, 0, t), an: d.narrow(0, t, t), a, p, n })
    }

    /// The tuples as pairs; every pair when none are given (PML's `convert_to_pairs`).
    pub fn pairs(&self, indices: Option<&Tuples>) -> (Tensor, Tensor, Tensor, Tensor) {
        match indices {
            Some(tuples) => tuples.to_pairs(),
            None => all_pairs(&self.labels, self.ref_labels.as_ref()).to_pairs(),
        }
    }
}

/// Triplets `(a, p, n)` with their distances `ap = d(a, p)` and `an = d(a, n)`.
pub(crate) struct TripletDistances {
    pub a: Tensor,
    pub p: Tensor,
    pub n: Tensor,
    pub ap: Tensor,
    pub an: Tensor,
}

/// PML's generic pair loss skips the computation when every index list has at most one entry.
pub(crate) fn too_few_pairs(pairs: &(Tensor, Tensor, Tensor, Tensor)) -> bool {
    [&pairs.0, &pairs.1, &pairs.2, &pairs.3].iter().all(|t| t.numel() <= 1)
}

/// The most negative finite value of a kind (PML's `neg_inf`, `torch.finfo(dtype).min`).
pub(crate) fn neg_inf(kind: Kind) -> f64 {
    match kind {
        Kind::Half => -65504.0,
        Kind::BFloat16 => -3.3895313892515355e38,
        Kind::Double => f64::MIN,
        _ => f32::MIN as f64,
    }
}

/// The smallest positive normal value of a kind (PML's `small_val`, `torch.finfo(dtype).tiny`).
pub(crate) fn small_val(kind: Kind) -> f64 {
    match kind {
        Kind::Half => 6.103515625e-05,
        Kind::BFloat16 => 1.1754943508222875e-38,
        Kind::Double => f64::MIN_POSITIVE,
        _ => f32::MIN_POSITIVE as f64,
    }
}

/// `log(sum(exp(x)))` per row over the entries `keep` marks, with an extra zero term when
/// `add_one`; rows with nothing kept give 0 (PML's `lmu.logsumexp`).
pub(crate) fn masked_logsumexp(x: &Tensor, keep: &Tensor, add_one: bool) -> Tensor {
    let mut output = x.where_scalarother(keep, neg_inf(x.kind())).logsumexp([1i64].as_slice(), true);
    if add_one {
        // log(sum + 1) without copying the matrix to append a column of zeros.
        output = output.logaddexp(&Tensor::zeros([1], (x.kind(), x.device())));
    }
    output.masked_fill(&keep.any_dim(1, true).logical_not(), 0.0)
}
