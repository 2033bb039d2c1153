//! The samplers in a trainer: the batches it trains on are the ones each sampler promises,
//! and `build()` refuses a batch size a sampler cannot serve.

use metric_learning::data::{collate, InMemoryDataset, Labels, Sample};
use metric_learning::miners::PairMarginMiner;
use metric_learning::prelude::*;
use metric_learning_tests::{linear, one_thread};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// `n` samples whose first feature is their index, so a collate function can see which
/// samples each batch holds; the second is noise.
fn indexed(labels: Labels) -> InMemoryDataset {
    let n = labels.len() as i64;
    let index = Tensor::arange(n, (Kind::Float, Device::Cpu)).unsqueeze(1);
    let data = Tensor::cat(&[index, Tensor::randn([n, 1], (Kind::Float, Device::Cpu))], 1);
    InMemoryDataset::new(data, labels).unwrap()
}

/// Trains `iterations` with this sampler and batch size; returns the batches' sample indices.
fn batches(dataset: InMemoryDataset, sampler: impl Sampler + 'static, batch_size: usize, iterations: usize) -> Vec<Vec<usize>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(2, 4))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Adam::new(0.01))
        .collate(move |samples: Vec<Sample>| {
            sink.lock().unwrap().push(samples.iter().map(|s| s.data.double_value(&[0]) as usize).collect::<Vec<_>>());
            collate(samples)
        })
        .sampler(sampler)
        .data_device(Device::Cpu)
        .progress_bar(false)
        .iterations_per_epoch(iterations)
        .dataset(dataset)
        .batch_size(batch_size)
        .build()
        .unwrap();
    // build() collated the first sample once, to check the models on it.
    assert_eq!(seen.lock().unwrap().drain(..).collect::<Vec<_>>(), [vec![0]]);
    trainer.train(1).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), iterations);
    seen
}

fn build_error(dataset: InMemoryDataset, sampler: impl Sampler + 'static, batch_size: usize) -> String {
    MetricLossOnly::builder()
        .trunk(linear(2, 4))
        .metric_loss(TripletMarginLoss::new())
        .sampler(sampler)
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(batch_size)
        .build()
        .err()
        .expect("a batch size the sampler cannot serve")
        .to_string()
}

#[test]
fn sequential_batches_are_the_dataset_in_order() {
    one_thread();
    let labels: Vec<i64> = (0..24).map(|i| i % 3).collect();
    let seen = batches(indexed(Labels::int(labels)), SequentialSampler::new(24), 8, 3);
    assert_eq!(seen.concat(), (0..24).collect::<Vec<_>>());
}

#[test]
fn random_batches_cover_the_dataset_once_per_pass() {
    one_thread();
    let labels: Vec<i64> = (0..24).map(|i| i % 3).collect();
    let seen = batches(indexed(Labels::int(labels)), RandomSampler::new(24), 8, 6);
    for pass in seen.chunks(3) {
        let mut indices = pass.concat();
        assert_ne!(indices, (0..24).collect::<Vec<_>>(), "shuffled");
        indices.sort_unstable();
        assert_eq!(indices, (0..24).collect::<Vec<_>>());
    }
}

#[test]
fn fixed_triplet_batches_hold_whole_triplets_of_the_fixed_set() {
    one_thread();
    let labels: Vec<i64> = (0..30).map(|i| i % 5).collect();
    let sampler = FixedSetOfTriplets::new(&labels, 12, 3);
    let set: BTreeSet<[usize; 3]> = sampler.triplets().iter().copied().collect();
    // 12 triplets are 4 batches of 9: two passes.
    let seen = batches(indexed(Labels::int(labels.clone())), sampler, 9, 8);
    for batch in &seen {
        for t in batch.chunks(3) {
            assert!(set.contains(&[t[0], t[1], t[2]]), "{t:?} is one of the fixed triplets");
            assert!(t[0] != t[1] && labels[t[0]] == labels[t[1]] && labels[t[0]] != labels[t[2]]);
        }
    }
    let text = build_error(indexed(Labels::int(labels.clone())), FixedSetOfTriplets::new(&labels, 12, 3), 8);
    assert!(text.contains("multiple of 3"), "{text}");
}

#[test]
fn hierarchical_batches_hold_two_super_classes_of_whole_classes() {
    one_thread();
    // 4 super-classes of 4 classes (class c in super-class c / 4), 6 samples per class.
    let rows: Vec<Vec<i64>> = (0..96).map(|i| vec![i % 16, (i % 16) / 4]).collect();
    let dataset = || indexed(Labels::int_levels(rows.concat(), 2).unwrap());
    let sampler = HierarchicalSampler::new(&rows, 12, 3, 2, 2, 0, 1).unwrap();
    assert_eq!(sampler.len(), 6 * 2 * 12, "4 choose 2 pairs, 2 batches each");
    let seen = batches(dataset(), sampler, 12, 12);
    for batch in &seen {
        let (mut classes, mut supers) = (BTreeMap::new(), BTreeMap::new());
        for &i in batch {
            *classes.entry(rows[i][0]).or_insert(0) += 1;
            *supers.entry(rows[i][1]).or_insert(0) += 1;
        }
        assert_eq!(supers.len(), 2, "{batch:?}");
        assert!(supers.values().all(|&n| n == 6) && classes.values().all(|&n| n == 3), "{supers:?} {classes:?}");
    }
    let text = build_error(dataset(), HierarchicalSampler::new(&rows, 12, 3, 2, 2, 0, 1).unwrap(), 16);
    assert!(text.contains("built for batch size 12, but the trainer's batch size is 16"), "{text}");
}

#[test]
fn tuples_to_weights_draws_only_samples_the_miner_chose() {
    one_thread();
    let labels: Vec<i64> = (0..32).map(|i| i % 4).collect();
    let dataset = indexed(Labels::int(labels.clone()));
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(2, 4))
        .metric_loss(TripletMarginLoss::new())
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(indexed(Labels::int(labels.clone())))
        .batch_size(8)
        .build()
        .unwrap();
    // The user embeds the subset (here the whole dataset), as PML's sampler does itself.
    let embeddings = trainer.embed(dataset.data(), 16).unwrap();
    let label_tensor = Tensor::from_slice(&labels);
    let mut miner = PairMarginMiner::new(0.0, 1e9);
    let sampler = TuplesToWeightsSampler::new(&embeddings, &label_tensor, &mut miner, 64).unwrap();
    let weights = sampler.weights().to_vec();
    assert!(weights.iter().all(|&w| w > 0.0), "every sample is in some pair: {weights:?}");
    let seen = batches(dataset, sampler, 8, 8);
    assert!(seen.concat().iter().all(|&i| i < 32 && weights[i] > 0.0));
    // A miner that keeps nothing: no weights, an error.
    let mut nothing = PairMarginMiner::new(1e9, -1.0);
    let error = TuplesToWeightsSampler::new(&embeddings, &label_tensor, &mut nothing, 64).unwrap_err();
    assert!(error.to_string().contains("found no tuple"), "{error}");
}
