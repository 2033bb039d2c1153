//! The engine's semantics: freezing, loss weights, labels, hooks, epoch counting, subset mining.
//! `Probe` is a trainer written for these tests, exactly as a user would write one.

use metric_learning::data::{Batch, InMemoryDataset, Labels};
use metric_learning::prelude::*;
use metric_learning::trainers::MetricLossOnlyKey;
use metric_learning::Iteration;
use metric_learning_tests::{bitwise_equal, clusters, int_labels, linear, one_thread, snapshot};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// What `Probe`'s step saw.
#[derive(Default)]
pub struct Seen {
    batch_sizes: Vec<i64>,
    /// (first input value, label) of every sample of every batch.
    samples: Vec<(f32, i64)>,
    /// Unweighted (metric_loss, aux_loss) per iteration.
    unweighted: Vec<(Option<f64>, Option<f64>)>,
}

/// Embeds with one model and computes two losses, recording what it saw.
#[trainer]
pub struct Probe {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[loss(weight = 3.0)]
    aux_loss: Box<dyn MetricLoss>,
    #[miner(optional)]
    subset_batch_miner: Option<Box<dyn SubsetBatchMiner>>,
    #[param]
    seen: Arc<Mutex<Seen>>,
}

impl Step for Probe {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.trunk.forward(data)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let first_values = Vec::<f32>::try_from(data.select(1, 0)).unwrap_or_default();
        let label_values = Vec::<i64>::try_from(labels).unwrap_or_default();
        let mut seen = self.seen.lock().unwrap();
        seen.batch_sizes.push(data.size()[0]);
        seen.samples.extend(first_values.into_iter().zip(label_values));
        let mut unweighted = (None, None);
        let loss = &mut self.metric_loss;
        it.compute(ProbeLoss::MetricLoss, || {
            let value = loss.compute(&embeddings, labels, None)?;
            unweighted.0 = Some(value.double_value(&[]));
            Ok(value)
        })?;
        let loss = &mut self.aux_loss;
        it.compute(ProbeLoss::AuxLoss, || {
            let value = loss.compute(&embeddings, labels, None)?;
            unweighted.1 = Some(value.double_value(&[]));
            Ok(value)
        })?;
        seen.unweighted.push(unweighted);
        Ok(())
    }
}

/// A `Probe` builder with every key set: a linear trunk, two triplet losses, SGD.
macro_rules! probe {
    ($dataset:expr, $batch_size:expr, $seen:expr) => {{
        let dataset: InMemoryDataset = $dataset;
        let width = dataset.data().size()[1];
        Probe::builder()
            .trunk(linear(width, 8))
            .metric_loss(TripletMarginLoss::new().margin(0.2))
            .aux_loss(TripletMarginLoss::new().margin(1.0))
            .trunk_optimizer(Sgd::new(0.01))
            .seen($seen.clone())
            .data_device(Device::Cpu)
            .progress_bar(false)
            .seed(3)
            .dataset(dataset)
            .batch_size($batch_size)
    }};
}

fn seen() -> Arc<Mutex<Seen>> {
    Arc::new(Mutex::new(Seen::default()))
}

#[test]
fn a_frozen_key_is_bitwise_unchanged_and_the_others_train() {
    one_thread();
    let data = clusters(4, 16, 10);
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(10, 16))
        .embedder(linear(16, 8))
        .metric_loss(TripletMarginLoss::new().margin(0.5))
        .trunk_optimizer(Adam::new(0.05))
        .embedder_optimizer(Adam::new(0.05))
        .freeze([MetricLossOnlyKey::Trunk])
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(data)
        .batch_size(32)
        .build()
        .unwrap();
    let (trunk_before, embedder_before) = (snapshot(&trainer.keys().trunk), snapshot(&trainer.keys().embedder));
    trainer.train(3).unwrap();
    assert!(bitwise_equal(&trunk_before, &snapshot(&trainer.keys().trunk)), "the frozen trunk changed");
    assert!(!bitwise_equal(&embedder_before, &snapshot(&trainer.keys().embedder)), "the embedder did not train");
    assert!(!trainer.keys().trunk.is_training(), "a frozen key stays in eval mode");
}

