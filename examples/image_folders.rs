//! Fashion-MNIST as folders of real image files, one folder per class, as photos come: 28x28
//! grey PNG, or 64x64 RGB JPEG (scaled up and tinted, so that decoding costs what it does on
//! small colour photos). Written once under `runs/data/`, into a temporary folder renamed when
//! complete, so an interrupted run never leaves half a dataset behind.

// Each example uses part of it.
#![allow(dead_code)]

use metric_learning::data::{Dataset, FashionMnist, ImageFolder, InMemoryDataset, Split};
use metric_learning::tch::Kind;
use metric_learning::transforms::{Normalize, Transform};
use metric_learning::{Error, Result};
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// The per-channel mean and standard deviation RGB images are normalised with (ImageNet's).
pub const RGB_MEAN_STD: ([f64; 3], [f64; 3]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
/// The same for grey Fashion-MNIST images (its training set's).
pub const GREY_MEAN_STD: ([f64; 1], [f64; 1]) = ([0.286], [0.353]);

/// The file format of a generated folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// 28x28 grey PNG, as Fashion-MNIST is.
    Png,
    /// 64x64 RGB JPEG (the encoder's default quality, 75, as PIL's).
    Jpeg,
}

const CLASSES: [&str; 10] = ["0_tshirt", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_ankle_boot"];

/// The first `count` images of `split` as a folder of `format` files; made if missing.
///
/// # Errors
/// When Fashion-MNIST is missing or a file cannot be written.
pub fn fashion_mnist_folder(split: Split, count: usize, format: Format) -> Result<PathBuf> {
    let name = format!("fashion-mnist-{}-{}-{count}", if split == Split::Train { "train" } else { "test" }, if format == Format::Png { "png" } else { "jpeg64" });
    let folder = Path::new("runs").join("data").join(name);
    if folder.is_dir() {
        return Ok(folder);
    }
    let partial = folder.with_extension("partial");
    let io = |path: &Path, e: std::io::Error| Error::File { path: path.to_path_buf(), reason: e.to_string() };
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io(&partial, e))?;
    }
    let dataset = FashionMnist::load(split)?.take(count);
    let pixels: Vec<u8> = Vec::<u8>::try_from(&(dataset.data() * 255.0).round().to_kind(Kind::Uint8).reshape([-1]))?;
    let labels = dataset.all_labels().int_column(0).unwrap_or_default();
    for class in CLASSES {
        std::fs::create_dir_all(partial.join(class)).map_err(|e| io(&partial, e))?;
    }
    for (i, (image, &label)) in pixels.chunks(28 * 28).zip(&labels).enumerate() {
        let class = partial.join(CLASSES[label as usize]);
        let grey = image::GrayImage::from_raw(28, 28, image.to_vec()).ok_or_else(|| Error::data("a Fashion-MNIST image is not 28x28"))?;
        let written = match format {
            Format::Png => grey.save(class.join(format!("{i:05}.png"))),
            Format::Jpeg => tinted(&grey, i).save(class.join(format!("{i:05}.jpg"))),
        };
        written.map_err(|e| Error::File { path: class.clone(), reason: e.to_string() })?;
    }
    std::fs::rename(&partial, &folder).map_err(|e| io(&folder, e))?;
    Ok(folder)
}

/// The image at 64x64, coloured by a tint that depends on its number (not its class).
fn tinted(grey: &image::GrayImage, number: usize) -> image::RgbImage {
    let large = image::imageops::resize(grey, 64, 64, image::imageops::FilterType::Triangle);
    let tint = [(number * 67) % 256, (number * 151) % 256, (number * 229) % 256].map(|c| 0.5 + c as f32 / 510.0);
    image::RgbImage::from_fn(64, 64, |x, y| {
        let v = f32::from(large.get_pixel(x, y)[0]);
        image::Rgb(tint.map(|t| (v * t).round() as u8))
    })
}


/// Every image of `folder`, normalised as the training images are on the workers, in memory:
/// a test set to score embeddings on.
///
/// # Errors
/// When an image cannot be read.
pub fn normalized_in_memory(folder: &ImageFolder, normalize: &Normalize) -> Result<InMemoryDataset> {
    let all: Vec<usize> = (0..folder.len()).collect();
    let batch = folder.get_batch(&all)?;
    let normalized = normalize.apply(&batch.data, &mut rand::rngs::StdRng::seed_from_u64(0));
    InMemoryDataset::new(normalized, batch.labels)
}
