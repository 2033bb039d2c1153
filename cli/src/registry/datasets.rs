//! Datasets by name: Fashion-MNIST, a folder of images (one folder per class), a list file of
//! images and labels, and features with labels in a `.safetensors` or `.npy` file.

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::data::{Channels, Dataset, FashionMnist, Fit, ImageFolder, ImageOptions, InMemoryDataset, Labels, Split};
use metric_learning::prelude::*;
use metric_learning::transforms::{Normalize, Transform};
use rand::SeedableRng;
use std::path::Path;
use std::sync::Arc;

/// A dataset made from the file: in memory, or images read from disk as batches ask for them.
#[derive(Clone)]
pub enum Data {
    InMemory(Arc<InMemoryDataset>),
    /// With the normalisation (`mean`, `std`) its images get when it is scored.
    Images(Arc<ImageFolder>, Option<(Vec<f64>, Vec<f64>)>),
}

impl Data {
    /// For the trainer's loader (and a tester).
    pub fn shared(&self) -> Arc<dyn Dataset> {
        match self {
            Data::InMemory(data) => data.clone(),
            Data::Images(folder, _) => folder.clone(),
        }
    }

    /// Every sample in memory, normalised as its `mean` and `std` say: a set to embed and score.
    pub fn in_memory(&self) -> metric_learning::Result<Arc<InMemoryDataset>> {
        match self {
            Data::InMemory(data) => Ok(data.clone()),
            Data::Images(folder, normalize) => {
                let all: Vec<usize> = (0..folder.len()).collect();
                let batch = folder.get_batch(&all)?;
                let data = match normalize {
                    Some((mean, std)) => Normalize::new(mean.clone(), std.clone()).apply(&batch.data, &mut rand::rngs::StdRng::seed_from_u64(0)),
                    None => batch.data,
                };
                InMemoryDataset::new(data, batch.labels).map(Arc::new)
            }
        }
    }

    /// The first level's labels (what samplers see).
    pub fn labels(&self) -> Vec<i64> {
        self.all_labels().and_then(|l| l.int_column(0)).unwrap_or_default()
    }

    /// Every level of each sample's labels, one row per sample.
    pub fn label_rows(&self) -> Vec<Vec<i64>> {
        let Some(labels) = self.all_labels() else { return Vec::new() };
        let columns: Vec<Vec<i64>> = (0..labels.levels()).map_while(|level| labels.int_column(level)).collect();
        (0..labels.len()).map(|i| columns.iter().map(|column| column[i]).collect()).collect()
    }

    fn all_labels(&self) -> Option<Labels> {
        match self {
            Data::InMemory(data) => Some(data.all_labels().clone()),
            Data::Images(folder, _) => folder.labels(),
        }
    }

    /// Whether its images are normalised when scored (which a training set must not ask for).
    pub fn normalizes(&self) -> bool {
        matches!(self, Data::Images(_, Some(_)))
    }
}

fn existing<'p>(p: &'p Params, module: &str, name: &str) -> metric_learning::Result<&'p str> {
    let path = p.text(name);
    if !Path::new(path).exists() {
        return Err(Error::File { path: path.into(), reason: format!("{module}'s {name} does not exist") });
    }
    Ok(path)
}

fn image_options(p: &Params, module: &str) -> metric_learning::Result<ImageOptions> {
    let size = |name: &str| -> metric_learning::Result<u32> {
        let n = p.count(module, name, 1)?;
        u32::try_from(n).map_err(|_| Error::mismatch(format!("{module}'s {name}"), "at most 4294967295", n.to_string()))
    };
    let channels = match p.text("channels") {
        "rgb" => Channels::Rgb,
        "grey" => Channels::Grey,
        other => return Err(Error::mismatch(format!("{module}'s channels"), "\"rgb\" or \"grey\"", format!("{other:?}"))),
    };
    let fit = match p.text("fit") {
        "center_crop" => Fit::CenterCrop,
        "stretch" => Fit::Stretch,
        "exact" => Fit::Exact,
        other => return Err(Error::mismatch(format!("{module}'s fit"), "\"center_crop\", \"stretch\" or \"exact\"", format!("{other:?}"))),
    };
    Ok(ImageOptions::new(size("height")?, size("width")?).channels(channels).fit(fit).cache(p.bool("cache")))
}

fn images(folder: ImageFolder, p: &Params, module: &str) -> metric_learning::Result<Data> {
    let normalize = match (p.has("mean"), p.has("std")) {
        (false, false) => None,
        (true, true) => {
            let (mean, std) = (p.float_list("mean"), p.float_list("std"));
            if mean.is_empty() || mean.len() != std.len() || std.iter().any(|&s| s <= 0.0) {
                return Err(Error::mismatch(format!("{module}'s mean and std"), "one value per channel each, std positive", format!("mean {mean:?}, std {std:?}")));
            }
            Some((mean, std))
        }
        _ => return Err(Error::config(format!("{module}: give both `mean` and `std`, or neither"))),
    };
    Ok(Data::Images(Arc::new(folder), normalize))
}

