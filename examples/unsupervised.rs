//! UnsupervisedEmbeddingsUsingAugmentations on 20,000 Fashion-MNIST images without their
//! labels, read from a folder of 28x28 grey PNG files (written under `runs/data/` on the first
//! run) by two loader workers, which also make two augmented views of each image (a random
//! resized crop with a flip, or with jitter and blur): views of one image are positives of each
//! other, NT-Xent(0.1) over the 256 views of a batch. The small convolutional trunk of the
//! image-folder example (on one channel), Adam 1e-3, 2 epochs. Precision@1 and MAP@R (with the
//! real labels) before and after on 2,000 test images.

#[macro_use]
mod common;
mod image_folders;

use image_folders::{fashion_mnist_folder, normalized_in_memory, Format, GREY_MEAN_STD};
use metric_learning::data::{Channels, Fit, ImageFolder, ImageOptions};
use metric_learning::losses::NTXentLoss;
use metric_learning::prelude::*;
use metric_learning::trainers::UnsupervisedEmbeddingsUsingAugmentations;
use metric_learning::transforms::{Augmentations, ColorJitter, Compose, GaussianBlur, HorizontalFlip, Normalize, RandomResizedCrop};

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let options = ImageOptions::new(28, 28).channels(Channels::Grey).fit(Fit::Exact);
        let (mean, std) = GREY_MEAN_STD;
        let train = ImageFolder::open(fashion_mnist_folder(Split::Train, 20_000, Format::Png)?, options)?;
        let test = normalized_in_memory(&ImageFolder::open(fashion_mnist_folder(Split::Test, 2000, Format::Png)?, options)?, &Normalize::new(mean, std))?;
        let views = Augmentations::new(vec![
            Box::new(Compose(vec![
                Box::new(RandomResizedCrop::new((0.5, 1.0))),
                Box::new(HorizontalFlip::new(0.5)),
                Box::new(Normalize::new(mean, std)),
            ])),
            Box::new(Compose(vec![
                Box::new(RandomResizedCrop::new((0.5, 1.0))),
                Box::new(ColorJitter::new(0.4, 0.4, 0.0)),
                Box::new(GaussianBlur::new(5, (0.1, 1.5))),
                Box::new(Normalize::new(mean, std)),
            ])),
        ]);
        let mut trainer = with_run!(UnsupervisedEmbeddingsUsingAugmentations::builder()
            .trunk(common::conv_trunk(1, 64))
            .metric_loss(NTXentLoss::new(0.1))
            .transforms(views)
            .trunk_optimizer(Adam::new(1e-3))
            .dataloader_num_workers(2)
            .seed(0)
            .dataset(train)
            .batch_size(128), "unsupervised")
            .build()?;
        common::train_and_report("UnsupervisedEmbeddingsUsingAugmentations (conv trunk, PNG folder)", "unsupervised", &mut trainer, &test, 2)?;
        println!("waited for data {:.1}% of the training time", 100.0 * trainer.iteration_times().fraction_waiting());
        Ok(())
    })
}
