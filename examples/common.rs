//! What the trainer examples share: Fashion-MNIST, an MLP or a small convolutional trunk,
//! scoring and the last line.
// Each example uses part of it.
#![allow(dead_code, unused_macros)]

use metric_learning::data::{FashionMnist, InMemoryDataset, Split};
use metric_learning::prelude::*;

/// The first `train` training and `test` test images.
pub fn fashion_mnist(train: usize, test: usize) -> metric_learning::Result<(InMemoryDataset, InMemoryDataset)> {
    Ok((FashionMnist::load(Split::Train)?.take(train), FashionMnist::load(Split::Test)?.take(test)))
}

/// Integer labels of a dataset.
pub fn labels(dataset: &InMemoryDataset) -> Vec<i64> {
    dataset.all_labels().int_column(0).unwrap_or_default()
}

/// 784-256-ReLU-`width`.
pub fn mlp(width: i64) -> Model {
    Model::build(Device::cuda_if_available(), |p| {
        nn::seq_t().add(nn::linear(p / "fc1", 784, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 256, width, Default::default()))
    })
}

/// A small convolutional trunk for `channels`-channel images: three 3x3 convolutions of
/// stride 2 (32, 64, 128 channels) with batch norm and ReLU, global average pooling, then
/// Linear 128-`width`.
pub fn conv_trunk(channels: i64, width: i64) -> Model {
    Model::build(Device::cuda_if_available(), |p| {
        let conv = |name: &str, from, to| nn::conv2d(p / name, from, to, 3, nn::ConvConfig { stride: 2, padding: 1, ..Default::default() });
        let norm = |name: &str, width| nn::batch_norm2d(p / name, width, Default::default());
        nn::seq_t()
            .add(conv("conv1", channels, 32))
            .add(norm("bn1", 32))
            .add_fn(|x| x.relu())
            .add(conv("conv2", 32, 64))
            .add(norm("bn2", 64))
            .add_fn(|x| x.relu())
            .add(conv("conv3", 64, 128))
            .add(norm("bn3", 128))
            .add_fn(|x| x.relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1))
            .add(nn::linear(p / "fc", 128, width, Default::default()))
    })
}

/// Precision@1, R-precision and MAP@R of the test images' embeddings.
fn scores<T: Step>(trainer: &mut Trainer<T>, test: &InMemoryDataset) -> metric_learning::Result<KnnScores> {
    knn_scores(&trainer.embed(test.data(), 1000)?, &labels(test))
}

/// `runs/<example>`: where an example's logs, plots and checkpoints go.
pub fn run_folder(example: &str) -> std::path::PathBuf {
    std::path::Path::new("runs").join(example)
}

/// The run folder, checkpoints at every epoch's end (and every 200 iterations), CSV logs and
/// loss curves, for any stock trainer's builder.
macro_rules! with_run {
    ($builder:expr, $example:expr) => {
        $builder
            .run_folder(common::run_folder($example))
            .checkpoints(metric_learning::checkpoint::Checkpoints::new().every_iterations(200))
            .hook(metric_learning::hooks::Records::new())
            .hook(metric_learning::hooks::Plots::new())
    };
}

/// With `--resume` on the command line, continues the example's run from its latest checkpoint.
///
/// # Errors
/// When there is no checkpoint to resume from, or it does not fit the trainer.
pub fn maybe_resume<T: Step>(example: &str, trainer: &mut Trainer<T>) -> metric_learning::Result<()> {
    if !std::env::args().any(|a| a == "--resume") {
        return Ok(());
    }
    let folder = run_folder(example).join("checkpoints");
    let Some(latest) = metric_learning::checkpoint::latest(&folder)? else {
        return Err(metric_learning::Error::File { path: folder, reason: "--resume: no checkpoint to resume from".into() });
    };
    trainer.resume(&latest)?;
    println!("resumed from {} (epoch {}, {} iterations done)", latest.display(), trainer.epoch(), trainer.global_iteration() + 1);
    Ok(())
}

/// Scores the test images, trains to epoch `epochs` (resuming with `--resume`), scores again
/// and prints the example's last line.
pub fn train_and_report<T: Step>(name: &str, example: &str, trainer: &mut Trainer<T>, test: &InMemoryDataset, epochs: usize) -> metric_learning::Result<()> {
    maybe_resume(example, trainer)?;
    let before = scores(trainer, test)?;
    trainer.train_to(epochs)?;
    let after = scores(trainer, test)?;
    println!("run folder: {}", run_folder(example).display());
    report(name, before, after);
    Ok(())
}

/// `fashion-mnist <name>: precision_at_1 a -> b, r_precision c -> d, map_at_r e -> f`.
fn report(name: &str, before: KnnScores, after: KnnScores) {
    println!(
        "fashion-mnist {name}: precision_at_1 {:.3} -> {:.3}, r_precision {:.3} -> {:.3}, map_at_r {:.3} -> {:.3}",
        before.precision_at_1, after.precision_at_1, before.r_precision, after.r_precision, before.map_at_r, after.map_at_r
    );
}

/// Runs an example, printing its error and exiting non-zero on failure.
pub fn main_with(run: impl FnOnce() -> metric_learning::Result<()>) {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
