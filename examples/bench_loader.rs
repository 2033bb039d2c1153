//! Our side of `bench/loader_vs_pytorch`: one pass over a generated Fashion-MNIST image folder
//! through the loader, in batches of 64, with torchvision's usual training pipeline (decode,
//! resize, random crop, horizontal flip, normalise), at each worker count given.
//!
//! `bench_loader <png|jpeg> <count> <workers>...` prints `<workers> <images per second>` lines,
//! timed from the first batch to the last (worker start-up left out, as on the Python side).

mod image_folders;

use image_folders::{fashion_mnist_folder, Format, GREY_MEAN_STD, RGB_MEAN_STD};
use metric_learning::data::{Channels, Dataset, Fit, ImageFolder, ImageOptions, Loader, Split};
use metric_learning::transforms::{Compose, HorizontalFlip, Normalize, RandomCrop};
use std::time::Instant;

const BATCH: usize = 64;

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> metric_learning::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || metric_learning::Error::config("usage: bench_loader <png|jpeg> <count> <workers>...");
    let format = match args.first().map(String::as_str) {
        Some("png") => Format::Png,
        Some("jpeg") => Format::Jpeg,
        _ => return Err(usage()),
    };
    let count: usize = args.get(1).and_then(|c| c.parse().ok()).ok_or_else(usage)?;
    let folder = fashion_mnist_folder(Split::Test, count, format)?;
    // Resize to `stored`, crop `crop`: the Python side's Resize and RandomCrop.
    let (stored, crop, channels, mean, std): (u32, i64, _, Vec<f64>, Vec<f64>) = match format {
        Format::Png => (32, 28, Channels::Grey, GREY_MEAN_STD.0.into(), GREY_MEAN_STD.1.into()),
        Format::Jpeg => (72, 64, Channels::Rgb, RGB_MEAN_STD.0.into(), RGB_MEAN_STD.1.into()),
    };
    let shape = [BATCH as i64, mean.len() as i64, crop, crop];
    for workers in args[2..].iter().map(|w| w.parse::<usize>().map_err(|_| usage())) {
        let workers = workers?;
        let dataset = ImageFolder::open(&folder, ImageOptions::new(stored, stored).channels(channels).fit(Fit::Stretch))?;
        let images = dataset.len();
        let augmentation = Compose(vec![Box::new(RandomCrop::new(crop, crop)), Box::new(HorizontalFlip::new(0.5)), Box::new(Normalize::new(mean.clone(), std.clone()))]);
        let mut loader = Loader::builder(dataset).batch_size(BATCH).workers(workers).augmentation(augmentation).seed(0).build()?;
        let batches = loader.batches_per_pass();
        let first = loader.next_batch()?;
        let started = Instant::now();
        let mut seen = 0;
        for batch in loader.by_ref().take(batches - 1) {
            seen += batch?.data.size()[0];
        }
        let seconds = started.elapsed().as_secs_f64();
        if first.data.size() != shape {
            return Err(metric_learning::Error::data(format!("expected batches of shape {shape:?}, found {:?}", first.data.size())));
        }
        println!("{workers} {:.1} {images}", seen as f64 / seconds);
    }
    Ok(())
}
