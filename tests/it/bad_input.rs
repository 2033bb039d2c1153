//! Bad input stops with an error that says what was expected and what was found; nothing panics.

use metric_learning::data::{Batch, FashionMnist, InMemoryDataset, Labels, Split};
use metric_learning::losses::ContrastiveLoss;
use metric_learning::prelude::*;
use metric_learning::Error;
use metric_learning_tests::{bitwise_equal, clusters, int_labels, linear, one_thread, snapshot};

fn message<T>(result: metric_learning::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => error.to_string(),
    }
}

fn trainer_on(dataset: InMemoryDataset, batch_size: usize) -> metric_learning::Result<Trainer<MetricLossOnly>> {
    let width = dataset.data().size()[1];
    MetricLossOnly::builder()
        .trunk(linear(width, 4))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.1))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(batch_size)
        .build()
}

#[test]
fn a_dataset_smaller_than_one_batch() {
    one_thread();
    let text = message(trainer_on(clusters(2, 5, 3), 32));
    assert!(text.contains("the dataset has 10 samples, fewer than one batch of 32"), "{text}");
}

#[test]
fn a_class_with_fewer_than_m_samples() {
    one_thread();
    let dataset = InMemoryDataset::new(Tensor::zeros([10, 3], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])).unwrap();
    let labels = int_labels(&dataset);
    let result = MetricLossOnly::builder()
        .trunk(linear(3, 4))
        .metric_loss(TripletMarginLoss::new())
        .sampler(MPerClassSampler::new(&labels, 4).length_before_new_iter(16))
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(8)
        .build();
    let text = message(result);
    assert!(text.contains("m = 4 samples per class, but class 1 has only 3"), "{text}");
}

#[test]
fn a_batch_size_the_sampler_cannot_fill() {
    one_thread();
    let dataset = clusters(3, 10, 3);
    let labels = int_labels(&dataset);
    let result = MetricLossOnly::builder()
        .trunk(linear(3, 4))
        .metric_loss(TripletMarginLoss::new())
        .sampler(MPerClassSampler::new(&labels, 4).batch_size(16))
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(16)
        .build();
    let text = message(result);
    assert!(text.contains("m * classes = 4 * 3 = 12 must be at least the batch size 16"), "{text}");
}

#[test]
fn data_and_labels_of_different_lengths() {
    one_thread();
    let text = message(InMemoryDataset::new(Tensor::zeros([5, 3], (Kind::Float, Device::Cpu)), Labels::int([0, 1, 0, 1])));
    assert!(text.contains("5 samples of data but 4 labels"), "{text}");

    // The same mismatch made by a getter shows at the batch, with the iteration's counts.
    let width = 3;
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(width, 4))
        .metric_loss(TripletMarginLoss::new())
        .data_and_label_getter(|batch| Ok(Batch { data: batch.data.narrow(0, 0, 3), labels: batch.labels }))
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(clusters(2, 4, width))
        .batch_size(4)
        .build()
        .unwrap();
    let text = message(trainer.train(1));
    assert!(text.contains("a batch has 3 inputs but 4 labels"), "{text}");
}

#[test]
fn a_missing_data_file() {
    let error = FashionMnist::load_from("/nonexistent/fashion", Split::Train).err().expect("no such folder");
    assert!(matches!(error, Error::File { .. }));
    let text = error.to_string();
    assert!(text.contains("/nonexistent/fashion/train-images-idx3-ubyte.gz") && text.contains("scripts/setup"), "{text}");
}

#[test]
fn a_corrupt_data_file() {
    let path = std::env::temp_dir().join(format!("ml-corrupt-{}-idx3-ubyte", std::process::id()));
    std::fs::write(&path, [0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]).unwrap();
    let text = message(metric_learning::data::read_idx_images(&path));
    std::fs::remove_file(&path).ok();
    assert!(text.contains("expected 24 bytes for shape [2, 2, 2], found 19"), "{text}");
}

