//! The AccuracyCalculator on input it must refuse (a clear error, never a panic) or handle as
//! PML documents (lone queries: NaN and a warning), and its results independent of the block
//! sizes its memory depends on.

use metric_learning::evaluation::{AccuracyCalculator, KnnDistance, Metric, Score, K};
use metric_learning::prelude::*;

fn randn(rows: i64, width: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([rows, width], (Kind::Float, Device::Cpu))
}

fn labels(values: &[i64]) -> Tensor {
    Tensor::from_slice(values)
}

fn cycling(n: i64, classes: i64) -> Tensor {
    Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(classes)
}

fn error(result: metric_learning::Result<metric_learning::evaluation::Accuracies>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn embeddings_and_labels_of_different_lengths() {
    let message = error(AccuracyCalculator::new().get_accuracy(&randn(5, 3, 0), &labels(&[0, 1, 0])));
    assert!(message.contains("`query_labels` expected 5 labels, one per row of query, found 3 labels"), "{message}");
    let message = error(AccuracyCalculator::new().get_accuracy_against(&randn(4, 3, 0), &cycling(4, 2), &randn(6, 3, 1), &cycling(5, 2), false));
    assert!(message.contains("`reference_labels` expected 6 labels"), "{message}");
}

#[test]
fn an_empty_reference_set() {
    let empty = Tensor::zeros([0, 3], (Kind::Float, Device::Cpu));
    let message = error(AccuracyCalculator::new().get_accuracy_against(&randn(4, 3, 0), &cycling(4, 2), &empty, &cycling(0, 2), false));
    assert!(message.contains("reference is empty"), "{message}");
}

#[test]
fn widths_shapes_and_kinds_that_do_not_fit() {
    let calc = AccuracyCalculator::new();
    let message = error(calc.get_accuracy_against(&randn(4, 3, 0), &cycling(4, 2), &randn(4, 5, 0), &cycling(4, 2), false));
    assert!(message.contains("`reference` expected rows of width 3, as the query's, found width 5"), "{message}");
    let message = error(calc.get_accuracy(&Tensor::zeros([4], (Kind::Float, Device::Cpu)), &cycling(4, 2)));
    assert!(message.contains("`query` expected a 2-D tensor"), "{message}");
    let message = error(calc.get_accuracy(&randn(4, 3, 0), &cycling(4, 2).to_kind(Kind::Float)));
    assert!(message.contains("`query_labels` expected integer labels, found Float"), "{message}");
}

#[test]
fn a_query_set_of_one_is_lone_against_itself() {
    // Against itself a single query has no neighbour of its label: PML's NaN and warning.
    let result = AccuracyCalculator::new().get_accuracy(&randn(1, 4, 0), &labels(&[3])).unwrap();
    assert!(result.get(Metric::PrecisionAt1).unwrap().is_nan(), "{result}");
    assert_eq!(result.warnings, vec!["None of the query labels are in the reference set.".to_string()]);
    // Against a reference it is an ordinary query.
    let query = randn(1, 4, 0);
    let reference = Tensor::cat(&[&query, &(randn(5, 4, 1) + 10.0)], 0);
    let result = AccuracyCalculator::new()
        .get_accuracy_against(&query, &labels(&[3]), &reference, &labels(&[7, 3, 7, 7, 7, 7]), false)
        .unwrap();
    assert_eq!(result.get(Metric::PrecisionAt1), Some(0.0), "its nearest is itself, labelled 7: {result}");
}

#[test]
fn query_labels_absent_from_the_reference() {
    let calc = AccuracyCalculator::new().k(K::MaxBinCount).return_per_class(true);
    let result = calc.get_accuracy_against(&randn(4, 3, 0), &labels(&[5, 5, 6, 6]), &randn(6, 3, 1), &cycling(6, 2), false).unwrap();
    assert_eq!(result.k, None, "no k-NN runs when every query is lone");
    match result.score(Metric::RPrecision) {
        Some(Score::PerClass { labels, values }) => {
            assert_eq!(labels, &vec![5, 6]);
            assert!(values.iter().all(|v| v.is_nan()), "{values:?}");
        }
        other => panic!("expected NaN per class, found {other:?}"),
    }
    // Some absent: those queries are left out, the others scored.
    let result = AccuracyCalculator::new()
        .get_accuracy_against(&randn(4, 3, 0), &labels(&[0, 1, 9, 9]), &randn(6, 3, 1), &cycling(6, 2), false)
        .unwrap();
    assert!(result.get(Metric::PrecisionAt1).unwrap().is_finite(), "{result}");
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
}

#[test]
fn nan_and_infinite_rows_are_counted() {
    let x = randn(10, 4, 0);
    let _ = x.get(2).get(1).fill_(f64::NAN);
    let _ = x.get(7).fill_(f64::INFINITY);
    let message = error(AccuracyCalculator::new().get_accuracy(&x, &cycling(10, 2)));
    assert!(message.contains("query: 2 of 10 rows hold NaN or infinite values (the first is row 2)"), "{message}");
}

#[test]
fn k_zero_and_exclusive_options_are_configuration_errors() {
    let (x, y) = (randn(10, 4, 0), cycling(10, 2));
    let message = error(AccuracyCalculator::new().k(K::Count(0)).get_accuracy(&x, &y));
    assert!(message.contains("k must be an integer greater than 0") && message.contains("found 0"), "{message}");
    let message = error(AccuracyCalculator::new().avg_of_avgs(true).return_per_class(true).get_accuracy(&x, &y));
    assert!(message.contains("mutually exclusive"), "{message}");
    let message = error(AccuracyCalculator::new().block_sizes(0, 10).get_accuracy(&x, &y));
    assert!(message.contains("block sizes must be at least 1"), "{message}");
}

#[test]
fn an_unknown_metric_name_lists_the_valid_ones() {
    let message = Metric::parse_all(&["precision_at_1", "precision_at_5"]).unwrap_err().to_string();
    assert!(message.contains("unknown metric `precision_at_5`"), "{message}");
    assert!(message.contains("mean_average_precision, mean_average_precision_at_r, mean_reciprocal_rank, precision_at_1, r_precision"), "{message}");
}

#[test]
fn a_query_that_is_not_the_reference_prefix() {
    let message = error(AccuracyCalculator::new().get_accuracy_against(&randn(4, 3, 0), &cycling(4, 2), &randn(8, 3, 1), &cycling(8, 2), true));
    assert!(message.contains("first 4 rows of the reference"), "{message}");
    let message = error(AccuracyCalculator::new().get_accuracy_against(&randn(8, 3, 0), &cycling(8, 2), &randn(4, 3, 0), &cycling(4, 2), true));
    assert!(message.contains("first 8 rows of the reference"), "{message}");
}

#[test]
fn a_label_comparison_of_the_wrong_shape_is_an_error() {
    let calc = AccuracyCalculator::new().exclude([Metric::Ami, Metric::Nmi]).label_comparison(|q, _r| Ok(q.shallow_clone()));
    let message = error(calc.get_accuracy(&randn(10, 4, 0), &cycling(10, 2)));
    assert!(message.contains("`label_comparison` expected a tensor of shape"), "{message}");
}

#[test]
fn a_custom_label_comparison_is_used() {
    // "Same parity" instead of "same label": with labels 0..6, it equals comparing label % 2.
    let (x, y) = (randn(60, 5, 0), cycling(60, 6));
    let parity = AccuracyCalculator::new()
        .k(K::MaxBinCount)
        .exclude([Metric::Ami, Metric::Nmi])
        .label_comparison(|q, r| Ok(q.f_remainder(2)?.f_eq_tensor(&r.f_remainder(2)?)?))
        .get_accuracy(&x, &y)
        .unwrap();
    let plain = AccuracyCalculator::new().k(K::MaxBinCount).get_accuracy(&x, &y.remainder(2)).unwrap();
    for metric in [Metric::PrecisionAt1, Metric::RPrecision, Metric::MeanAveragePrecisionAtR, Metric::MeanReciprocalRank] {
        let (a, b) = (parity.get(metric).unwrap(), plain.get(metric).unwrap());
        assert!((a - b).abs() < 1e-12, "{metric}: {a} vs {b}");
    }
}

#[test]
fn clustering_metrics_with_a_custom_label_comparison_are_an_error() {
    // PML: NotImplementedError("Unsupported: clustering + custom label comparison").
    let (x, y) = (randn(20, 4, 0), cycling(20, 4));
    let compare = |q: &Tensor, r: &Tensor| Ok(q.f_eq_tensor(r)?);
    let message = error(AccuracyCalculator::new().label_comparison(compare).get_accuracy(&x, &y));
    assert!(message.contains("custom label_comparison cannot be used with the clustering metrics (AMI, NMI)"), "{message}");
    let message = error(AccuracyCalculator::new().include([Metric::Nmi]).label_comparison(compare).get_accuracy(&x, &y));
    assert!(message.contains("clustering metrics (NMI)"), "{message}");
    // Without them the comparison is accepted.
    let result = AccuracyCalculator::new().include([Metric::PrecisionAt1]).label_comparison(compare).get_accuracy(&x, &y);
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn clustering_metrics_on_tiny_query_sets() {
    let calc = AccuracyCalculator::new().include([Metric::Nmi, Metric::Ami]);
    // One query: one class, one cluster, scikit-learn's perfect match.
    let result = calc.get_accuracy(&randn(1, 4, 0), &labels(&[3])).unwrap();
    assert_eq!((result.get(Metric::Nmi), result.get(Metric::Ami)), (Some(1.0), Some(1.0)), "{result}");
    assert_eq!(result.k, None);
    // Fewer query samples than the reference's classes, each query its own class: as many
    // clusters as samples, every sample its own cluster.
    let reference = randn(30, 4, 1);
    let result = calc.get_accuracy_against(&randn(3, 4, 2), &labels(&[0, 5, 9]), &reference, &cycling(30, 10), false).unwrap();
    assert_eq!(result.get(Metric::Nmi), Some(1.0), "{result}");
    assert!(result.get(Metric::Ami).unwrap().is_finite(), "{result}");
    // Duplicate rows with different labels: clusters may end empty, never a panic.
    let same = Tensor::ones([6, 3], (Kind::Float, Device::Cpu));
    let result = calc.get_accuracy(&same, &cycling(6, 3)).unwrap();
    assert_eq!(result.get(Metric::Nmi), Some(0.0), "one cluster holds everything: {result}");
    // The k-NN metrics still see the lone queries as PML does; NMI is computed regardless.
    let all = AccuracyCalculator::new().get_accuracy(&randn(3, 4, 2), &labels(&[0, 5, 9])).unwrap();
    assert!(all.get(Metric::PrecisionAt1).unwrap().is_nan() && all.get(Metric::Nmi) == Some(1.0), "{all}");
}

#[test]
fn huge_and_tiny_magnitudes_score_as_unit_ones() {
    let (x, y) = (randn(300, 8, 3), cycling(300, 5));
    let calc = AccuracyCalculator::new().k(K::MaxBinCount);
    let unit = calc.get_accuracy(&x, &y).unwrap();
    for scale in [1e18, 1e30, 1e-30] {
        let scaled = calc.get_accuracy(&(&x * scale), &y).unwrap();
        assert_eq!(scaled, unit, "embeddings x {scale}");
    }
    let cosine = calc.clone().distance(KnnDistance::Cosine);
    assert_eq!(cosine.get_accuracy(&(&x * 1e18), &y).unwrap(), cosine.get_accuracy(&x, &y).unwrap());
}

#[test]
fn results_do_not_depend_on_the_block_sizes() {
    let (x, y) = (randn(300, 6, 4), cycling(300, 7));
    let reference = Tensor::cat(&[&x, &randn(100, 6, 5)], 0);
    let reference_labels = Tensor::cat(&[&y, &cycling(100, 7)], 0);
    for k in [K::All, K::MaxBinCount, K::Count(3)] {
        for distance in [KnnDistance::Euclidean, KnnDistance::Cosine, KnnDistance::DotProduct] {
            let calc = AccuracyCalculator::new().k(k).distance(distance);
            let default = calc.get_accuracy_against(&x, &y, &reference, &reference_labels, true).unwrap();
            for (q, r) in [(1, 1000), (1000, 1), (7, 13), (64, 50), (1000, 1000)] {
                let blocked = calc.clone().block_sizes(q, r).get_accuracy_against(&x, &y, &reference, &reference_labels, true).unwrap();
                // Equal up to the float rounding of the scores: a matrix product's rounding
                // depends on its shape, which can swap two neighbours tied to 1e-7.
                for (metric, score) in default.iter() {
                    let (Score::Value(a), Some(b)) = (score, blocked.get(metric)) else { panic!("{metric}: {blocked}") };
                    assert!((a - b).abs() < 1e-6, "{k:?} {distance:?} blocks {q} x {r}: {metric} {a} vs {b}");
                }
            }
        }
    }
}

/// Small integer coordinates are exact in every float kind: float64 (its own search path) and
/// half precision give float32's results, with ties broken alike.
#[test]
fn every_float_kind_ranks_alike() {
    tch::manual_seed(8);
    let x = Tensor::randint(5, [200, 4], (Kind::Float, Device::Cpu));
    let y = cycling(200, 6);
    for distance in [KnnDistance::Euclidean, KnnDistance::DotProduct] {
        for k in [K::All, K::Count(5)] {
            let calc = AccuracyCalculator::new().k(k).distance(distance).exclude([Metric::Ami, Metric::Nmi]);
            let single = calc.get_accuracy(&x, &y).unwrap();
            for kind in [Kind::Double, Kind::Half, Kind::BFloat16] {
                let other = calc.get_accuracy(&x.to_kind(kind), &y).unwrap();
                assert_eq!(single, other, "{kind:?} {distance:?} {k:?}");
            }
        }
    }
}

/// 20k x 16 embeddings: an n x n matrix of float32 scores would be 1.6 GB; the blocked k-NN
/// holds one tile at a time. Different tiles give the same scores, and knn_scores (which the
/// examples use) agrees with the calculator.
#[test]
fn twenty_thousand_embeddings_in_blocks() {
    metric_learning_tests::one_thread();
    let n = 20_000;
    let (x, y) = (randn(n, 16, 6), cycling(n, 100));
    let calc = AccuracyCalculator::new().k(K::MaxBinCount);
    let default = calc.get_accuracy(&x, &y).unwrap();
    let other = calc.clone().block_sizes(300, 5000).get_accuracy(&x, &y).unwrap();
    assert_eq!(default, other);
    let scores = knn_scores(&x, &Vec::<i64>::try_from(&y).unwrap()).unwrap();
    assert_eq!(Some(scores.precision_at_1), default.get(Metric::PrecisionAt1));
    assert_eq!(Some(scores.map_at_r), default.get(Metric::MeanAveragePrecisionAtR));
}
