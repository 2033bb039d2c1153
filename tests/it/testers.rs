//! PML's testers: its own test cases (angle embeddings with exact precision@1 per
//! `splits_to_eval`), the typed results and their keys, the models' modes, and bad input.

use metric_learning::data::{InMemoryDataset, Labels};
use metric_learning::evaluation::{
    AccuracyCalculator, EmbeddingModel, GlobalEmbeddingSpaceTester, GlobalTwoStreamEmbeddingSpaceTester, LabelLevels, Metric,
    ReferenceSet, WithSameParentLabelTester,
};
use metric_learning::prelude::*;
use metric_learning_tests::{clusters, linear, one_thread};

/// Unit vectors at these angles in degrees (PML's `angle_to_coord`).
fn angles(degrees: &[f64]) -> Tensor {
    let coords: Vec<f32> = degrees.iter().flat_map(|d| [d.to_radians().cos() as f32, d.to_radians().sin() as f32]).collect();
    Tensor::from_slice(&coords).reshape([degrees.len() as i64, 2])
}

fn dataset(degrees: &[f64], labels: Labels) -> InMemoryDataset {
    InMemoryDataset::new(angles(degrees), labels).unwrap()
}

fn precision_at_1() -> AccuracyCalculator {
    AccuracyCalculator::new().include([Metric::PrecisionAt1])
}

/// PML's tests/testers/test_global_embedding_space_tester.py.
#[test]
fn global_embedding_space_tester_matches_pml_for_each_splits_to_eval() {
    one_thread();
    let train = dataset(&[0., 10., 20., 30., 50., 60., 70., 80.], Labels::int([0, 0, 0, 0, 1, 1, 1, 1]));
    let val = dataset(&[1., 11., 21., 31., 51., 59., 71., 81.], Labels::int([1, 1, 1, 1, 1, 0, 0, 0]));
    let datasets: [(&str, &dyn Dataset); 2] = [("train", &train), ("val", &val)];
    let tester = GlobalEmbeddingSpaceTester::new().accuracy_calculator(precision_at_1());
    let mut model = Model::identity();
    let cases: [(Option<&[(&str, &[&str])]>, f64, f64); 3] = [
        (None, 1.0, 6.0 / 8.0),
        (Some(&[("train", &["train", "val"]), ("val", &["train", "val"])]), 1.0 / 8.0, 1.0 / 8.0),
        (Some(&[("train", &["train"]), ("val", &["train"])]), 1.0, 1.0 / 8.0),
    ];
    for (splits, train_p1, val_p1) in cases {
        let results = match splits {
            None => tester.test(&mut model, &datasets, 0).unwrap(),
            Some(splits) => tester.test_splits(&mut model, &datasets, splits, 0).unwrap(),
        };
        assert_eq!(results.get("train", "precision_at_1_level0"), Some(train_p1), "{splits:?}\n{results}");
        assert_eq!(results.get("val", "precision_at_1_level0"), Some(val_p1), "{splits:?}\n{results}");
    }
    // The reference sets name the same cases.
    let combined = tester.clone().reference_set(ReferenceSet::CompareToSetsCombined).test(&mut model, &datasets, 0).unwrap();
    assert_eq!(combined.get("val", "precision_at_1_level0"), Some(1.0 / 8.0));
    assert_eq!(combined.split("val").unwrap().reference_splits, ["val", "train"], "the query moves to the front");
    let to_train = tester.reference_set(ReferenceSet::CompareToTrainingSet("train".into())).test(&mut model, &datasets, 0).unwrap();
    assert_eq!(to_train.get("val", "precision_at_1_level0"), Some(1.0 / 8.0));
}