/// Features and labels from a `.safetensors` file (tensors named by `data` and `labels`) or a
/// pair of `.npy` files.
fn features(p: &Params) -> metric_learning::Result<Data> {
    let path = existing(p, "Features", "path")?;
    let (data, labels) = if path.ends_with(".safetensors") {
        let tensors = Tensor::read_safetensors(path).map_err(|e| Error::File { path: path.into(), reason: e.to_string() })?;
        let named = |name: &str| {
            tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.shallow_clone()).ok_or_else(|| {
                let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
                Error::File { path: path.into(), reason: format!("no tensor named `{name}` (it holds {})", names.join(", ")) }
            })
        };
        (named(p.text("data"))?, named(p.text("labels"))?)
    } else if path.ends_with(".npy") {
        let labels_path = existing(p, "Features", "labels_path")?;
        let read = |file: &str| Tensor::read_npy(file).map_err(|e| Error::File { path: file.into(), reason: e.to_string() });
        (read(path)?, read(labels_path)?)
    } else {
        return Err(Error::File { path: path.into(), reason: "Features reads a .safetensors file, or a .npy file with labels_path".into() });
    };
    use metric_learning::tch::Kind as K;
    let whole = matches!(labels.kind(), K::Int64 | K::Int | K::Int16 | K::Int8 | K::Uint8);
    if !whole || !(1..=2).contains(&labels.dim()) {
        return Err(Error::mismatch("Features' labels", "whole numbers, one per sample (n) or one per level (n x levels)", format!("{:?} of {:?}", labels.size(), labels.kind())));
    }
    let levels = if labels.dim() == 2 { labels.size()[1].max(1) as usize } else { 1 };
    let values = Vec::<i64>::try_from(&labels.f_to_kind(K::Int64)?.f_reshape([-1])?)?;
    InMemoryDataset::new(data.f_to_kind(K::Float)?, Labels::int_levels(values, levels)?).map(|d| Data::InMemory(Arc::new(d)))
}

pub static DATASETS: Family<Data> = Family {
    word: "dataset",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module {
            name: "FashionMNIST",
            params: FASHION_MNIST,
            make: |p, _| {
                let split = match p.text("split") {
                    "train" => Split::Train,
                    "test" => Split::Test,
                    other => return Err(Error::mismatch("FashionMNIST's split", "\"train\" or \"test\"", format!("{other:?}"))),
                };
                let all = FashionMnist::load(split)?;
                let taken = match p.int("take") {
                    Some(n) if n > 0 => all.take(n as usize),
                    Some(n) => return Err(Error::mismatch("FashionMNIST's take", "a positive number of samples", n.to_string())),
                    None => all,
                };
                Ok(Data::InMemory(Arc::new(match p.text("pairs") {
                    "" => taken,
                    "same_class" => taken.same_class_pairs(p.int("pairs_seed").unwrap_or(0) as u64)?,
                    other => return Err(Error::mismatch("FashionMNIST's pairs", "\"same_class\" (or no pairs)", format!("{other:?}"))),
                })))
            },
        },
        Module {
            name: "ImageFolder",
            params: IMAGE_FOLDER,
            make: |p, _| images(ImageFolder::open(existing(p, "ImageFolder", "root")?, image_options(p, "ImageFolder")?)?, p, "ImageFolder"),
        },
        Module {
            name: "ImageList",
            params: IMAGE_LIST,
            make: |p, _| images(ImageFolder::from_list(existing(p, "ImageList", "list")?, image_options(p, "ImageList")?)?, p, "ImageList"),
        },
        Module { name: "Features", params: FEATURES, make: |p, _| features(p) },
    ],
};

const FASHION_MNIST: &[Param] = &[
    param("split", Kind::Text, Default::Text("train")),
    param("take", Kind::Int, Default::Absent),
    param("pairs", Kind::Text, Default::Absent),
    param("pairs_seed", Kind::Int, Default::Int(0)),
];
/// An image dataset's parameters: where its images are (`root` or `list`), then how they are read.
macro_rules! image_params {
    ($source:literal) => {
        &[
            param($source, Kind::Text, Default::Required),
            param("height", Kind::Int, Default::Required),
            param("width", Kind::Int, Default::Required),
            param("channels", Kind::Text, Default::Text("rgb")),
            param("fit", Kind::Text, Default::Text("center_crop")),
            param("cache", Kind::Bool, Default::Bool(false)),
            param("mean", Kind::FloatList, Default::Absent),
            param("std", Kind::FloatList, Default::Absent),
        ]
    };
}
const IMAGE_FOLDER: &[Param] = image_params!("root");
const IMAGE_LIST: &[Param] = image_params!("list");
const FEATURES: &[Param] = &[
    param("path", Kind::Text, Default::Required),
    param("data", Kind::Text, Default::Text("data")),
    param("labels", Kind::Text, Default::Text("labels")),
    param("labels_path", Kind::Text, Default::Absent),
];
