//! The positive side of the ui-tests: declarations using every DSL feature compile, builders
//! with every key and option set build, and what the macro generates behaves.

use metric_learning::optim::{ClipGradNorm, ClipGradValue, LinearLr, StepLr};
use metric_learning::prelude::*;
use metric_learning::trainer::{KeyName, TrainerKeys};
use metric_learning::trainers::{MetricLossOnlyKey, MetricLossOnlyLoss, TrainWithClassifierKey, TrainWithClassifierLoss};
use metric_learning::Iteration;
use metric_learning_tests::{clusters, int_labels, linear, one_thread};

#[test]
fn metric_loss_only_with_every_key_and_option_builds_and_trains() {
    one_thread();
    let dataset = clusters(4, 16, 6);
    let labels = int_labels(&dataset);
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new(), 16))
        .trunk_optimizer(Sgd::new(0.01).momentum(0.9).nesterov(true).weight_decay(1e-4))
        .embedder_optimizer(AdamW::new(1e-3))
        .trunk_scheduler_by_iteration(LinearLr::new(0.5, 1.0, 4))
        .embedder_scheduler_by_epoch(StepLr::new(1, 0.5))
        .trunk_grad_clipper(ClipGradNorm::new(1.0))
        .embedder_grad_clipper(ClipGradValue::new(0.5))
        .loss_weight(MetricLossOnlyLoss::MetricLoss, 1.0)
        .freeze([])
        .freeze_trunk_batchnorm(true)
        .sampler(MPerClassSampler::new(&labels, 4).length_before_new_iter(64))
        .iterations_per_epoch(2)
        .data_device(Device::Cpu)
        .dtype(Kind::Float)
        .label_hierarchy_level(0)
        .dataset_labels(Labels::int(labels.clone()))
        .set_min_label_to_zero(true)
        .dataloader_num_workers(2)
        .seed(7)
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(32)
        .build()
        .unwrap();
    trainer.train(2).unwrap();
    assert_eq!(trainer.global_iteration(), 3);
    assert!(trainer.total_loss().is_finite());
}

#[test]
fn train_with_classifier_with_every_key_builds() {
    one_thread();
    let trainer = TrainWithClassifier::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .classifier(linear(4, 4))
        .metric_loss(TripletMarginLoss::new())
        .classifier_loss(CrossEntropyLoss::new())
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new(), 8))
        .classifier_optimizer(Adam::new(1e-3))
        .freeze([TrainWithClassifierKey::Trunk])
        .loss_weight(TrainWithClassifierLoss::ClassifierLoss, 0.5)
        .progress_bar(false)
        .dataset(clusters(4, 4, 6))
        .batch_size(16)
        .build()
        .unwrap();
    assert_eq!(trainer.loss_weight(TrainWithClassifierLoss::ClassifierLoss), 0.5);
    assert_eq!(trainer.loss_weight(TrainWithClassifierLoss::MetricLoss), 1.0);
}

/// Per-stage losses on consecutive slices of the embedding, with an optional classifier per
/// stage and an inline regulariser: indexed keys, a parameter with a default, an inline loss.
#[trainer]
pub struct Stages {
    #[model]
    trunk: Model,
    #[model(indexed, optional = Vec::new())]
    classifier: Vec<Model>,
    #[loss(indexed)]
    metric_loss: Vec<Box<dyn MetricLoss>>,
    #[loss(inline, weight = 0.1)]
    norm_loss: metric_learning::trainer::InlineLoss,
    #[param]
    sizes: Vec<i64>,
    #[param(default = 0.0)]
    offset: f64,
}

