//! Per-query values of the retrieval metrics, in float64 as PML computes them
//! (`utils/accuracy_calculator.py`), from whether each retrieved neighbour matches.

use super::accuracy_calculator::Metric;
use crate::{Error, Result};

/// The value of `metric` for one query.
///
/// `hits`: whether each neighbour, nearest first, matches the query's label. `relevant`: R,
/// the number of references matching the query (less one when the query is among them). For
/// lone queries R is 0 and the value is meaningless: the caller leaves those queries out, as
/// PML does.
pub(crate) fn per_query(metric: Metric, hits: &[bool], relevant: i64) -> Result<f64> {
    let relevant_f = relevant as f64;
    // Only the first min(R, k) neighbours count for the R-based metrics.
    let within_r = &hits[..hits.len().min(relevant.max(0) as usize)];
    Ok(match metric {
        Metric::PrecisionAt1 => hits.first().map_or(0.0, |&hit| f64::from(u8::from(hit))),
        // Divided by min(R, k): correct only when k >= R, as PML warns.
        Metric::RPrecision => matches(within_r) / within_r.len() as f64,
        // Divided by R even when k < R, as PML does.
        Metric::MeanAveragePrecisionAtR => average_precision_sum(within_r) / relevant_f,
        Metric::MeanAveragePrecision => average_precision_sum(hits) / relevant_f,
        // 1 / the rank of the first hit; none → 0.
        Metric::MeanReciprocalRank => hits.iter().position(|&hit| hit).map_or(0.0, |i| 1.0 / (i + 1) as f64),
        // Not per-query metrics: the calculator computes them from a clustering instead.
        Metric::Ami | Metric::Nmi => {
            return Err(Error::config(format!("{metric} is a clustering metric, not computed from the k-NN")));
        }
    })
}

fn matches(hits: &[bool]) -> f64 {
    hits.iter().filter(|&&hit| hit).count() as f64
}

/// Σ_i rel_i · P@i, with P@i the precision of the first i neighbours.
fn average_precision_sum(hits: &[bool]) -> f64 {
    let mut found = 0.0;
    let mut sum = 0.0;
    for (i, &hit) in hits.iter().enumerate() {
        if hit {
            found += 1.0;
            sum += found / (i + 1) as f64;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(metric: Metric, hits: &[bool], relevant: i64) -> f64 {
        per_query(metric, hits, relevant).unwrap()
    }

    #[test]
    fn hand_computed() {
        // Query 0: hits at ranks 2 and 3, R = 2. Query 1: no hit, R = 1.
        let (q0, q1) = ([false, true, true], [false, false, false]);
        assert_eq!([value(Metric::PrecisionAt1, &q0, 2), value(Metric::PrecisionAt1, &q1, 1)], [0.0, 0.0]);
        assert_eq!([value(Metric::RPrecision, &q0, 2), value(Metric::RPrecision, &q1, 1)], [0.5, 0.0]);
        // AP@R: only rank 2 is within R: (1/2) / 2.
        assert_eq!([value(Metric::MeanAveragePrecisionAtR, &q0, 2), value(Metric::MeanAveragePrecisionAtR, &q1, 1)], [0.25, 0.0]);
        // AP over all k, still divided by R: (1/2 + 2/3) / 2.
        assert!((value(Metric::MeanAveragePrecision, &q0, 2) - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!([value(Metric::MeanReciprocalRank, &q0, 2), value(Metric::MeanReciprocalRank, &q1, 1)], [0.5, 0.0]);
        // No neighbour at all (k = 0): 0, as PML's empty comparisons give.
        assert_eq!(value(Metric::PrecisionAt1, &[], 1), 0.0);
        assert_eq!(value(Metric::MeanReciprocalRank, &[], 1), 0.0);
    }
}
