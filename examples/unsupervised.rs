//! UnsupervisedEmbeddingsUsingAugmentations on 20,000 Fashion-MNIST images without their labels:
//! two augmented views of each image (random resized crops with a flip, or with noise and
//! jitter) are positives of each other, NT-Xent over the views. Precision@1 and MAP@R (with the
//! real labels) before and after on 2,000 test images.

#[macro_use]
mod common;

use metric_learning::losses::NTXentLoss;
use metric_learning::prelude::*;
use metric_learning::trainers::UnsupervisedEmbeddingsUsingAugmentations;
use metric_learning::transforms::{Augmentations, ColorJitter, Compose, GaussianNoise, HorizontalFlip, RandomResizedCrop};

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let (train, test) = common::fashion_mnist(20_000, 2000)?;
        let views = Augmentations::new(vec![
            Box::new(Compose(vec![Box::new(RandomResizedCrop::new((0.5, 1.0))), Box::new(HorizontalFlip::new(0.5))])),
            Box::new(Compose(vec![
                Box::new(RandomResizedCrop::new((0.5, 1.0))),
                Box::new(ColorJitter::new(0.4, 0.4, 0.0)),
                Box::new(GaussianNoise::new(0.05)),
            ])),
        ])
        .image_shape([1, 28, 28]);
        let mut trainer = with_run!(UnsupervisedEmbeddingsUsingAugmentations::builder()
            .trunk(common::mlp(64))
            .metric_loss(NTXentLoss::new(0.1))
            .transforms(views)
            .trunk_optimizer(Adam::new(1e-3))
            .seed(0)
            .dataset(train)
            .batch_size(128), "unsupervised")
            .build()?;
        common::train_and_report("UnsupervisedEmbeddingsUsingAugmentations", "unsupervised", &mut trainer, &test, 2)
    })
}
