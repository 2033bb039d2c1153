//! What the angular, N-pair, tuplet-margin, intra-pair-variance and histogram losses do where
//! the parity suite has nothing to compare with: the pair N-pair keeps, PML's failures turned
//! into errors or values.

use metric_learning::component::Component;
use metric_learning::distances::LpDistance;
use metric_learning::indices::Tuples;
use metric_learning::losses::*;
use metric_learning::tch::{Device, Kind, Tensor};
use metric_learning_tests::one_thread;

fn points() -> (Tensor, Tensor) {
    let embeddings = Tensor::from_slice(&(0..8 * 4).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect::<Vec<_>>()).reshape([8, 4]);
    (embeddings, Tensor::from_slice(&[0i64, 1, 0, 1, 2, 2, 0, 1]))
}

fn message(result: metric_learning::Result<Tensor>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn n_pairs_keeps_the_first_positive_pair_of_each_label_in_the_tuples_order() {
    one_thread();
    let (embeddings, labels) = points();
    let pairs = |a1: &[i64], p: &[i64]| Tuples::Pairs {
        a1: Tensor::from_slice(a1),
        p: Tensor::from_slice(p),
        a2: Tensor::zeros([0], (Kind::Int64, Device::Cpu)),
        n: Tensor::zeros([0], (Kind::Int64, Device::Cpu)),
    };
    // Label 0's first pair is (6, 2) here, then (0, 6) comes too late; label 1's is (3, 7).
    let mixed = pairs(&[6, 3, 0, 1, 7], &[2, 7, 6, 3, 1]);
    let first_only = pairs(&[3, 6], &[7, 2]);
    let mut loss = NPairsLoss::new();
    let mixed = loss.compute(&embeddings, &labels, Some(&mixed)).unwrap().double_value(&[]);
    assert_eq!(loss.records().iter().find(|r| r.name == "num_pairs").map(|r| r.value), Some(2.0));
    let first_only = loss.compute(&embeddings, &labels, Some(&first_only)).unwrap().double_value(&[]);
    assert!((mixed - first_only).abs() < 1e-6, "{mixed} vs {first_only}");
}

#[test]
fn reference_embeddings_are_an_error_naming_the_loss_where_pml_refuses_them() {
    one_thread();
    let (embeddings, labels) = points();
    let reference = Some(Reference { embeddings: &embeddings, labels: &labels });
    let text = message(NPairsLoss::new().compute_with_reference(&embeddings, &labels, None, reference));
    assert!(text.contains("NPairsLoss") && text.contains("reference"), "{text}");
    let text = message(HistogramLoss::new().compute_with_reference(&embeddings, &labels, None, reference));
    assert!(text.contains("HistogramLoss") && text.contains("reference"), "{text}");
}

#[test]
fn histogram_counts_a_similarity_of_one_in_the_last_bin() {
    // PML indexes past its histogram here and fails.
    one_thread();
    let (embeddings, labels) = points();
    let _ = embeddings.get(2).copy_(&embeddings.get(0));
    let embeddings = embeddings.set_requires_grad(true);
    let loss = HistogramLoss::new().compute(&embeddings, &labels, None).unwrap();
    assert!(loss.double_value(&[]).is_finite());
    loss.backward();
    assert!(embeddings.grad().defined());
}

#[test]
fn histogram_refuses_values_outside_its_range_and_bad_widths() {
    one_thread();
    let (embeddings, labels) = points();
    let text = message(HistogramLoss::new().distance(LpDistance::new().normalize_embeddings(false)).compute(&embeddings, &labels, None));
    assert!(text.contains("HistogramLoss") && text.contains("[-1, 1]"), "{text}");
    let text = message(HistogramLoss::new().n_bins(0).compute(&embeddings, &labels, None));
    assert!(text.contains("HistogramLoss") && text.contains("delta"), "{text}");
}

#[test]
fn no_valid_tuple_gives_a_zero_with_a_gradient() {
    one_thread();
    let embeddings = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0]).reshape([3, 2]).set_requires_grad(true);
    let distinct = Tensor::from_slice(&[0i64, 1, 2]);
    let one_class = Tensor::from_slice(&[0i64, 0, 0]);
    let mut losses: Vec<(&str, Box<dyn MetricLoss>)> = vec![
        ("AngularLoss", Box::new(AngularLoss::new())),
        ("NPairsLoss", Box::new(NPairsLoss::new())),
        ("TupletMarginLoss", Box::new(TupletMarginLoss::new())),
        ("HistogramLoss", Box::new(HistogramLoss::new())),
    ];
    for (name, loss) in &mut losses {
        // For NPairsLoss one class is one pair: a cross-entropy over one logit, zero too.
        for (case, labels) in [("distinct labels", &distinct), ("one class", &one_class)] {
            let value = loss.compute(&embeddings, labels, None).unwrap();
            assert_eq!(value.double_value(&[]), 0.0, "{name} on {case}");
            value.backward();
            assert!(embeddings.grad().defined(), "{name} on {case}");
        }
    }
}