/// PML's tests/testers/test_with_same_parent_label_tester.py: labels (child, parent).
#[test]
fn with_same_parent_label_tester_matches_pml() {
    one_thread();
    let train = dataset(&[0., 9., 21., 29., 31., 39., 51., 59.], Labels::int_levels([2, 0, 2, 0, 3, 0, 3, 0, 4, 1, 4, 1, 5, 1, 5, 1], 2).unwrap());
    let val = dataset(
        &[2., 11., 23., 32., 33., 41., 53., 89., 90.],
        Labels::int_levels([2, 0, 2, 0, 4, 0, 3, 0, 4, 0, 4, 1, 4, 1, 5, 1, 5, 1], 2).unwrap(),
    );
    let datasets: [(&str, &dyn Dataset); 2] = [("train", &train), ("val", &val)];
    let tester = WithSameParentLabelTester::new().accuracy_calculator(precision_at_1());
    let mut model = Model::identity();
    let cases: [(Option<&[(&str, &[&str])]>, f64, f64); 3] = [
        (None, 1.0, (1.0 + 0.5) / 2.0),
        (Some(&[("train", &["train", "val"]), ("val", &["train", "val"])]), (0.75 + 0.5) / 2.0, (0.4 + 0.75) / 2.0),
        (Some(&[("train", &["train"]), ("val", &["train"])]), 1.0, (1.0 + 0.75) / 2.0),
    ];
    for (splits, train_p1, val_p1) in cases {
        let results = match splits {
            None => tester.test(&mut model, &datasets, 0).unwrap(),
            Some(splits) => tester.test_splits(&mut model, &datasets, splits, 0).unwrap(),
        };
        let close = |split: &str, expected: f64| {
            let found = results.get(split, "precision_at_1_level0").unwrap();
            assert!((found - expected).abs() < 1e-9, "{split}: {found} vs {expected} for {splits:?}\n{results}");
        };
        close("train", train_p1);
        close("val", val_p1);
    }
    // Only level 0 has a parent: asking for the last level alone is refused.
    let error = tester.label_hierarchy_level(LabelLevels::Level(1)).test(&mut model, &datasets, 0).unwrap_err().to_string();
    assert!(error.contains("needs a level below the last"), "{error}");
}

/// PML's tests/testers/test_global_two_stream_embedding_space_tester.py.
#[test]
fn two_stream_tester_matches_pml() {
    one_thread();
    let anchors = angles(&[0., 10., 20., 30., 50., 60., 70., 80.]);
    let others = angles(&[81., 71., 61., 31., 51., 21., 11., 1.]);
    // PML's (anchor, positive, label) items, stacked as the two-stream trainer and tester take them.
    let pairs = InMemoryDataset::two_stream(&anchors, &others, Labels::int([1, 2, 3, 4, 5, 6, 7, 8])).unwrap();
    let error = InMemoryDataset::two_stream(&anchors, &others.narrow(0, 0, 7), Labels::int([1, 2, 3, 4, 5, 6, 7, 8])).err().unwrap().to_string();
    assert!(error.contains("positives") && error.contains("[8, 2]") && error.contains("[7, 2]"), "{error}");
    let tester = GlobalTwoStreamEmbeddingSpaceTester::new().accuracy_calculator(precision_at_1());
    let mut model = Model::identity();
    let results = tester.test(&mut model, &[("train", &pairs)], 0).unwrap();
    assert_eq!(results.get("train", "precision_at_1_level0"), Some(0.25), "{results}");
    // Its references are its own second stream, never another split.
    let error = tester.reference_set(ReferenceSet::CompareToSetsCombined).test(&mut model, &[("train", &pairs), ("val", &pairs)], 0);
    let error = error.unwrap_err().to_string();
    assert!(error.contains("must be its only reference"), "{error}");
}

