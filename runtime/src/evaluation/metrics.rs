//! Per-query values of the retrieval metrics, for one block of queries, in float64 as PML
//! computes them (`utils/accuracy_calculator.py`).

use super::accuracy_calculator::Metric;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The value of `metric` for each query of a block.
///
/// `hits` (`rows x k`, bool): whether the i-th neighbour matches the query's label.
/// `relevant` (`rows`, int64): R, the number of references matching the query (less one when
/// the query is among them). For lone queries R is 0 and the values are meaningless: the
/// caller leaves those queries out, as PML does.
pub(crate) fn per_query(metric: Metric, hits: &Tensor, relevant: &Tensor) -> Result<Tensor> {
    let (rows, k) = (hits.size()[0], hits.size()[1]);
    let device = hits.device();
    let hits = hits.f_to_kind(Kind::Double)?;
    let relevant = relevant.f_to_kind(Kind::Double)?;
    // Ranks 1..=k, one row broadcast over the block.
    let ranks = Tensor::f_arange_start(1, k + 1, (Kind::Double, device))?.f_unsqueeze(0)?;
    let row_sum = |x: &Tensor| x.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
    // Only the first min(R, k) neighbours count for the R-based metrics.
    let within_r = || -> Result<Tensor> { Ok(ranks.f_le_tensor(&relevant.f_unsqueeze(1)?)?.f_to_kind(Kind::Double)?) };
    // Σ_i rel_i · P@i, with P@i the precision of the first i neighbours.
    let average_precision_sum = |hits: &Tensor| -> Result<Tensor> {
        let precision = hits.f_cumsum(1, Kind::Double)?.f_mul(hits)?.f_div(&ranks)?;
        Ok(row_sum(&precision)?)
    };
    Ok(match metric {
        Metric::PrecisionAt1 => {
            if k == 0 {
                Tensor::f_zeros([rows], (Kind::Double, device))?
            } else {
                hits.f_select(1, 0)?
            }
        }
        Metric::RPrecision => {
            // Divided by min(R, k): correct only when k >= R, as PML warns.
            let within = within_r()?;
            row_sum(&hits.f_mul(&within)?)?.f_div(&row_sum(&within)?)?
        }
        // Divided by R even when k < R, as PML does.
        Metric::MeanAveragePrecisionAtR => average_precision_sum(&hits.f_mul(&within_r()?)?)?.f_div(&relevant)?,
        Metric::MeanAveragePrecision => average_precision_sum(&hits)?.f_div(&relevant)?,
        Metric::MeanReciprocalRank => {
            if k == 0 {
                return Ok(Tensor::f_zeros([rows], (Kind::Double, device))?);
            }
            // The first hit is the largest of hit · (k, k-1, ..., 1); none → 0.
            let descending = ranks.f_neg()?.f_add_scalar((k + 1) as f64)?;
            let first = hits.f_mul(&descending)?.f_argmax(1, false)?.f_to_kind(Kind::Double)?.f_add_scalar(1.0)?;
            let any = row_sum(&hits)?.f_gt(0.0)?;
            first.f_reciprocal()?.f_where_scalarother(&any, 0.0)?
        }
        // Not per-query metrics: the calculator computes them from a clustering instead.
        Metric::Ami | Metric::Nmi => {
            return Err(Error::config(format!("{metric} is a clustering metric, not computed from the k-NN")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(metric: Metric, hits: &[&[bool]], relevant: &[i64]) -> Vec<f64> {
        let flat: Vec<bool> = hits.iter().flat_map(|r| r.iter().copied()).collect();
        let hits = Tensor::from_slice(&flat).reshape([hits.len() as i64, -1]);
        Vec::<f64>::try_from(per_query(metric, &hits, &Tensor::from_slice(relevant)).unwrap()).unwrap()
    }

    #[test]
    fn hand_computed() {
        // Query 0: hits at ranks 2 and 3, R = 2. Query 1: no hit, R = 1.
        let hits: &[&[bool]] = &[&[false, true, true], &[false, false, false]];
        let r = [2, 1];
        assert_eq!(values(Metric::PrecisionAt1, hits, &r), vec![0.0, 0.0]);
        assert_eq!(values(Metric::RPrecision, hits, &r), vec![0.5, 0.0]);
        // AP@R: only rank 2 is within R: (1/2) / 2.
        assert_eq!(values(Metric::MeanAveragePrecisionAtR, hits, &r), vec![0.25, 0.0]);
        // AP over all k, still divided by R: (1/2 + 2/3) / 2.
        let map = values(Metric::MeanAveragePrecision, hits, &r);
        assert!((map[0] - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{map:?}");
        assert_eq!(values(Metric::MeanReciprocalRank, hits, &r), vec![0.5, 0.0]);
    }
}
