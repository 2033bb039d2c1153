//! Which reference labels match which query labels: the counts that decide R, k and the lone
//! queries, computed per unique query label (never as a queries x references matrix).

use super::accuracy_calculator::LabelComparison;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The query labels' classes and their matches in the reference.
pub(crate) struct LabelStats {
    /// The query's unique labels, sorted (int64).
    pub unique: Tensor,
    /// For each query, the position of its label in `unique`.
    pub inverse: Tensor,
    /// For each unique label, how many references match it.
    pub counts: Tensor,
    /// For each unique label, whether it has no match but (with `ref_includes_query`) itself.
    pub lone: Tensor,
}

/// Counts, for each unique query label, its matches among `reference_labels`; with a custom
/// comparison, `unique_block` labels are compared with the whole reference at a time.
pub(crate) fn label_stats(
    query_labels: &Tensor,
    reference_labels: &Tensor,
    ref_includes_query: bool,
    comparison: Option<&LabelComparison>,
    unique_block: i64,
) -> Result<LabelStats> {
    let (unique, inverse, _) = query_labels.f_internal_unique2(true, true, false)?;
    let counts = match comparison {
        None => {
            // Look each unique query label up among the reference's sorted unique labels.
            let (reference_unique, _, reference_counts) = reference_labels.f_internal_unique2(true, false, true)?;
            let last = reference_unique.size()[0] - 1;
            let position = unique.f_searchsorted(&reference_unique, false, false, "left", None::<Tensor>)?.f_clamp_max(last)?;
            let found = reference_unique.f_index_select(0, &position)?.f_eq_tensor(&unique)?;
            reference_counts.f_index_select(0, &position)?.f_where_scalarother(&found, 0i64)?
        }
        Some(compare) => {
            let u = unique.size()[0];
            let mut parts = Vec::new();
            let mut start = 0;
            while start < u {
                let rows = unique_block.min(u - start);
                let block = unique.f_narrow(0, start, rows)?.f_unsqueeze(1)?;
                let matches = compared(compare, &block, &reference_labels.f_unsqueeze(0)?)?;
                parts.push(matches.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Int64)?);
                start += rows;
            }
            Tensor::f_cat(&parts, 0)?
        }
    };
    let lone = if ref_includes_query {
        // The query's own row matches it (if its label matches itself): lone when nothing else does.
        let itself = match comparison {
            None => Tensor::f_ones_like(&counts)?,
            Some(compare) => {
                let column = unique.f_unsqueeze(1)?;
                compared(compare, &column, &column)?.f_reshape([-1])?.f_to_kind(Kind::Int64)?
            }
        };
        counts.f_sub(&itself)?.f_le(0)?
    } else {
        counts.f_eq(0)?
    };
    Ok(LabelStats { unique, inverse, counts, lone })
}

/// `compare(query, reference)` as a bool tensor of their broadcast shape, or an error saying
/// what the comparison returned.
pub(crate) fn compared(compare: &LabelComparison, query: &Tensor, reference: &Tensor) -> Result<Tensor> {
    let expected = [query.size()[0], reference.size()[1].max(query.size()[1])];
    let result = compare(query, reference)?;
    if result.size() != expected {
        return Err(Error::mismatch(
            "label_comparison",
            format!("a tensor of shape {expected:?} for labels of shapes {:?} and {:?}", query.size(), reference.size()),
            format!("shape {:?}", result.size()),
        ));
    }
    Ok(result.f_to_kind(Kind::Bool)?)
}
