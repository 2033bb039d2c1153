//! MetricLossOnly with a small convolutional trunk on a folder of image files: the first
//! 20,000 Fashion-MNIST training images as 64x64 RGB JPEG, one folder per class (written under
//! `runs/data/` on the first run). Two loader workers read, decode and resize each image to
//! 72x72, crop 64x64 at random, flip half of them and normalise, while the training thread
//! trains: TripletMarginLoss(margin 0.1) on MultiSimilarityMiner(0.1) pairs, MPerClassSampler
//! (m 8), batches of 128, Adam 1e-3, 2 epochs. Scored on 2,000 test images (resized to 64x64)
//! before and after, and prints how much of the training time went to waiting for data.
//! `--resume` continues from the latest checkpoint in `runs/image_folder/`.

#[macro_use]
mod common;
mod image_folders;

use image_folders::{fashion_mnist_folder, normalized_in_memory, Format, RGB_MEAN_STD};
use metric_learning::data::{Channels, Fit, ImageFolder, ImageOptions};
use metric_learning::prelude::*;
use metric_learning::transforms::{Compose, HorizontalFlip, Normalize, RandomCrop};
const WORKERS: usize = 2;

fn main() {
    common::main_with(|| {
        metric_learning::tch::manual_seed(0);
        let options = |size| ImageOptions::new(size, size).channels(Channels::Rgb).fit(Fit::Stretch);
        let train = ImageFolder::open(fashion_mnist_folder(Split::Train, 20_000, Format::Jpeg)?, options(72))?;
        let (mean, std) = RGB_MEAN_STD;
        let test = normalized_in_memory(&ImageFolder::open(fashion_mnist_folder(Split::Test, 2000, Format::Jpeg)?, options(64))?, &Normalize::new(mean, std))?;
        let labels = train.labels().and_then(|l| l.int_column(0)).unwrap_or_default();
        let augmentation = Compose(vec![Box::new(RandomCrop::new(64, 64)), Box::new(HorizontalFlip::new(0.5)), Box::new(Normalize::new(mean, std))]);
        let mut trainer = with_run!(MetricLossOnly::builder()
            .trunk(common::conv_trunk(3, 64))
            .metric_loss(TripletMarginLoss::new().margin(0.1))
            .tuple_miner(MultiSimilarityMiner::new(0.1))
            .trunk_optimizer(Adam::new(1e-3))
            .sampler(MPerClassSampler::new(&labels, 8).length_before_new_iter(labels.len()))
            .augmentation(augmentation)
            .dataloader_num_workers(WORKERS)
            .seed(0)
            .dataset(train)
            .batch_size(128), "image_folder")
            .build()?;
        common::train_and_report("MetricLossOnly (conv trunk, 64x64 JPEG folder)", "image_folder", &mut trainer, &test, 2)?;
        let times = trainer.iteration_times();
        println!(
            "waited for data {:.1}% of {:.1} s of training ({WORKERS} loader workers)",
            100.0 * times.fraction_waiting(),
            times.total.as_secs_f64()
        );
        Ok(())
    })
}