impl Step for Stages {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        Ok(self.trunk.forward(data)? + self.offset)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let mut start = 0;
        for (stage, &size) in self.sizes.iter().enumerate() {
            let slice = embeddings.narrow(1, start, size);
            let loss = &mut self.metric_loss[stage];
            it.compute(StagesLoss::MetricLoss(stage), || loss.compute(&slice, labels, None))?;
            start += size;
        }
        it.compute(StagesLoss::NormLoss, || Ok(embeddings.square().mean(Kind::Float)))
    }

    fn setup(&mut self, _sample: &Tensor) -> metric_learning::Result<()> {
        if self.metric_loss.len() != self.sizes.len() {
            return Err(metric_learning::Error::Config(format!(
                "Stages: {} sizes but {} metric losses",
                self.sizes.len(),
                self.metric_loss.len()
            )));
        }
        Ok(())
    }
}

#[test]
fn indexed_keys_are_named_per_index_and_recorded_per_stage() {
    one_thread();
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = recorded.clone();
    let mut trainer = Stages::builder()
        .trunk(linear(6, 6))
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .metric_loss(TripletMarginLoss::new().margin(0.2))
        .classifiers([linear(2, 4), linear(4, 4)])
        .sizes(vec![2, 4])
        .trunk_optimizer(Sgd::new(0.01))
        .classifier_optimizer(1, Sgd::new(0.01))
        .loss_weight(StagesLoss::MetricLoss(1), 0.5)
        .end_of_iteration_hook(move |t| {
            sink.lock().unwrap().push(t.losses().iter().map(|(loss, _)| loss.name()).collect::<Vec<_>>());
            Ok(())
        })
        .progress_bar(false)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    let keys: Vec<String> = trainer.keys().parameter_keys().iter().map(KeyName::name).collect();
    assert_eq!(keys, ["trunk", "classifier_0", "classifier_1", "metric_loss_0", "metric_loss_1"]);
    trainer.train(1).unwrap();
    assert_eq!(recorded.lock().unwrap()[0], ["metric_loss_0", "metric_loss_1", "norm_loss"]);
    assert_eq!(trainer.loss_weight(StagesLoss::MetricLoss(1)), 0.5);
    assert_eq!(trainer.loss_weight(StagesLoss::NormLoss), 0.1, "the declared default weight");
    assert_eq!(trainer.keys().offset, 0.0, "the parameter's default");
    let records: Vec<String> = trainer.records().into_iter().map(|(name, _)| name).collect();
    assert_eq!(records, ["metric_loss_0", "metric_loss_1"]);
}

#[test]
fn the_step_validates_what_the_types_cannot() {
    one_thread();
    let result = Stages::builder()
        .trunk(linear(6, 6))
        .metric_loss(TripletMarginLoss::new())
        .sizes(vec![2, 4])
        .progress_bar(false)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build();
    let text = result.err().expect("one loss for two stages").to_string();
    assert!(text.contains("Stages: 2 sizes but 1 metric losses"), "{text}");
}

#[test]
fn generated_key_enums_name_keys_as_pml_does() {
    assert_eq!(MetricLossOnlyKey::Trunk.name(), "trunk");
    assert_eq!(MetricLossOnlyKey::MetricLoss.name(), "metric_loss");
    assert_eq!(TrainWithClassifierLoss::ClassifierLoss.name(), "classifier_loss");
    assert_eq!(<MetricLossOnly as TrainerKeys>::NAME, "MetricLossOnly");
    assert_eq!(<MetricLossOnly as TrainerKeys>::default_loss_weight(MetricLossOnlyLoss::MetricLoss), 1.0);
}

/// Two models trained in alternating epochs, as DeepAdversarialMetricLearning alternates its
/// phases: `begin_iteration` switches which optimizers step and which losses count.
#[trainer]
pub struct Alternating {
    #[model]
    first: Model,
    #[model]
    second: Model,
    #[loss]
    first_loss: Box<dyn MetricLoss>,
    #[loss]
    second_loss: Box<dyn MetricLoss>,
}

