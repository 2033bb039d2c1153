//! CascadedEmbeddings and TwoStreamMetricLoss: stage keys, the HDC hand-off, the two streams'
//! indices, their run-time checks, and learning on Fashion-MNIST.

use metric_learning::data::{InMemoryDataset, Labels};
use metric_learning::indices::Tuples;
use metric_learning::losses::{ContrastiveLoss, MetricLoss, MultiSimilarityLoss, Reference};
use metric_learning::miners::{HdcMiner, TripletMarginMiner, TripletType};
use metric_learning::prelude::*;
use metric_learning::component::Component;
use metric_learning::trainer::KeyName;
use metric_learning::trainers::{CascadedEmbeddings, CascadedEmbeddingsLoss, TwoStreamMetricLoss};
use metric_learning_tests::{clusters, fashion_mnist, int_labels, linear, one_thread};
use std::sync::{Arc, Mutex};

fn record(records: &[(String, Vec<metric_learning::component::Record>)], key: &str, name: &str) -> f64 {
    let (_, list) = records.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no records for {key}"));
    list.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("{key} has no {name}")).value
}

#[test]
fn cascaded_stages_record_their_own_losses_and_hdc_narrows_the_previous_stage() {
    one_thread();
    let per_iteration = Arc::new(Mutex::new(Vec::new()));
    let sink = per_iteration.clone();
    let mut trainer = CascadedEmbeddings::builder()
        .trunk(linear(8, 12))
        .embedding_sizes(vec![4, 4, 4])
        .metric_loss(ContrastiveLoss::new())
        .metric_loss(TripletMarginLoss::new())
        .metric_loss(ContrastiveLoss::new().neg_margin(0.5))
        .classifier(linear(4, 4))
        .classifier_loss(CrossEntropyLoss::new())
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .tuple_miners([HdcMiner::new(0.5), HdcMiner::new(0.5)])
        .trunk_optimizer(Adam::new(0.01))
        .classifier_optimizer(0, Adam::new(0.01))
        .loss_weight(CascadedEmbeddingsLoss::ClassifierLoss(0), 0.5)
        .end_of_iteration_hook(move |t| {
            let records = t.records();
            let pos = |key: &str| record(&records, key, "num_pos_pairs");
            sink.lock().unwrap().push((t.losses().iter().map(|(l, _)| l.name()).collect::<Vec<_>>(), pos("tuple_miner_0"), pos("tuple_miner_1"), pos("tuple_miner_2")));
            Ok(())
        })
        .progress_bar(false)
        .dataset(clusters(4, 8, 8))
        .batch_size(32)
        .build()
        .unwrap();
    trainer.train(2).unwrap();
    let seen = per_iteration.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for (names, first, second, third) in seen.iter() {
        assert_eq!(names, &["metric_loss_0", "metric_loss_1", "metric_loss_2", "classifier_loss_0"]);
        // Each HDC stage keeps the harder half of the pairs the stage before it chose.
        assert!(*first > 0.0);
        assert_eq!(*second, (first / 2.0).ceil(), "stage 1 filters stage 0's {first} positive pairs");
        assert_eq!(*third, (second / 2.0).ceil(), "stage 2 filters stage 1's {second} positive pairs");
    }
}

#[test]
fn cascaded_refuses_missing_stage_losses_and_a_narrow_embedding() {
    one_thread();
    let text = CascadedEmbeddings::builder()
        .trunk(linear(8, 12))
        .embedding_sizes(vec![4, 4, 4])
        .metric_losses([ContrastiveLoss::new(), ContrastiveLoss::new()])
        .progress_bar(false)
        .dataset(clusters(2, 8, 8))
        .batch_size(16)
        .build()
        .err()
        .expect("two losses for three stages")
        .to_string();
    assert!(text.contains("3 embedding sizes but 2 metric losses"), "{text}");

    // A narrow embedding is found in build(), on one sample, not at the first iteration.
    let error = CascadedEmbeddings::builder()
        .trunk(linear(8, 6))
        .embedding_sizes(vec![4, 4])
        .metric_losses([ContrastiveLoss::new(), ContrastiveLoss::new()])
        .progress_bar(false)
        .dataset(clusters(2, 8, 8))
        .batch_size(16)
        .build()
        .err()
        .expect("6 < 4 + 4");
    assert_eq!(error.when(), Some(When::Build));
    assert_eq!(error.key(), Some("embedding_sizes"));
    let text = error.to_string();
    assert!(text.contains("the sum of embedding_sizes [4, 4] = 8, found 6 wide"), "{text}");
}

/// What `Spy` saw in one call: the number of embeddings, anchors, positives, negatives.
type Call = (i64, Vec<i64>, Vec<i64>, Vec<i64>);

/// A loss that records the tuples and the number of embeddings it was given.
#[derive(Default)]
struct Spy {
    seen: Arc<Mutex<Vec<Call>>>,
}

impl Component for Spy {}