#[test]
fn loss_weights_scale_the_recorded_losses_and_the_total() {
    one_thread();
    let seen = seen();
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let sink = recorded.clone();
    let mut trainer = probe!(clusters(4, 8, 6), 16, seen)
        .loss_weight(ProbeLoss::MetricLoss, 2.0)
        .end_of_iteration_hook(move |t| {
            sink.lock().unwrap().push((t.losses(), t.total_loss()));
            Ok(())
        })
        .build()
        .unwrap();
    trainer.train(2).unwrap();
    let recorded = recorded.lock().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(recorded.len(), 4, "2 epochs of 32 samples in batches of 16");
    for ((losses, total), (metric, aux)) in recorded.iter().zip(&seen.unweighted) {
        let (metric, aux) = (metric.unwrap(), aux.unwrap());
        let weighted: std::collections::HashMap<ProbeLoss, f64> = losses.iter().copied().collect();
        // 2.0 from the builder; 3.0 is aux_loss's declared default.
        assert!((weighted[&ProbeLoss::MetricLoss] - 2.0 * metric).abs() < 1e-5, "{losses:?} vs {metric}");
        assert!((weighted[&ProbeLoss::AuxLoss] - 3.0 * aux).abs() < 1e-5, "{losses:?} vs {aux}");
        assert!((total - (2.0 * metric + 3.0 * aux)).abs() < 1e-5);
    }
}

#[test]
fn a_loss_weighted_zero_is_neither_computed_nor_counted() {
    one_thread();
    let seen = seen();
    let mut trainer = probe!(clusters(4, 8, 6), 16, seen).loss_weight(ProbeLoss::AuxLoss, 0.0).build().unwrap();
    trainer.train(1).unwrap();
    assert!(seen.lock().unwrap().unweighted.iter().all(|(metric, aux)| metric.is_some() && aux.is_none()));
    assert_eq!(trainer.losses().len(), 1);
    assert!((trainer.losses()[0].1 - trainer.total_loss()).abs() < 1e-9);
}

#[test]
fn string_labels_map_to_their_rank_in_sorted_order_as_pml_does() {
    one_thread();
    let names = ["shirt", "coat", "bag", "coat", "shirt", "bag", "boot", "boot"];
    // The first input value of each sample is its index, so the step's record says which sample it saw.
    let data = Tensor::arange(8, (Kind::Float, Device::Cpu)).unsqueeze(1).repeat([1, 3]);
    let dataset = InMemoryDataset::new(data, Labels::text(names)).unwrap();
    let seen = seen();
    let mut trainer = probe!(dataset, 4, seen).set_min_label_to_zero(true).build().unwrap();
    trainer.train(2).unwrap();
    let rank = |name: &str| ["bag", "boot", "coat", "shirt"].iter().position(|n| *n == name).unwrap() as i64;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.samples.len(), 16);
    for (index, label) in &seen.samples {
        assert_eq!(*label, rank(names[*index as usize]), "sample {index} ({})", names[*index as usize]);
    }
}

#[test]
fn the_epoch_hook_can_stop_training() {
    one_thread();
    let seen = seen();
    let epochs_seen = Arc::new(Mutex::new(Vec::new()));
    let sink = epochs_seen.clone();
    let mut trainer = probe!(clusters(2, 16, 4), 8, seen)
        .end_of_epoch_hook(move |t| {
            sink.lock().unwrap().push(t.epoch());
            Ok(if t.epoch() == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })
        .build()
        .unwrap();
    trainer.train(10).unwrap();
    assert_eq!(trainer.epoch(), 2);
    assert_eq!(*epochs_seen.lock().unwrap(), vec![1, 2]);
}

#[test]
fn epochs_count_iterations_per_epoch_and_continue_across_calls() {
    one_thread();
    let seen = seen();
    let counted = Arc::new(Mutex::new(Vec::new()));
    let sink = counted.clone();
    let mut trainer = probe!(clusters(2, 50, 4), 10, seen)
        .iterations_per_epoch(7)
        .end_of_iteration_hook(move |t| {
            sink.lock().unwrap().push((t.epoch(), t.iteration(), t.global_iteration()));
            Ok(())
        })
        .build()
        .unwrap();
    trainer.train(2).unwrap();
    trainer.train(1).unwrap();
    let counted = counted.lock().unwrap();
    let expected: Vec<(usize, usize, usize)> =
        (1..=3).flat_map(|epoch| (0..7).map(move |i| (epoch, i, i + 7 * (epoch - 1)))).collect();
    assert_eq!(*counted, expected);
    assert_eq!(trainer.epoch(), 3);
    assert_eq!(seen.lock().unwrap().batch_sizes, vec![10; 21]);
}

#[test]
fn one_epoch_is_one_pass_without_the_incomplete_last_batch() {
    one_thread();
    let seen = seen();
    let mut trainer = probe!(clusters(3, 35, 4), 10, seen).build().unwrap();
    assert_eq!(trainer.iterations_per_epoch(), 10, "105 samples in batches of 10");
    trainer.train(1).unwrap();
    let seen = seen.lock().unwrap();
    let mut visited: Vec<u32> = seen.samples.iter().map(|(value, _)| value.to_bits()).collect();
    visited.sort_unstable();
    visited.dedup();
    assert_eq!(seen.samples.len(), 100);
    assert_eq!(visited.len(), 100, "a pass visits each sample once");
}

#[test]
fn the_subset_batch_miner_picks_the_samples_the_step_trains_on() {
    one_thread();
    let seen = seen();
    let mut trainer = probe!(clusters(4, 32, 6), 64, seen)
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new().margin(0.2), 16).num_trials(4))
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    assert_eq!(seen.lock().unwrap().batch_sizes, vec![16, 16]);
    let records = trainer.records();
    let miner = records.iter().find(|(name, _)| name == "subset_batch_miner").expect("the miner records its trials");
    let value = |name: &str| miner.1.iter().find(|r| r.name == name).map(|r| r.value).unwrap();
    assert_eq!(value("num_trials"), 4.0);
    assert!(value("max_loss") >= value("avg_loss") && value("avg_loss") >= value("min_loss"));
}

