//! Folders of images: one folder per class (torchvision's `ImageFolder`), or a list file of
//! `path,label[,label...]` lines for hierarchical labels. PNG and JPEG are decoded with the
//! `image` crate, resized to a fixed size, grey or RGB, as `[channels, height, width]` floats in
//! [0, 1]; decoded images can be kept in memory.

use super::{Batch, Dataset, Labels, Sample};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tch::{Kind, Tensor};

/// The colour channels images are converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    /// One channel.
    Grey,
    /// Three channels.
    Rgb,
}

/// How an image of another size becomes the configured one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Scaled to exactly the size (the aspect ratio may change).
    Stretch,
    /// Scaled to cover the size, then cropped at the centre (torchvision's `Resize` +
    /// `CenterCrop`).
    CenterCrop,
    /// Refused: every image must already have the size and the channels (grey, or RGB without
    /// alpha); an error names the first that has not.
    Exact,
}

/// What every image becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageOptions {
    /// Height and width.
    pub size: (u32, u32),
    /// Grey or RGB.
    pub channels: Channels,
    /// How other sizes are fitted.
    pub fit: Fit,
    /// Keep decoded images in memory after their first read.
    pub cache: bool,
}

impl ImageOptions {
    /// Images of `height x width`, RGB, centre-cropped to fit, not cached.
    pub fn new(height: u32, width: u32) -> ImageOptions {
        ImageOptions { size: (height, width), channels: Channels::Rgb, fit: Fit::CenterCrop, cache: false }
    }

    /// Grey or RGB.
    pub fn channels(mut self, channels: Channels) -> Self {
        self.channels = channels;
        self
    }

    /// How other sizes are fitted.
    pub fn fit(mut self, fit: Fit) -> Self {
        self.fit = fit;
        self
    }

    /// Keep decoded images in memory.
    pub fn cache(mut self, on: bool) -> Self {
        self.cache = on;
        self
    }
}

/// A dataset of image files with integer labels.
pub struct ImageFolder {
    paths: Vec<PathBuf>,
    labels: Labels,
    classes: Vec<String>,
    options: ImageOptions,
    cached: Option<Mutex<Vec<Option<Tensor>>>>,
}

const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn file_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::File { path: path.to_path_buf(), reason: reason.into() }
}

/// The entries of `folder`, sorted by name (so labels and order do not depend on the file
/// system). An entry that cannot be followed (a broken symlink, a symlink loop) is an error
/// naming it: skipping it would silently drop a class or its images.
fn sorted_entries(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(|e| file_error(folder, e.to_string()))?;
    let mut paths = entries.map(|e| e.map(|e| e.path()).map_err(|e| file_error(folder, e.to_string()))).collect::<Result<Vec<_>>>()?;
    for path in &paths {
        std::fs::metadata(path).map_err(|e| file_error(path, format!("cannot be followed: {e}")))?;
    }
    paths.sort();
    Ok(paths)
}

impl ImageFolder {
    /// The images of `root/<class>/*.{png,jpg,jpeg}`; class `i` is the `i`-th class folder in
    /// name order, as torchvision numbers them.
    ///
    /// # Errors
    /// [`Error::File`] for a root that cannot be read or has no class folder, or a class folder
    /// without images (named).
    pub fn open(root: impl AsRef<Path>, options: ImageOptions) -> Result<ImageFolder> {
        let root = root.as_ref();
        let class_folders: Vec<PathBuf> = sorted_entries(root)?.into_iter().filter(|p| p.is_dir()).collect();
        if class_folders.is_empty() {
            return Err(file_error(root, "expected one folder per class, found none"));
        }
        let (mut paths, mut labels, mut classes) = (Vec::new(), Vec::new(), Vec::new());
        for (label, folder) in class_folders.iter().enumerate() {
            let images: Vec<PathBuf> = sorted_entries(folder)?.into_iter().filter(|p| p.is_file() && is_image(p)).collect();
            if images.is_empty() {
                return Err(file_error(folder, format!("a class folder without images (expected files ending in {})", EXTENSIONS.join(", "))));
            }
            classes.push(folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            labels.extend(std::iter::repeat_n(label as i64, images.len()));
            paths.extend(images);
        }
        Ok(ImageFolder::assemble(paths, Labels::int(labels), classes, options))
    }

    /// The images a list file names, one `path,label[,label...]` line each (paths relative to
    /// the list file's folder; every line with as many labels; a header line `path,...` is
    /// skipped).
    ///
    /// # Errors
    /// [`Error::File`] naming the list file and the line: a missing path, a label that is not
    /// an integer, another number of labels, no lines.
    pub fn from_list(list: impl AsRef<Path>, options: ImageOptions) -> Result<ImageFolder> {
        let list = list.as_ref();
        let text = std::fs::read_to_string(list).map_err(|e| file_error(list, e.to_string()))?;
        let base = list.parent().unwrap_or(Path::new("."));
        let (mut paths, mut values, mut levels) = (Vec::new(), Vec::new(), None);
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || (number == 1 && line.starts_with("path,")) {
                continue;
            }
            let mut fields = line.split(',').map(str::trim);
            let path = base.join(fields.next().unwrap_or_default());
            let labels = fields
                .map(|f| f.parse::<i64>().map_err(|_| file_error(list, format!("line {number}: expected integer labels after the path, found `{f}`"))))
                .collect::<Result<Vec<i64>>>()?;
            if labels.is_empty() {
                return Err(file_error(list, format!("line {number}: expected `path,label[,label...]`, found `{line}`")));
            }
            if *levels.get_or_insert(labels.len()) != labels.len() {
                return Err(file_error(list, format!("line {number}: {} labels where earlier lines have {}", labels.len(), levels.unwrap_or(0))));
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {}
                Ok(_) => return Err(file_error(list, format!("line {number}: {} is not a file", path.display()))),
                Err(e) => return Err(file_error(list, format!("line {number}: {} is not a file: {e}", path.display()))),
            }
            paths.push(path);
            values.extend(labels);
        }
        let Some(levels) = levels else { return Err(file_error(list, "expected `path,label[,label...]` lines, found none")) };
        Ok(ImageFolder::assemble(paths, Labels::int_levels(values, levels)?, Vec::new(), options))
    }