#[test]
fn results_are_typed_keyed_by_level_and_averaged() {
    one_thread();
    // Two levels: a fine label and a coarse one; both scored with "all".
    let data = clusters(4, 6, 3);
    let fine = metric_learning_tests::int_labels(&data);
    let levels: Vec<i64> = fine.iter().flat_map(|&l| [l, l / 2]).collect();
    let split = InMemoryDataset::new(data.data().shallow_clone(), Labels::int_levels(levels, 2).unwrap()).unwrap();
    let tester = GlobalEmbeddingSpaceTester::new()
        .accuracy_calculator(AccuracyCalculator::new().include([Metric::PrecisionAt1, Metric::RPrecision]))
        .label_hierarchy_level(LabelLevels::All);
    let results = tester.test(&mut Model::identity(), &[("val", &split)], 3).unwrap();
    let val = results.split("val").unwrap();
    assert_eq!(results.epoch, 3);
    assert_eq!(val.levels.iter().map(|l| l.level).collect::<Vec<_>>(), [0, 1]);
    let keys: Vec<String> = val.keyed().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["precision_at_1_level0", "r_precision_level0", "precision_at_1_level1", "r_precision_level1", "AVERAGE_precision_at_1", "AVERAGE_r_precision"]
    );
    let (l0, l1) = (val.get(Metric::PrecisionAt1, 0).unwrap(), val.get(Metric::PrecisionAt1, 1).unwrap());
    assert_eq!(val.average(Metric::PrecisionAt1), Some((l0 + l1) / 2.0));
    // The coarse level merges classes: its nearest neighbour matches at least as often.
    assert!(l1 >= l0, "{results}");
    let table = results.to_string();
    assert!(table.contains("val vs val") && table.contains("AVERAGE_r_precision"), "{table}");
}

/// A model that records the modes it was put in.
struct Recording {
    modes: Vec<bool>,
}

impl EmbeddingModel for Recording {
    fn begin_testing(&mut self) {
        self.modes.push(false);
    }
    fn end_testing(&mut self) {
        self.modes.push(true);
    }
    fn embed_batch(&mut self, batch: &Tensor, _trunk_output: bool) -> metric_learning::Result<Tensor> {
        assert_eq!(self.modes.last(), Some(&false), "embedded in eval mode");
        let tracked = Tensor::ones([1], (Kind::Float, Device::Cpu)).set_requires_grad(true) * 2.0;
        assert!(!tracked.requires_grad(), "embedded without gradients");
        Ok(batch.shallow_clone())
    }
    fn data_device(&self) -> Device {
        Device::Cpu
    }
    fn dtype(&self) -> Option<Kind> {
        None
    }
}

#[test]
fn models_are_in_eval_mode_without_gradients_and_back_in_training_after_errors_too() {
    one_thread();
    let split = clusters(3, 4, 2);
    let mut model = Recording { modes: Vec::new() };
    GlobalEmbeddingSpaceTester::new().batch_size(5).test(&mut model, &[("val", &split)], 0).unwrap();
    assert_eq!(model.modes, [false, true]);
    // A split of text labels fails after embedding: the model is back in training mode.
    let text = InMemoryDataset::new(split.data().shallow_clone(), Labels::text((0..12).map(|i| format!("c{}", i % 3)))).unwrap();
    let error = GlobalEmbeddingSpaceTester::new().test(&mut model, &[("val", &text)], 0).unwrap_err().to_string();
    assert!(error.contains("split `val`: testers need integer labels"), "{error}");
    assert_eq!(model.modes, [false, true, false, true]);
}

