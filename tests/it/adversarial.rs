//! DeepAdversarialMetricLearning: its three phases, what each trains and leaves alone, and the
//! generator's width check.

use metric_learning::prelude::*;
use metric_learning::trainer::KeyName;
use metric_learning::trainers::{DeepAdversarialMetricLearning, DeepAdversarialMetricLearningKey, DeepAdversarialMetricLearningLoss};
use metric_learning_tests::{bitwise_equal, clusters, linear, one_thread, snapshot};
use std::sync::{Arc, Mutex};

fn daml(generator: Model) -> metric_learning::Result<Trainer<DeepAdversarialMetricLearning>> {
    DeepAdversarialMetricLearning::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .generator(generator)
        // A margin no triplet meets, and a miner that keeps every pair: the metric loss has a
        // gradient in every iteration whatever the random clusters, so "the trunk moved" is
        // certain where the phase trains it.
        .metric_loss(TripletMarginLoss::new().margin(10.0))
        .synth_loss(TripletMarginLoss::new().margin(0.1))
        .g_adv_loss(TripletMarginLoss::new().margin(0.1))
        .tuple_miner(MultiSimilarityMiner::new(1e6))
        .metric_alone_epochs(1)
        .g_alone_epochs(1)
        .g_triplets_per_anchor(4)
        .trunk_optimizer(Adam::new(0.01))
        .embedder_optimizer(Adam::new(0.01))
        .generator_optimizer(Adam::new(0.01))
        .loss_weight(DeepAdversarialMetricLearningLoss::SynthLoss, 0.1)
        .loss_weight(DeepAdversarialMetricLearningLoss::GAdvLoss, 0.1)
        .loss_weight(DeepAdversarialMetricLearningLoss::GHardLoss, 0.1)
        .loss_weight(DeepAdversarialMetricLearningLoss::GRegLoss, 0.1)
        .progress_bar(false)
        .dataset(clusters(4, 8, 6))
        .batch_size(16)
        .build()
}

#[test]
fn the_three_phases_train_what_they_should_and_nothing_else() {
    one_thread();
    let mut trainer = daml(linear(24, 8)).unwrap();
    let per_epoch = Arc::new(Mutex::new(Vec::new()));
    let sink = per_epoch.clone();
    let record = move |t: &mut Trainer<DeepAdversarialMetricLearning>| {
        let mut names: Vec<String> = t.losses().iter().map(|(l, _)| l.name()).collect();
        names.sort();
        sink.lock().unwrap().push(names);
    };

    // Epoch 1, metric alone: the generator does not change.
    let (generator, trunk) = (snapshot(&trainer.keys().generator), snapshot(&trainer.keys().trunk));
    trainer.train(1).unwrap();
    record(&mut trainer);
    assert!(bitwise_equal(&generator, &snapshot(&trainer.keys().generator)), "metric-alone epoch changed the generator");
    assert!(!bitwise_equal(&trunk, &snapshot(&trainer.keys().trunk)), "metric-alone epoch left the trunk");

    // Epoch 2, generator alone: the trunk and embedder do not change.
    let (generator, trunk, embedder) = (snapshot(&trainer.keys().generator), snapshot(&trainer.keys().trunk), snapshot(&trainer.keys().embedder));
    trainer.train(1).unwrap();
    record(&mut trainer);
    assert!(bitwise_equal(&trunk, &snapshot(&trainer.keys().trunk)), "generator-alone epoch changed the trunk");
    assert!(bitwise_equal(&embedder, &snapshot(&trainer.keys().embedder)), "generator-alone epoch changed the embedder");
    assert!(!bitwise_equal(&generator, &snapshot(&trainer.keys().generator)), "generator-alone epoch left the generator");

    // Epoch 3, both: everything trains, every loss counts.
    let (generator, trunk) = (snapshot(&trainer.keys().generator), snapshot(&trainer.keys().trunk));
    trainer.train(1).unwrap();
    record(&mut trainer);
    assert!(!bitwise_equal(&generator, &snapshot(&trainer.keys().generator)) && !bitwise_equal(&trunk, &snapshot(&trainer.keys().trunk)));

    let seen = per_epoch.lock().unwrap();
    assert_eq!(seen[0], ["metric_loss"]);
    assert_eq!(seen[1], ["g_adv_loss", "g_hard_loss", "g_reg_loss"]);
    assert_eq!(seen[2], ["g_adv_loss", "g_hard_loss", "g_reg_loss", "metric_loss", "synth_loss"]);
}

#[test]
fn a_generator_of_the_wrong_width_is_refused_by_build() {
    one_thread();
    let error = daml(linear(16, 8)).err().expect("16 is not 3 x 8");
    assert_eq!((error.key(), error.when()), (Some("generator"), Some(When::Build)));
    let text = error.to_string();
    assert!(text.contains("`generator` expected to take 3 x the trunk's output width = 24 features, found model `generator` cannot process input of shape [1, 24]"), "{text}");
    let text = daml(linear(24, 5)).err().expect("5 is not 8").to_string();
    assert!(text.contains("`generator` expected to return the trunk's output width 8, found 5 features"), "{text}");
}

#[test]
fn the_adversarial_loss_is_a_copy_and_the_user_losses_are_untouched() {
    one_thread();
    let trainer = daml(linear(24, 8)).unwrap();
    let margin = |records: Vec<metric_learning::component::Record>| records.iter().find(|r| r.name == "margin").map(|r| r.value);
    use metric_learning::component::Component;
    assert_eq!(margin(trainer.keys().g_adv_loss.records()), Some(-0.1), "the generator's loss has its margin negated");
    assert_eq!(margin(trainer.keys().synth_loss.records()), Some(0.1));
    assert_eq!(margin(trainer.keys().metric_loss.records()), Some(10.0));
}

#[test]
fn a_frozen_trunk_keeps_its_batch_norm_statistics_through_all_three_phases() {
    one_thread();
    let mut trainer = DeepAdversarialMetricLearning::builder()
        .trunk(metric_learning_tests::linear_batch_norm(6, 8))
        .embedder(linear(8, 4))
        .generator(linear(24, 8))
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .synth_loss(TripletMarginLoss::new().margin(0.1))
        .g_adv_loss(TripletMarginLoss::new().margin(0.1))
        .metric_alone_epochs(1)
        .g_alone_epochs(1)
        .g_triplets_per_anchor(4)
        .embedder_optimizer(Adam::new(0.01))
        .generator_optimizer(Adam::new(0.01))
        .freeze([DeepAdversarialMetricLearningKey::Trunk])
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(4, 8, 6))
        .batch_size(32)
        .build()
        .unwrap();
    let before = metric_learning_tests::all_variables(&trainer.keys().trunk);
    trainer.train(3).unwrap();
    let after = metric_learning_tests::all_variables(&trainer.keys().trunk);
    assert!(before.len() >= 4, "weights, bias and the two running statistics");
    assert!(bitwise_equal(&before, &after), "a frozen trunk changed in one of the phases");
}