#[test]
fn mper_class_batches_hold_m_samples_of_each_class() {
    one_thread();
    let dataset = clusters(5, 20, 4);
    let labels = int_labels(&dataset);
    let seen = seen();
    let mut trainer = Probe::builder()
        .trunk(linear(4, 4))
        .metric_loss(TripletMarginLoss::new())
        .aux_loss(TripletMarginLoss::new())
        .seen(seen.clone())
        .sampler(MPerClassSampler::new(&labels, 4).batch_size(12).length_before_new_iter(120))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(12)
        .build()
        .unwrap();
    assert_eq!(trainer.iterations_per_epoch(), 10);
    trainer.train(1).unwrap();
    let seen = seen.lock().unwrap();
    for batch in seen.samples.chunks(12) {
        let mut counts = std::collections::BTreeMap::new();
        for (_, label) in batch {
            *counts.entry(*label).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 3, "batch_size / m classes per batch: {counts:?}");
        assert!(counts.values().all(|&c| c == 4), "{counts:?}");
    }
}

#[test]
fn records_and_learning_rates_are_readable_by_hooks() {
    one_thread();
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .metric_loss(TripletMarginLoss::new().margin(0.3))
        // An epsilon wider than any similarity keeps every positive pair, so the count is known
        // to be positive whatever the random clusters (a batch of 16 from 4 classes has pairs).
        .tuple_miner(MultiSimilarityMiner::new(1e6))
        .trunk_optimizer(Adam::new(0.01))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(clusters(4, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    assert_eq!(trainer.learning_rate(MetricLossOnlyKey::Trunk), Some(0.01));
    assert_eq!(trainer.learning_rate(MetricLossOnlyKey::Embedder), None, "the identity embedder has no optimizer");
    let records: std::collections::HashMap<String, Vec<metric_learning::component::Record>> = trainer.records().into_iter().collect();
    assert!(records["metric_loss"].iter().any(|r| r.name == "margin" && r.value == 0.3));
    let miner = &records["tuple_miner"];
    let pos = miner.iter().find(|r| r.name == "num_pos_pairs").unwrap().value;
    // A batch of 16 from 4 classes of 8 holds at most 8 of a class: at most 7 positives each.
    assert!(pos > 0.0 && pos <= 16.0 * 7.0, "{pos} positive pairs");
}

/// Two getters and one collate: each sees what PML's would.
#[test]
fn the_collate_function_and_the_data_and_label_getter_shape_each_batch() {
    one_thread();
    let seen = seen();
    let mut trainer = probe!(clusters(2, 8, 4), 4, seen)
        .collate(|samples| {
            let batch = metric_learning::data::collate(samples)?;
            Ok(Batch { data: batch.data * 0.0 + 7.0, labels: batch.labels })
        })
        .data_and_label_getter(|batch| Ok(Batch { data: batch.data + 1.0, labels: batch.labels }))
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    assert!(seen.lock().unwrap().samples.iter().all(|(value, _)| *value == 8.0));
}
