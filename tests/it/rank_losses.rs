//! What the Smooth-AP, PNP and dynamic-soft-margin losses do where the parity suite has nothing
//! to compare with: their refusals, Smooth-AP's positives taken from the labels, the dynamic
//! soft margin's histogram across calls and beyond its nodes.

use metric_learning::indices::Tuples;
use metric_learning::losses::*;
use metric_learning::tch::{Device, Kind, Tensor};
use metric_learning_tests::one_thread;

fn points(n: i64) -> Tensor {
    Tensor::from_slice(&(0..n * 4).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect::<Vec<_>>()).reshape([n, 4])
}

fn message(result: metric_learning::Result<Tensor>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn smooth_ap_refuses_labels_of_unequal_sizes_and_references() {
    one_thread();
    let embeddings = points(6);
    let unequal = Tensor::from_slice(&[0i64, 0, 0, 1, 1, 2]);
    let why = message(SmoothAPLoss::new().compute(&embeddings, &unequal, None));
    assert!(why.contains("SmoothAPLoss") && why.contains("[3, 2, 1]"), "{why}");
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2, 2]);
    let reference = Reference { embeddings: &embeddings, labels: &labels };
    let why = message(SmoothAPLoss::new().compute_with_reference(&embeddings, &labels, None, Some(reference)));
    assert!(why.contains("reference"), "{why}");
}

#[test]
fn smooth_ap_takes_the_positives_from_the_labels_not_the_layout() {
    one_thread();
    let embeddings = points(8).set_requires_grad(true);
    // One label: every sample is a positive, so the precision is 1 and the loss 0.
    let one = SmoothAPLoss::new().compute(&embeddings, &Tensor::zeros([8], (Kind::Int64, Device::Cpu)), None).unwrap();
    assert!(one.double_value(&[]).abs() < 1e-6);
    one.backward();
    // Interleaved labels: the same loss as the batch sorted by label.
    let interleaved = Tensor::from_slice(&[0i64, 1, 0, 1, 0, 1, 0, 1]);
    let order = Tensor::from_slice(&[0i64, 2, 4, 6, 1, 3, 5, 7]);
    let mut loss = SmoothAPLoss::new().temperature(0.1);
    let as_given = loss.compute(&embeddings, &interleaved, None).unwrap().double_value(&[]);
    let sorted = loss.compute(&embeddings.index_select(0, &order), &interleaved.index_select(0, &order), None).unwrap().double_value(&[]);
    assert!((as_given - sorted).abs() < 1e-6 && as_given > 0.0, "{as_given} vs {sorted}");
}

#[test]
fn pnp_refuses_tuples_and_names_its_variants_as_pml_and_the_paper_do() {
    one_thread();
    let embeddings = points(6);
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2, 2]);
    let tuples = Tuples::Triplets { a: Tensor::from_slice(&[0i64]), p: Tensor::from_slice(&[1i64]), n: Tensor::from_slice(&[2i64]) };
    assert!(message(PNPLoss::new().compute(&embeddings, &labels, Some(&tuples))).contains("tuples"));
    assert_eq!("Dq".parse::<PnpVariant>().unwrap(), PnpVariant::Dq);
    assert_eq!("PNP-I_b".parse::<PnpVariant>().unwrap(), PnpVariant::Ib);
    assert!("PNP".parse::<PnpVariant>().is_err());
    // No query with a positive: a zero that keeps the graph.
    let x = embeddings.set_requires_grad(true);
    let zero = PNPLoss::new().compute(&x, &Tensor::arange(6, (Kind::Int64, Device::Cpu)), None).unwrap();
    assert_eq!(zero.double_value(&[]), 0.0);
    zero.backward();
}

#[test]
fn dynamic_soft_margin_keeps_its_histogram_between_calls() {
    one_thread();
    let embeddings = points(8).set_requires_grad(true);
    let labels = Tensor::from_slice(&[0i64, 1, 0, 1, 2, 2, 0, 1]);
    let mut loss = DynamicSoftMarginLoss::new().momentum(0.5);
    assert!(loss.histogram().is_none());
    let first = loss.compute(&embeddings, &labels, None).unwrap();
    first.backward();
    let histogram = loss.histogram().expect("a histogram after a call").shallow_clone();
    assert!((histogram.sum(Kind::Double).double_value(&[]) - 1.0).abs() < 1e-6);
    let shifted = (&embeddings * 1.0).roll([1i64].as_slice(), [0i64].as_slice()).detach();
    let second = loss.compute(&shifted, &labels, None).unwrap().double_value(&[]);
    let fresh = DynamicSoftMarginLoss::new().momentum(0.5).compute(&shifted, &labels, None).unwrap().double_value(&[]);
    assert!((second - fresh).abs() > 1e-6, "the histogram changed nothing: {second} vs {fresh}");
    // Restored, the histogram gives the second call's value again.
    let mut restored = DynamicSoftMarginLoss::new().momentum(0.5);
    restored.set_histogram(Some(&histogram)).unwrap();
    assert!((restored.compute(&shifted, &labels, None).unwrap().double_value(&[]) - second).abs() < 1e-7);
    assert!(restored.set_histogram(Some(&Tensor::ones([3], (Kind::Float, Device::Cpu)))).is_err());
    // No triplet: zero, and the histogram stays.
    let zero = loss.compute(&embeddings, &Tensor::arange(8, (Kind::Int64, Device::Cpu)), None).unwrap();
    assert_eq!(zero.double_value(&[]), 0.0);
    assert!(loss.histogram().is_some());
}

#[test]
fn dynamic_soft_margin_counts_values_beyond_its_nodes_at_the_outermost() {
    one_thread();
    let embeddings = points(8).set_requires_grad(true);
    let labels = Tensor::from_slice(&[0i64, 1, 0, 1, 2, 2, 0, 1]);
    // Nodes on [-0.2, 0.2): most of the values lie beyond them, where PML fails.
    let value = DynamicSoftMarginLoss::new().min_val(-0.2).num_bins(4).compute(&embeddings, &labels, None).unwrap();
    assert!(value.double_value(&[]).is_finite());
    value.backward();
    assert!(bool::try_from(embeddings.grad().isfinite().all()).unwrap());
    assert!(message(DynamicSoftMarginLoss::new().num_bins(1).compute(&embeddings, &labels, None)).contains("bins"));
    assert!(message(DynamicSoftMarginLoss::new().min_val(0.0).compute(&embeddings, &labels, None)).contains("min_val"));
}
