//! Hand-computed cases from PML's own test suite (`tests/losses/test_contrastive_loss.py`),
//! ported to the current API: 2-D unit embeddings at given angles, expected values computed
//! here pair by pair in plain f64, independently of the library.

use metric_learning::distances::{CosineSimilarity, LpDistance};
use metric_learning::losses::{ContrastiveLoss, MetricLoss};
use metric_learning::reducers::MeanReducer;
use metric_learning::tch::{Device, Kind, Tensor};

fn angles_to_embeddings(degrees: &[f64]) -> (Vec<[f64; 2]>, Tensor) {
    let points: Vec<[f64; 2]> = degrees.iter().map(|d| [d.to_radians().cos(), d.to_radians().sin()]).collect();
    let flat: Vec<f32> = points.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    (points, Tensor::from_slice(&flat).reshape([-1, 2]))
}

/// Mean over the non-zero values, or over all of them.
fn reduce(values: &[f64], non_zero_only: bool) -> f64 {
    let kept: Vec<f64> = values.iter().copied().filter(|v| !non_zero_only || *v > 0.0).collect();
    if kept.is_empty() { 0.0 } else { kept.iter().sum::<f64>() / kept.len() as f64 }
}

#[test]
fn contrastive_loss_on_angles_as_pml_tests_it() {
    let (points, embeddings) = angles_to_embeddings(&[0.0, 20.0, 40.0, 60.0, 80.0]);
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2]);
    let pos_pairs = [(0, 1), (1, 0), (2, 3), (3, 2)];
    let neg_pairs: Vec<(usize, usize)> = (0..5).flat_map(|a| (0..5).map(move |n| (a, n))).filter(|&(a, n)| [0, 0, 1, 1, 2][a] != [0, 0, 1, 1, 2][n]).collect();
    let squared = |a: usize, b: usize| (points[a][0] - points[b][0]).powi(2) + (points[a][1] - points[b][1]).powi(2);
    let dot = |a: usize, b: usize| points[a][0] * points[b][0] + points[a][1] * points[b][1];

    // A and C: squared Euclidean distance, margins 0.25 and 1.5. B and D: cosine, 1.5 and 0.6.
    let pos_a: Vec<f64> = pos_pairs.iter().map(|&(a, p)| (squared(a, p) - 0.25).max(0.0)).collect();
    let neg_a: Vec<f64> = neg_pairs.iter().map(|&(a, n)| (1.5 - squared(a, n)).max(0.0)).collect();
    let pos_b: Vec<f64> = pos_pairs.iter().map(|&(a, p)| (1.5 - dot(a, p)).max(0.0)).collect();
    let neg_b: Vec<f64> = neg_pairs.iter().map(|&(a, n)| (dot(a, n) - 0.6).max(0.0)).collect();
    let expected = [
        reduce(&pos_a, true) + reduce(&neg_a, true),
        reduce(&pos_b, true) + reduce(&neg_b, true),
        reduce(&pos_a, false) + reduce(&neg_a, false),
        reduce(&pos_b, false) + reduce(&neg_b, false),
    ];
    let squared_distance = || LpDistance::new().power(2.0);
    let mut losses: [Box<dyn MetricLoss>; 4] = [
        Box::new(ContrastiveLoss::new().pos_margin(0.25).neg_margin(1.5).distance(squared_distance())),
        Box::new(ContrastiveLoss::new().pos_margin(1.5).neg_margin(0.6).distance(CosineSimilarity::new())),
        Box::new(ContrastiveLoss::new().pos_margin(0.25).neg_margin(1.5).distance(squared_distance()).reducer(MeanReducer)),
        Box::new(ContrastiveLoss::new().pos_margin(1.5).neg_margin(0.6).distance(CosineSimilarity::new()).reducer(MeanReducer)),
    ];
    for (loss, want) in losses.iter_mut().zip(expected) {
        let got = loss.compute(&embeddings, &labels, None).unwrap().double_value(&[]);
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

#[test]
fn contrastive_loss_with_no_valid_pairs_is_zero() {
    let (_, embeddings) = angles_to_embeddings(&[0.0]);
    let labels = Tensor::zeros([1], (Kind::Int64, Device::Cpu));
    for mut loss in [ContrastiveLoss::new(), ContrastiveLoss::new().distance(CosineSimilarity::new())] {
        assert_eq!(loss.compute(&embeddings, &labels, None).unwrap().double_value(&[]), 0.0);
    }
}

/// PML's `tests/losses/test_triplet_margin_loss.py`, in f16, f32 and f64.
#[test]
fn triplet_margin_loss_on_angles_as_pml_tests_it() {
    let (points, embeddings) = angles_to_embeddings(&[0.0, 20.0, 40.0, 60.0, 80.0]);
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2]);
    let triplets = [(0, 1, 2), (0, 1, 3), (0, 1, 4), (1, 0, 2), (1, 0, 3), (1, 0, 4), (2, 3, 0), (2, 3, 1), (2, 3, 4), (3, 2, 0), (3, 2, 1), (3, 2, 4)];
    let distance = |a: usize, b: usize| ((points[a][0] - points[b][0]).powi(2) + (points[a][1] - points[b][1]).powi(2)).sqrt();
    let values: Vec<f64> = triplets.iter().map(|&(a, p, n)| (distance(a, p) - distance(a, n) + 0.2).max(0.0)).collect();
    let (non_zero, mean) = (reduce(&values, true), reduce(&values, false));
    for kind in [Kind::Half, Kind::Float, Kind::Double] {
        let x = embeddings.to_kind(kind).detach().set_requires_grad(true);
        let tolerance = if kind == Kind::Half { 1e-2 } else { 1e-5 };
        let a = metric_learning::losses::TripletMarginLoss::new().margin(0.2).compute(&x, &labels, None).unwrap();
        let b = metric_learning::losses::TripletMarginLoss::new().margin(0.2).reducer(MeanReducer).compute(&x, &labels, None).unwrap();
        assert!((a.double_value(&[]) - non_zero).abs() <= tolerance * non_zero, "{kind:?}: {} vs {non_zero}", a.double_value(&[]));
        assert!((b.double_value(&[]) - mean).abs() <= tolerance * mean, "{kind:?}: {} vs {mean}", b.double_value(&[]));
        (a + b).backward();
        assert!(x.grad().defined());
    }
    // No valid triplet: every label distinct.
    let distinct = Tensor::from_slice(&[0i64, 1, 2, 3, 4]);
    assert_eq!(metric_learning::losses::TripletMarginLoss::new().margin(0.2).compute(&embeddings, &distinct, None).unwrap().double_value(&[]), 0.0);
}

/// PML's names of the modules ours spell otherwise are the same types.
#[test]
fn pml_names_find_the_same_modules() {
    use std::any::type_name;
    assert_eq!(type_name::<metric_learning::distances::SNRDistance>(), type_name::<metric_learning::distances::SnrDistance>());
    assert_eq!(type_name::<metric_learning::miners::HDCMiner>(), type_name::<metric_learning::miners::HdcMiner>());
    assert!(type_name::<metric_learning::reducers::AvgNonZeroReducer>().ends_with("ThresholdReducer"));
}