#[test]
fn nan_embeddings_stop_training_before_the_step() {
    one_thread();
    let dataset = clusters(2, 8, 3);
    let poisoned = dataset.data().copy();
    let _ = poisoned.get(5).fill_(f64::NAN);
    let mut trainer = trainer_on(InMemoryDataset::new(poisoned, dataset.all_labels().clone()).unwrap(), 16).unwrap();
    let before = snapshot(&trainer.keys().trunk);
    let text = trainer.train(1).expect_err("NaN inputs give NaN embeddings").to_string();
    assert!(text.contains("TripletMarginLoss: the embeddings (shape [16, 4]) contain NaN"), "{text}");
    assert!(bitwise_equal(&before, &snapshot(&trainer.keys().trunk)), "no step was taken");
}

/// A loss of its own that overflows, as a diverging run does.
#[metric_learning::trainer]
pub struct Overflowing {
    #[model]
    trunk: Model,
    #[loss(inline)]
    huge: metric_learning::trainer::InlineLoss,
}

impl Step for Overflowing {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.trunk.forward(data)
    }
    fn calculate_loss(&mut self, it: &mut metric_learning::Iteration<'_, Self>, data: &Tensor, _: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        it.compute(OverflowingLoss::Huge, || Ok(embeddings.abs().sum(Kind::Float) * f64::INFINITY))
    }
}

#[test]
fn a_non_finite_loss_stops_training_before_the_step() {
    one_thread();
    let mut trainer = Overflowing::builder()
        .trunk(linear(3, 4))
        .trunk_optimizer(Sgd::new(0.1))
        .progress_bar(false)
        .dataset(clusters(2, 8, 3))
        .batch_size(16)
        .build()
        .unwrap();
    let before = snapshot(&trainer.keys().trunk);
    let error = trainer.train(1).expect_err("an infinite loss");
    assert!(matches!(error.root(), Error::NonFinite(_)));
    assert_eq!(error.when(), Some(When::Iteration { epoch: 1, iteration: 0 }));
    let text = error.to_string();
    assert!(text.contains("Overflowing at epoch 1, iteration 0: the total loss is inf (huge = inf)"), "{text}");
    assert!(bitwise_equal(&before, &snapshot(&trainer.keys().trunk)), "no step was taken with the infinite gradient");
}

#[test]
fn string_labels_without_set_min_label_to_zero() {
    one_thread();
    let dataset = InMemoryDataset::new(Tensor::zeros([4, 3], (Kind::Float, Device::Cpu)), Labels::text(["a", "b", "a", "b"])).unwrap();
    let mut trainer = trainer_on(dataset, 4).unwrap();
    let text = message(trainer.train(1));
    assert!(text.contains("string labels need `.set_min_label_to_zero(true)`"), "{text}");
}

#[test]
fn an_optimizer_for_a_key_without_parameters() {
    one_thread();
    let result = MetricLossOnly::builder()
        .trunk(linear(3, 4))
        .metric_loss(TripletMarginLoss::new())
        .embedder_optimizer(Adam::new(1e-3))
        .progress_bar(false)
        .dataset(clusters(2, 4, 3))
        .batch_size(4)
        .build();
    let text = message(result);
    assert!(text.contains("`embedder_optimizer` is set, but `embedder` has no parameters"), "{text}");
}

#[test]
fn embeddings_and_labels_that_do_not_match() {
    let mut loss = TripletMarginLoss::new();
    let embeddings = Tensor::zeros([4, 2], (Kind::Float, Device::Cpu));
    let text = message(loss.compute(&embeddings, &Tensor::from_slice(&[0i64, 1, 0]), None));
    assert!(text.contains("TripletMarginLoss: 4 embeddings but 3 labels"), "{text}");
    let text = message(loss.compute(&embeddings.reshape([8]), &Tensor::from_slice(&[0i64, 1, 0]), None));
    assert!(text.contains("embeddings must be 2-D (batch, width), found shape [8]"), "{text}");
    let text = message(loss.compute(&embeddings, &Tensor::zeros([4, 1], (Kind::Int64, Device::Cpu)), None));
    assert!(text.contains("labels must be 1-D (batch,), found shape [4, 1]"), "{text}");
    let empty = Tensor::zeros([0, 2], (Kind::Float, Device::Cpu));
    let text = message(ContrastiveLoss::new().compute(&empty, &Tensor::zeros([0], (Kind::Int64, Device::Cpu)), None));
    assert!(text.contains("ContrastiveLoss: the batch is empty (embeddings of shape [0, 2])"), "{text}");
    let logits = Tensor::zeros([4, 3], (Kind::Float, Device::Cpu));
    let text = message(CrossEntropyLoss::new().compute(&logits, &Tensor::from_slice(&[0i64, 1, 2, 3])));
    assert!(text.contains("CrossEntropyLoss: labels must lie in 0..3, one per class it scores; found 0..=3"), "{text}");
    let text = message(MultiSimilarityMiner::new(0.1).mine(&embeddings.reshape([2, 4]), &Tensor::from_slice(&[0i64, 1, 0])));
    assert!(text.contains("MultiSimilarityMiner: 2 embeddings but 3 labels"), "{text}");
}