impl Step for Alternating {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.second.forward(&self.first.forward(data)?)
    }

    fn begin_iteration(&mut self, phase: &mut metric_learning::engine::Phase<'_, Self>) {
        let first_turn = phase.epoch() % 2 == 1;
        phase.set_stepping(AlternatingKey::First, first_turn);
        phase.set_stepping(AlternatingKey::Second, !first_turn);
        let (first, second) = (phase.configured_weight(AlternatingLoss::FirstLoss), phase.configured_weight(AlternatingLoss::SecondLoss));
        phase.set_loss_weight(AlternatingLoss::FirstLoss, if first_turn { first } else { 0.0 });
        phase.set_loss_weight(AlternatingLoss::SecondLoss, if first_turn { 0.0 } else { second });
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let loss = &mut self.first_loss;
        it.compute(AlternatingLoss::FirstLoss, || loss.compute(&embeddings, labels, None))?;
        let loss = &mut self.second_loss;
        it.compute(AlternatingLoss::SecondLoss, || loss.compute(&embeddings, labels, None))
    }
}

#[test]
fn phases_switch_which_keys_step_and_which_losses_count() {
    use metric_learning_tests::{bitwise_equal, snapshot};
    one_thread();
    let counted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = counted.clone();
    let mut trainer = Alternating::builder()
        .first(linear(6, 8))
        .second(linear(8, 4))
        .first_loss(TripletMarginLoss::new().margin(0.5))
        .second_loss(TripletMarginLoss::new().margin(0.5))
        .first_optimizer(Adam::new(0.05))
        .second_optimizer(Adam::new(0.05))
        .end_of_epoch_hook(move |t| {
            sink.lock().unwrap().push(t.losses().iter().map(|(loss, _)| loss.name()).collect::<Vec<_>>());
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .progress_bar(false)
        .dataset(clusters(4, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    let (first, second) = (snapshot(&trainer.keys().first), snapshot(&trainer.keys().second));
    trainer.train(1).unwrap();
    assert!(!bitwise_equal(&first, &snapshot(&trainer.keys().first)), "epoch 1 trains the first model");
    assert!(bitwise_equal(&second, &snapshot(&trainer.keys().second)), "and leaves the second unchanged");
    let first = snapshot(&trainer.keys().first);
    trainer.train(1).unwrap();
    assert!(bitwise_equal(&first, &snapshot(&trainer.keys().first)), "epoch 2 leaves the first model unchanged");
    assert_eq!(*counted.lock().unwrap(), [["first_loss"], ["second_loss"]]);
}

/// The README's pipeline trainer, as it is written there: a declaration and nothing else.
#[trainer(embeddings = backbone -> head)]
pub struct Classified {
    #[model(trunk)] backbone: Model,
    #[model(optional = Model::identity())] head: Model,
    #[model] classifier: Model,
    #[loss(on = embeddings, miner = tuple_miner)] metric_loss: Box<dyn MetricLoss>,
    #[loss(on = classifier, weight = 0.5)] classifier_loss: Box<dyn ClassifierLoss>,
    #[miner(optional)] tuple_miner: Option<Box<dyn TupleMiner>>,
}

#[test]
fn a_pipeline_declaration_trains_every_loss_and_skips_a_zero_weighted_one() {
    one_thread();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut trainer = Classified::builder()
        .backbone(linear(6, 8))
        .head(linear(8, 4))
        .classifier(linear(4, 4))
        .metric_loss(TripletMarginLoss::new())
        .classifier_loss(CrossEntropyLoss::new())
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .backbone_optimizer(Adam::new(1e-2))
        .classifier_optimizer(Adam::new(1e-2))
        .end_of_iteration_hook(move |t| {
            sink.lock().unwrap().push(t.losses().iter().map(|(loss, _)| loss.name()).collect::<Vec<_>>());
            Ok(())
        })
        .progress_bar(false)
        .dataset(clusters(4, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    assert_eq!(trainer.loss_weight(ClassifiedLoss::ClassifierLoss), 0.5, "the declared weight");
    let before = metric_learning_tests::snapshot(&trainer.keys().classifier);
    trainer.train(1).unwrap();
    assert_eq!(seen.lock().unwrap()[0], ["metric_loss", "classifier_loss"]);
    assert!(!metric_learning_tests::bitwise_equal(&before, &metric_learning_tests::snapshot(&trainer.keys().classifier)));
    // A zero weight: the generated step does not compute the loss at all.
    trainer.set_loss_weight(ClassifiedLoss::ClassifierLoss, 0.0);
    seen.lock().unwrap().clear();
    trainer.train(1).unwrap();
    assert!(seen.lock().unwrap().iter().all(|losses| losses == &["metric_loss"]), "{:?}", seen.lock().unwrap());
}

/// A declaration's keys by name: the list, the struct from values, the builder's wording for a
/// required key left out, and keys by name for optimizers and weights.
#[test]
fn keys_by_name_follow_the_declaration() {
    use metric_learning::declared::{Declared, KeyKind, KeyValues, Presence};
    use metric_learning::engine::EngineBuilder;
    one_thread();
    let names: Vec<(&str, KeyKind, Presence)> = MetricLossOnly::KEYS.iter().map(|k| (k.name, k.kind, k.presence)).collect();
    assert_eq!(
        names,
        [
            ("trunk", KeyKind::Model, Presence::Required),
            ("embedder", KeyKind::Model, Presence::Defaulted),
            ("metric_loss", KeyKind::Loss, Presence::Required),
            ("tuple_miner", KeyKind::Miner, Presence::Optional),
            ("subset_batch_miner", KeyKind::Miner, Presence::Optional),
        ]
    );
    assert_eq!(MetricLossOnly::KEYS[2].value_type, "Box<dyn MetricLoss>");
    // Defaults as the declaration writes them; `list` prints them.
    assert_eq!(MetricLossOnly::KEYS[1].default, Some("Model::identity()"));
    assert_eq!(MetricLossOnly::KEYS[2].default, None);
    let daml = DeepAdversarialMetricLearning::KEYS.iter().find(|k| k.name == "g_triplets_per_anchor").map(|k| k.default);
    assert_eq!(daml, Some(Some("100")));

    let mut values = KeyValues::new();
    values.insert("trunk", linear(6, 4));
    let missing = MetricLossOnly::from_values(values).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(missing.contains("trainer `MetricLossOnly` is missing its required loss `metric_loss`"), "{missing}");

    let mut values = KeyValues::new();
    values.insert("trunk", linear(6, 4));
    values.insert("metric_loss", TripletMarginLoss::new());
    let wrong = MetricLossOnly::from_values(values).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(wrong.contains("loss `metric_loss` holds a `Box<dyn MetricLoss>`"), "{wrong}");

    let mut values = KeyValues::new();
    values.insert("trunk", linear(6, 4));
    values.insert("metric_loss", Box::new(TripletMarginLoss::new()) as Box<dyn MetricLoss>);
    values.insert("metric_los", Box::new(TripletMarginLoss::new()) as Box<dyn MetricLoss>);
    let unknown = MetricLossOnly::from_values(values).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(unknown.contains("has no key `metric_los`"), "{unknown}");

    let mut values = KeyValues::new();
    values.insert("trunk", linear(6, 4));
    values.insert("metric_loss", Box::new(TripletMarginLoss::new()) as Box<dyn MetricLoss>);
    let keys = MetricLossOnly::from_values(values).unwrap();
    let trunk = MetricLossOnly::key_named("trunk").unwrap();
    assert_eq!(MetricLossOnly::key_named("embedder"), Some(MetricLossOnlyKey::Embedder));
    assert_eq!(MetricLossOnly::loss_named("metric_loss"), Some(MetricLossOnlyLoss::MetricLoss));
    assert_eq!(MetricLossOnly::key_named("classifier"), None);
    let mut trainer = EngineBuilder::<MetricLossOnly>::new()
        .optimizer(trunk, Box::new(Sgd::new(0.1)))
        .progress_bar(false)
        .build(keys, std::sync::Arc::new(clusters(3, 8, 6)), 12)
        .unwrap();
    trainer.train(1).unwrap();
    assert!(trainer.total_loss().is_finite());
}
