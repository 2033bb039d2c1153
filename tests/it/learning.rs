//! The two stock trainers learn on Fashion-MNIST: MAP@R rises by a clear margin.

use metric_learning::prelude::*;
use metric_learning_tests::{fashion_mnist, int_labels, mlp, one_thread};

const TRAIN: usize = 6000;
const TEST: usize = 1000;

#[test]
fn metric_loss_only_raises_map_at_r_on_fashion_mnist() {
    one_thread();
    tch::manual_seed(1);
    let (train, test) = fashion_mnist(TRAIN, TEST);
    let (trunk, embedder) = mlp();
    let mut trainer = MetricLossOnly::builder()
        .trunk(trunk)
        .embedder(embedder)
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .trunk_optimizer(Adam::new(1e-3))
        .embedder_optimizer(Adam::new(1e-3))
        .sampler(MPerClassSampler::new(&int_labels(&train), 8).length_before_new_iter(TRAIN))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .seed(1)
        .dataset(train)
        .batch_size(128)
        .build()
        .unwrap();
    let labels = int_labels(&test);
    let before = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap();
    trainer.train(2).unwrap();
    let after = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap();
    assert!(after.map_at_r > before.map_at_r + 0.08, "MAP@R {:.3} -> {:.3}", before.map_at_r, after.map_at_r);
    assert!(after.precision_at_1 > before.precision_at_1, "precision@1 {:.3} -> {:.3}", before.precision_at_1, after.precision_at_1);
}

#[test]
fn train_with_classifier_raises_map_at_r_and_trains_its_classifier() {
    one_thread();
    tch::manual_seed(2);
    let (train, test) = fashion_mnist(TRAIN, TEST);
    let (trunk, embedder) = mlp();
    let classifier = metric_learning_tests::linear(64, 10);
    let mut trainer = TrainWithClassifier::builder()
        .trunk(trunk)
        .embedder(embedder)
        .classifier(classifier)
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .classifier_loss(CrossEntropyLoss::new())
        .loss_weight(metric_learning::trainers::TrainWithClassifierLoss::ClassifierLoss, 0.5)
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .trunk_optimizer(Adam::new(1e-3))
        .embedder_optimizer(Adam::new(1e-3))
        .classifier_optimizer(Adam::new(1e-3))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .seed(2)
        .dataset(train)
        .batch_size(128)
        .build()
        .unwrap();
    let labels = int_labels(&test);
    let before = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap();
    trainer.train(2).unwrap();
    let after = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap();
    assert!(after.map_at_r > before.map_at_r + 0.08, "MAP@R {:.3} -> {:.3}", before.map_at_r, after.map_at_r);

    // The classifier learned too: its accuracy on the test images is far above chance (0.1).
    let keys = trainer.keys();
    let logits = tch::no_grad(|| keys.classifier.forward(&keys.embedder.forward(&keys.trunk.forward(test.data())?)?)).unwrap();
    let predicted = Vec::<i64>::try_from(logits.argmax(1, false)).unwrap();
    let accuracy = predicted.iter().zip(&labels).filter(|(p, l)| p == l).count() as f64 / labels.len() as f64;
    assert!(accuracy > 0.6, "classifier accuracy {accuracy:.3}");
}