#[test]
fn a_trainer_embeds_with_its_models_or_its_trunk_alone() {
    one_thread();
    let data = clusters(4, 8, 6);
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(6, 5))
        .embedder(linear(5, 3))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.1))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(clusters(4, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    let tester = GlobalEmbeddingSpaceTester::new().normalize_embeddings(false).batch_size(7);
    let results = tester.test(&mut trainer, &[("val", &data)], 0).unwrap();
    let expected = trainer.embed(data.data(), 1000).unwrap();
    let direct = AccuracyCalculator::new().get_accuracy(&expected, &Tensor::from_slice(&metric_learning_tests::int_labels(&data))).unwrap();
    for metric in [Metric::PrecisionAt1, Metric::MeanAveragePrecisionAtR, Metric::Nmi] {
        let (tested, direct) = (results.split("val").unwrap().get(metric, 0).unwrap(), direct.get(metric).unwrap());
        assert!((tested - direct).abs() < 1e-9, "{metric}: {tested} vs {direct}");
    }
    // With use_trunk_output, the trunk's own (5-wide) output is scored.
    let trunk = tester.use_trunk_output(true).test(&mut trainer, &[("val", &data)], 0).unwrap();
    let trunk_embeddings = tch::no_grad(|| trainer.keys().trunk.forward(data.data())).unwrap();
    assert_eq!(trunk_embeddings.size(), [32, 5]);
    let direct = AccuracyCalculator::new().get_accuracy(&trunk_embeddings, &Tensor::from_slice(&metric_learning_tests::int_labels(&data))).unwrap();
    for metric in [Metric::MeanAveragePrecisionAtR, Metric::Ami] {
        let (tested, direct) = (trunk.split("val").unwrap().get(metric, 0).unwrap(), direct.get(metric).unwrap());
        assert!((tested - direct).abs() < 1e-9, "trunk {metric}: {tested} vs {direct}");
    }
}

#[test]
fn bad_splits_are_clear_errors() {
    one_thread();
    let split = clusters(2, 4, 2);
    let tester = GlobalEmbeddingSpaceTester::new();
    let mut model = Model::identity();
    let datasets: [(&str, &dyn Dataset); 1] = [("val", &split)];
    let error = tester.test_splits(&mut model, &datasets, &[("val", &["val"]), ("val", &["val"])], 0).unwrap_err().to_string();
    assert!(error.contains("split `val` is evaluated as a query more than once"), "{error}");
    let error = tester.test_splits(&mut model, &datasets, &[("val", &["gallery"])], 0).unwrap_err().to_string();
    assert!(error.contains("split `gallery` is not among the datasets given to the tester: val"), "{error}");
    let error = tester.clone().reference_set(ReferenceSet::CompareToTrainingSet("train".into())).test(&mut model, &datasets, 0);
    assert!(error.unwrap_err().to_string().contains("split `train` is not among the datasets"));
    let error = tester.clone().label_hierarchy_level(LabelLevels::Level(2)).test(&mut model, &datasets, 0).unwrap_err().to_string();
    assert!(error.contains("label level 2 was asked for, but the labels have 1 level(s)"), "{error}");
    let empty = InMemoryDataset::new(Tensor::zeros([0, 2], (Kind::Float, Device::Cpu)), Labels::int(Vec::<i64>::new())).unwrap();
    let error = tester.test(&mut model, &[("empty", &empty)], 0).unwrap_err().to_string();
    assert!(error.contains("split `empty`: the split is empty"), "{error}");
}

/// PML's test_pca (1024 x 512 embeddings reduced to 16 components), and the plots: one PNG per
/// split, named by split and epoch.
#[test]
fn pca_and_plots() {
    one_thread();
    tch::manual_seed(0);
    let train = InMemoryDataset::new(Tensor::randn([1024, 512], (Kind::Float, Device::Cpu)), Labels::int((0..1024).map(|i| i % 10).collect::<Vec<i64>>())).unwrap();
    let folder = std::env::temp_dir().join(format!("metric-learning-plots-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let tester = GlobalEmbeddingSpaceTester::new().accuracy_calculator(precision_at_1()).pca(16).save_plots_to(&folder);
    let results = tester.test(&mut Model::identity(), &[("train", &train)], 4).unwrap();
    let p1 = results.get("train", "precision_at_1_level0").unwrap();
    assert!((0.0..=1.0).contains(&p1), "{results}");
    let png = std::fs::read(folder.join("train_epoch4.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::remove_dir_all(&folder).unwrap();
    // More components than the embeddings have is an error.
    let error = GlobalEmbeddingSpaceTester::new().pca(600).test(&mut Model::identity(), &[("train", &train)], 0).unwrap_err().to_string();
    assert!(error.contains("600"), "{error}");
}