/// Losses that score classes with learned weights: a label beyond their classes, reference
/// embeddings (PML refuses them for these) and embeddings of another width are errors naming
/// the loss.
#[test]
fn losses_with_learned_weights_refuse_what_they_cannot_score() {
    let cpu = Device::Cpu;
    let losses: Vec<(&str, Box<dyn MetricLoss>)> = vec![
        ("ProxyNCALoss", Box::new(ProxyNCALoss::new(3, 4).device(cpu))),
        ("SoftTripleLoss", Box::new(SoftTripleLoss::new(3, 4).device(cpu))),
        ("LargeMarginSoftmaxLoss", Box::new(LargeMarginSoftmaxLoss::new(3, 4).device(cpu))),
        ("SphereFaceLoss", Box::new(SphereFaceLoss::new(3, 4).device(cpu))),
        ("SubCenterArcFaceLoss", Box::new(SubCenterArcFaceLoss::new(3, 4).device(cpu))),
        ("P2SGradLoss", Box::new(P2SGradLoss::new(4, 3).device(cpu))),
    ];
    let embeddings = Tensor::randn([4, 4], (Kind::Float, cpu));
    let labels = Tensor::from_slice(&[0i64, 1, 2, 1]);
    for (name, mut loss) in losses {
        assert!(loss.compute(&embeddings, &labels, None).is_ok(), "{name}");
        let text = message(loss.compute(&embeddings, &Tensor::from_slice(&[0i64, 1, 3, 1]), None));
        assert!(text.contains(&format!("{name}: labels must lie in 0..3, one per class it scores; found 0..=3")), "{text}");
        let reference = Reference { embeddings: &embeddings, labels: &labels };
        let text = message(loss.compute_with_reference(&embeddings, &labels, None, Some(reference)));
        assert!(text.contains(&format!("{name}: reference embeddings are not supported")), "{text}");
        let text = message(loss.compute(&embeddings.narrow(1, 0, 3), &labels, None));
        assert!(text.contains(&format!("{name} was built with embedding_size 4, but the embeddings are 3 wide")), "{text}");
    }
    let text = message(LargeMarginSoftmaxLoss::new(3, 4).device(cpu).margin(0).compute(&embeddings, &labels, None));
    assert!(text.contains("LargeMarginSoftmaxLoss: the margin must be a positive integer, found 0"), "{text}");
}