    fn assemble(paths: Vec<PathBuf>, labels: Labels, classes: Vec<String>, options: ImageOptions) -> ImageFolder {
        let cached = options.cache.then(|| Mutex::new((0..paths.len()).map(|_| None).collect()));
        ImageFolder { paths, labels, classes, options, cached }
    }

    /// The class folders' names, by label (empty for a list file).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The image files, in dataset order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Image `index` decoded as configured: `[channels, height, width]` floats in [0, 1].
    ///
    /// # Errors
    /// [`Error::File`] naming the file when it cannot be read or decoded, or (with
    /// [`Fit::Exact`]) has another size.
    pub fn image(&self, index: usize) -> Result<Tensor> {
        let path = self.paths.get(index).ok_or_else(|| Error::data(format!("image {index} is past the folder's {} images", self.paths.len())))?;
        if let Some(cache) = &self.cached {
            if let Some(Some(image)) = cache.lock().map_err(|_| Error::data("the image cache was poisoned"))?.get(index) {
                return Ok(image.shallow_clone());
            }
        }
        let image = self.decode(path)?;
        if let Some(cache) = &self.cached {
            if let Ok(mut cache) = cache.lock() {
                cache[index] = Some(image.shallow_clone());
            }
        }
        Ok(image)
    }

    fn decode(&self, path: &Path) -> Result<Tensor> {
        let (height, width) = self.options.size;
        let image = image::io::Reader::open(path)
            .map_err(|e| file_error(path, e.to_string()))?
            .with_guessed_format()
            .map_err(|e| file_error(path, e.to_string()))?
            .decode()
            .map_err(|e| file_error(path, format!("not a readable PNG or JPEG image: {e}")))?;
        let image = match self.options.fit {
            Fit::Exact if (image.height(), image.width()) != (height, width) => {
                return Err(file_error(path, format!("expected an image of {height}x{width}, found {}x{}", image.height(), image.width())));
            }
            Fit::Exact => {
                let channels = match self.options.channels {
                    Channels::Grey => 1,
                    Channels::Rgb => 3,
                };
                if image.color().channel_count() != channels {
                    return Err(file_error(path, format!("expected an image of {channels} channels, found {} ({:?})", image.color().channel_count(), image.color())));
                }
                image
            }
            Fit::Stretch => image.resize_exact(width, height, image::imageops::FilterType::Triangle),
            Fit::CenterCrop => image.resize_to_fill(width, height, image::imageops::FilterType::Triangle),
        };
        let (bytes, channels) = match self.options.channels {
            Channels::Grey => (image.to_luma8().into_raw(), 1),
            Channels::Rgb => (image.to_rgb8().into_raw(), 3),
        };
        let pixels = Tensor::from_slice(&bytes).f_reshape([i64::from(height), i64::from(width), channels])?;
        Ok(pixels.f_permute([2, 0, 1])?.f_to_kind(Kind::Float)?.f_div_scalar(255.0)?)
    }
}

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.paths.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        Ok(Sample { data: self.image(index)?, labels: self.labels.select(&[index]) })
    }

    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        let images = indices.iter().map(|&i| self.image(i)).collect::<Result<Vec<_>>>()?;
        Ok(Batch { data: Tensor::f_stack(&images, 0)?, labels: self.labels.select(indices) })
    }

    fn labels(&self) -> Option<Labels> {
        Some(self.labels.clone())
    }
}
