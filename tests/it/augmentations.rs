//! UnsupervisedEmbeddingsUsingAugmentations and its transforms.

use metric_learning::indices::Tuples;
use metric_learning::losses::{MetricLoss, NTXentLoss, Reference};
use metric_learning::prelude::*;
use metric_learning::component::Component;
use metric_learning::trainers::UnsupervisedEmbeddingsUsingAugmentations;
use metric_learning::transforms::*;
use metric_learning_tests::{clusters, fashion_mnist, int_labels, linear, one_thread};
use rand::SeedableRng;
use std::sync::{Arc, Mutex};

/// A loss that records the labels it was given.
#[derive(Default)]
struct Spy {
    labels: Arc<Mutex<Vec<Vec<i64>>>>,
}

impl Component for Spy {}

impl MetricLoss for Spy {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, _: Option<&Tuples>, _: Option<Reference<'_>>) -> metric_learning::Result<Tensor> {
        self.labels.lock().unwrap().push(Vec::<i64>::try_from(labels).unwrap());
        assert_eq!(embeddings.size()[0], labels.size()[0]);
        Ok(embeddings.sum(Kind::Float) * 0.0)
    }
}

fn three_views() -> Augmentations {
    Augmentations::new(vec![
        Box::new(HorizontalFlip::new(1.0)),
        Box::new(RandomResizedCrop::new((0.5, 1.0))),
        Box::new(Compose(vec![Box::new(ColorJitter::new(0.4, 0.4, 0.0)), Box::new(GaussianNoise::new(0.05))])),
    ])
    .image_shape([1, 4, 4])
}

#[test]
fn the_effective_batch_is_batch_times_transforms_with_one_pseudo_label_per_sample() {
    one_thread();
    let spy = Spy::default();
    let seen = spy.labels.clone();
    let mut trainer = UnsupervisedEmbeddingsUsingAugmentations::builder()
        .trunk(linear(16, 4))
        .metric_loss(spy)
        .transforms(three_views())
        .trunk_optimizer(Sgd::new(0.01))
        .progress_bar(false)
        .dataset(clusters(2, 8, 16))
        .batch_size(5)
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "16 samples in batches of 5");
    for labels in seen.iter() {
        assert_eq!(labels, &[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    }
}

#[test]
fn transforms_repeat_under_a_seed_and_keep_the_shape() {
    let image = Tensor::rand([3, 8, 8], (Kind::Float, Device::Cpu));
    let all: Vec<Box<dyn Transform>> = vec![
        Box::new(RandomResizedCrop::default()),
        Box::new(HorizontalFlip::default()),
        Box::new(ColorJitter::new(0.4, 0.4, 0.4)),
        Box::new(GaussianNoise::new(0.1)),
        Box::new(GaussianBlur::new(3, (0.1, 2.0))),
        Box::new(Normalize::new([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])),
    ];
    for transform in &all {
        let run = |seed| transform.apply(&image, &mut rand::rngs::StdRng::seed_from_u64(seed));
        assert_eq!(run(1).size(), vec![3, 8, 8]);
        assert!(run(1).equal(&run(1)), "the same seed gives the same view");
    }
    let flipped = HorizontalFlip::new(1.0).apply(&image, &mut rand::rngs::StdRng::seed_from_u64(0));
    assert!(flipped.select(2, 0).equal(&image.select(2, 7)), "a flip mirrors columns");
    let normalized = Normalize::new([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]).apply(&image, &mut rand::rngs::StdRng::seed_from_u64(0));
    assert!(normalized.allclose(&((&image - 0.5) / 0.25), 1e-6, 1e-6, false));
    let blurred = GaussianBlur::new(5, (2.0, 2.0)).apply(&Tensor::ones([1, 9, 9], (Kind::Float, Device::Cpu)), &mut rand::rngs::StdRng::seed_from_u64(0));
    assert!((blurred.double_value(&[0, 4, 4]) - 1.0).abs() < 1e-6, "a normalised kernel keeps a flat image's centre");
}

#[test]
fn learns_on_fashion_mnist_without_labels() {
    one_thread();
    tch::manual_seed(6);
    let (train, test) = fashion_mnist(4000, 1000);
    let views = Augmentations::new(vec![
        Box::new(Compose(vec![Box::new(RandomResizedCrop::new((0.6, 1.0))), Box::new(HorizontalFlip::new(0.5))])),
        Box::new(Compose(vec![Box::new(RandomResizedCrop::new((0.6, 1.0))), Box::new(GaussianNoise::new(0.05))])),
    ])
    .image_shape([1, 28, 28]);
    let mut trainer = UnsupervisedEmbeddingsUsingAugmentations::builder()
        .trunk(metric_learning_tests::seeded_linear(784, 64, 6))
        .metric_loss(NTXentLoss::new(0.1))
        .transforms(views)
        .trunk_optimizer(Adam::new(1e-3))
        .progress_bar(false)
        .seed(6)
        .dataset(train)
        .batch_size(64)
        .build()
        .unwrap();
    let labels = int_labels(&test);
    let before = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap().map_at_r;
    trainer.train(3).unwrap();
    let after = knn_scores(&trainer.embed(test.data(), 500).unwrap(), &labels).unwrap().map_at_r;
    assert!(after > before + 0.02, "MAP@R {before:.3} -> {after:.3} without labels");
}