/// VICReg needs its second view and two rows per view; P2SGrad a weight column it can rescale
/// to unit norm; ManifoldLoss a proxy per embedding to draw meta-classes, meta-classes among
/// its proxies, and a non-negative lambdaC. None takes mined tuples.
#[test]
fn two_view_proxy_and_meta_class_losses_refuse_what_they_cannot_use() {
    let cpu = Device::Cpu;
    let embeddings = Tensor::randn([4, 4], (Kind::Float, cpu));
    let labels = Tensor::from_slice(&[0i64, 1, 2, 1]);
    let tuples = Tuples::Triplets { a: Tensor::from_slice(&[0i64]), p: Tensor::from_slice(&[3i64]), n: Tensor::from_slice(&[1i64]) };

    let mut vicreg = VICRegLoss::new();
    let text = message(vicreg.compute(&embeddings, &labels, None));
    assert!(text.contains("VICRegLoss needs the second view as reference embeddings"), "{text}");
    let text = message(vicreg.compute_pair(&embeddings, &embeddings.narrow(1, 0, 3)));
    assert!(text.contains("VICRegLoss: embeddings and ref_emb must be 2-D of one shape"), "{text}");
    let text = message(vicreg.compute_pair(&embeddings.narrow(0, 0, 1), &embeddings.narrow(0, 1, 1)));
    assert!(text.contains("VICRegLoss: the variance and covariance need at least 2 rows, found 1"), "{text}");
    let reference = Reference { embeddings: &embeddings, labels: &labels };
    assert!(message(vicreg.compute_with_reference(&embeddings, &labels, Some(&tuples), Some(reference))).contains("VICRegLoss takes no mined tuples"));
    assert!(vicreg.compute_with_reference(&embeddings, &labels, None, Some(reference)).is_ok());

    let mut p2s = P2SGradLoss::new(4, 3).device(cpu);
    assert!(message(p2s.compute(&embeddings, &labels, Some(&tuples))).contains("P2SGradLoss takes no mined tuples"));
    let zero_column = Tensor::ones([4, 3], (Kind::Float, cpu)) * Tensor::from_slice(&[1.0f32, 0.0, 1.0]);
    p2s.set_weights(&zero_column).unwrap();
    let text = message(p2s.compute(&embeddings, &labels, None));
    assert!(text.contains("P2SGradLoss: every weight column must rescale to unit norm"), "{text}");

    let mut manifold = ManifoldLoss::new(4).num_proxies(5).device(cpu);
    let text = message(manifold.compute(&embeddings, &labels, None));
    assert!(text.contains("ManifoldLoss: drawing meta-classes needs at least one embedding per proxy (5), found 4"), "{text}");
    let text = message(manifold.compute_with_meta_classes(&embeddings, Some(&Tensor::from_slice(&[0i64, 1, 5, 2]))));
    assert!(text.contains("ManifoldLoss: meta-classes must lie in 0..5 (one per proxy); found 0..=5"), "{text}");
    let text = message(manifold.compute_with_meta_classes(&embeddings, Some(&Tensor::from_slice(&[0i64, 1]))));
    assert!(text.contains("ManifoldLoss: one meta-class per embedding (4) expected"), "{text}");
    assert!(manifold.compute_with_meta_classes(&embeddings, Some(&labels)).is_ok());
    assert!(message(manifold.compute(&embeddings, &labels, Some(&tuples))).contains("ManifoldLoss takes meta-classes, not mined tuples"));
    let text = message(manifold.compute(&embeddings.narrow(1, 0, 3), &labels, None));
    assert!(text.contains("ManifoldLoss was built with embedding_size 4, but the embeddings are 3 wide"), "{text}");
    assert!(message(ManifoldLoss::new(4).device(cpu).lambda_c(-1.0)).contains("lambdaC"));
}

/// The miner and losses that check NaN with their call's one read of counts: a NaN in the
/// embeddings or in the reference is an error naming the module and which input, on every
/// path (mined pairs or none, the contrastive loss's few active pairs or every pair).
#[test]
fn nan_embeddings_are_refused_by_the_modules_that_read_once() {
    use metric_learning::losses::Reference;
    use metric_learning::reducers::MeanReducer;
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2, 2, 3, 3]);
    let clean = Tensor::randn([8, 4], (Kind::Float, Device::Cpu));
    let nan = clean.copy();
    let _ = nan.get(5).get(2).fill_(f64::NAN);
    let pairs = MultiSimilarityMiner::new(0.5).mine(&clean, &labels).expect("clean embeddings");
    let mut losses: Vec<(&str, Box<dyn MetricLoss>)> = vec![
        ("TripletMarginLoss", Box::new(TripletMarginLoss::new())),
        ("ContrastiveLoss", Box::new(ContrastiveLoss::new())),
        ("ContrastiveLoss", Box::new(ContrastiveLoss::new().reducer(MeanReducer))),
    ];
    for (name, loss) in &mut losses {
        for tuples in [None, Some(&pairs)] {
            let text = message(loss.compute(&nan, &labels, tuples));
            assert!(text.contains(&format!("{name}: the embeddings (shape [8, 4]) contain NaN")), "{text}");
        }
        let reference = Reference { embeddings: &nan, labels: &labels };
        let text = message(loss.compute_with_reference(&clean, &labels, None, Some(reference)));
        assert!(text.contains(&format!("{name} (reference): the embeddings (shape [8, 4]) contain NaN")), "{text}");
        assert!(loss.compute(&clean, &labels, Some(&pairs)).is_ok(), "{name} on clean embeddings");
    }
    let text = message(MultiSimilarityMiner::new(0.1).mine(&nan, &labels));
    assert!(text.contains("MultiSimilarityMiner: the embeddings (shape [8, 4]) contain NaN"), "{text}");
}