impl MetricLoss for Spy {
    fn compute_with_reference(&mut self, embeddings: &Tensor, _: &Tensor, indices: Option<&Tuples>, _: Option<Reference<'_>>) -> metric_learning::Result<Tensor> {
        let v = |t: Tensor| Vec::<i64>::try_from(t).unwrap();
        let (a, p, _, n) = indices.expect("two-stream always passes tuples").to_pairs();
        self.seen.lock().unwrap().push((embeddings.size()[0], v(a), v(p), v(n)));
        Ok(embeddings.sum(Kind::Float) * 0.0)
    }
}

fn two_stream_data() -> InMemoryDataset {
    // 6 pairs of (anchor, positive) rows of width 3; classes 0, 0, 1, 1, 2, 2.
    let data = Tensor::randn([6, 2, 3], (Kind::Float, Device::Cpu));
    InMemoryDataset::new(data, Labels::int([0, 0, 1, 1, 2, 2])).unwrap()
}

#[test]
fn two_stream_indices_point_anchors_at_the_first_stream_and_the_rest_at_the_second() {
    one_thread();
    let spy = Spy::default();
    let seen = spy.seen.clone();
    let mut trainer = TwoStreamMetricLoss::builder()
        .trunk(linear(3, 4))
        .metric_loss(spy)
        .trunk_optimizer(Sgd::new(0.01))
        .progress_bar(false)
        .seed(4)
        .dataset(two_stream_data())
        .batch_size(6)
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    let seen = seen.lock().unwrap();
    let (rows, a, p, n) = &seen[0];
    assert_eq!(*rows, 12, "both streams, stacked");
    assert!(a.iter().all(|&i| i < 6) && p.iter().chain(n).all(|&i| (6..12).contains(&i)));
    // Without a miner, every (i, j, k) with j of i's class (j = i included) and k not: each of
    // the 6 anchors has 2 such j and 4 such k.
    assert_eq!(a.len(), 6 * 2 * 4);
    assert!(a.iter().zip(p).any(|(&i, &j)| j == i + 6), "an anchor's own partner is its positive");
}

#[test]
fn two_stream_refuses_a_batch_that_is_not_two_streams() {
    one_thread();
    // Found in build(), on the dataset's first sample.
    let error = TwoStreamMetricLoss::builder()
        .trunk(linear(3, 4))
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .dataset(clusters(2, 4, 3))
        .batch_size(8)
        .build()
        .err()
        .expect("rows of width 3, not pairs");
    assert_eq!(error.when(), Some(When::Build));
    let text = error.to_string();
    assert!(text.contains("expected batches of shape (batch, 2, ...)") && text.contains("found [1, 3]"), "{text}");
}

#[test]
fn cascaded_and_two_stream_learn_on_fashion_mnist() {
    one_thread();
    tch::manual_seed(5);
    let (train, test) = fashion_mnist(6000, 1000);
    let labels = int_labels(&test);
    let score = |embeddings: Tensor| knn_scores(&embeddings, &labels).unwrap().map_at_r;

    let mut cascaded = CascadedEmbeddings::builder()
        .trunk(linear(784, 128))
        .embedding_sizes(vec![64, 64])
        .metric_loss(ContrastiveLoss::new().neg_margin(0.5))
        .metric_loss(MultiSimilarityLoss::new())
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .tuple_miner(HdcMiner::new(0.5))
        .trunk_optimizer(Adam::new(1e-3))
        .sampler(MPerClassSampler::new(&int_labels(&train), 8).length_before_new_iter(6000))
        .progress_bar(false)
        .seed(5)
        .dataset(train)
        .batch_size(128)
        .build()
        .unwrap();
    let before = score(cascaded.embed(test.data(), 500).unwrap());
    cascaded.train(2).unwrap();
    let after = score(cascaded.embed(test.data(), 500).unwrap());
    assert!(after > before + 0.05, "CascadedEmbeddings MAP@R {before:.3} -> {after:.3}");

    let (train, _) = fashion_mnist(6000, 0);
    let pairs = train.same_class_pairs(5).unwrap();
    let mut two_stream = TwoStreamMetricLoss::builder()
        .trunk(linear(784, 64))
        .metric_loss(TripletMarginLoss::new().margin(0.2))
        .tuple_miner(TripletMarginMiner::new(0.2, TripletType::All))
        .trunk_optimizer(Adam::new(1e-3))
        .progress_bar(false)
        .seed(5)
        .dataset(pairs)
        .batch_size(64)
        .build()
        .unwrap();
    let before = score(two_stream.embed(test.data(), 500).unwrap());
    two_stream.train(2).unwrap();
    let after = score(two_stream.embed(test.data(), 500).unwrap());
    assert!(after > before + 0.05, "TwoStreamMetricLoss MAP@R {before:.3} -> {after:.3}");
}

#[test]
fn cascaded_accepts_a_subset_batch_miner_as_pml_documents() {
    one_thread();
    let mut trainer = CascadedEmbeddings::builder()
        .trunk(linear(8, 8))
        .embedding_sizes(vec![4, 4])
        .metric_losses([ContrastiveLoss::new(), ContrastiveLoss::new()])
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new(), 8))
        .trunk_optimizer(Adam::new(0.01))
        .progress_bar(false)
        .dataset(clusters(2, 16, 8))
        .batch_size(16)
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    assert!(trainer.total_loss().is_finite());
}