/// Tuples given by hand that point outside the batch, or whose lists do not pair up, are
/// errors naming the loss and the list (libtorch's indexing would fault), on the paths that
/// check them with their one read as on the others.
#[test]
fn tuples_outside_the_batch_are_refused() {
    use metric_learning::indices::Tuples;
    use metric_learning::losses::*;
    use metric_learning::losses::Reference;
    let labels = Tensor::from_slice(&[0i64, 0, 1, 1, 2, 2, 3, 3]);
    let embeddings = Tensor::randn([8, 4], (Kind::Float, Device::Cpu));
    let t = |v: &[i64]| Tensor::from_slice(v);
    let mut losses: Vec<(&str, Box<dyn MetricLoss>)> = vec![
        ("TripletMarginLoss", Box::new(TripletMarginLoss::new())),
        ("ContrastiveLoss", Box::new(ContrastiveLoss::new())),
        ("MultiSimilarityLoss", Box::new(MultiSimilarityLoss::new())),
        ("CircleLoss", Box::new(CircleLoss::new())),
        ("MarginLoss", Box::new(MarginLoss::new())),
        ("NTXentLoss", Box::new(NTXentLoss::new(0.1))),
        ("LiftedStructureLoss", Box::new(LiftedStructureLoss::new())),
        ("FastAPLoss", Box::new(FastAPLoss::new(10))),
        ("ArcFaceLoss", Box::new(ArcFaceLoss::new(4, 4).device(Device::Cpu))),
    ];
    for (name, loss) in &mut losses {
        let beyond = Tuples::Pairs { a1: t(&[0, 2]), p: t(&[1, 3]), a2: t(&[0, 1]), n: t(&[2, 8]) };
        let text = message(loss.compute(&embeddings, &labels, Some(&beyond)));
        assert!(text.contains(&format!("{name}: the tuples' indices must lie in 0..8; found 8")), "{text}");
        let negative = Tuples::Triplets { a: t(&[0, -1]), p: t(&[1, 3]), n: t(&[2, 4]) };
        let text = message(loss.compute(&embeddings, &labels, Some(&negative)));
        assert!(text.contains(&format!("{name}: the tuples' indices must lie in 0..8; found -1")), "{text}");
        let unpaired = Tuples::Triplets { a: t(&[0, 2]), p: t(&[1]), n: t(&[4, 5]) };
        let text = message(loss.compute(&embeddings, &labels, Some(&unpaired)));
        assert!(text.contains("the tuples' index lists must pair up one to one, found lengths [2, 1, 2]"), "{text}");
        let fine = Tuples::Pairs { a1: t(&[0, 2]), p: t(&[1, 3]), a2: t(&[0, 1]), n: t(&[2, 7]) };
        assert!(loss.compute(&embeddings, &labels, Some(&fine)).is_ok(), "{name} on tuples inside the batch");
        if *name == "ArcFaceLoss" || *name == "FastAPLoss" {
            continue;
        }
        // With 4 reference rows, positives and negatives must lie in 0..4, anchors in 0..8.
        let (references, reference_labels) = (embeddings.narrow(0, 0, 4), labels.narrow(0, 0, 4));
        let reference = || Some(Reference { embeddings: &references, labels: &reference_labels });
        let text = message(loss.compute_with_reference(&embeddings, &labels, Some(&fine), reference()));
        assert!(text.contains(&format!("{name}: the tuples' positives and negatives must lie in 0..4; found 7")), "{text}");
        let anchors = Tuples::Triplets { a: t(&[0, 8]), p: t(&[1, 3]), n: t(&[2, 2]) };
        let text = message(loss.compute_with_reference(&embeddings, &labels, Some(&anchors), reference()));
        assert!(text.contains(&format!("{name}: the tuples' anchors must lie in 0..8; found 8")), "{text}");
    }
}
