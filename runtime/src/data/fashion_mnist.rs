use super::{read_idx_images, read_idx_labels, InMemoryDataset, Labels};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Kind;

/// Where Debian's `dataset-fashion-mnist` package puts the files (`scripts/setup` installs it).
pub const DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The standard split of Fashion-MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

/// Fashion-MNIST (Zalando, MIT licence): 28x28 grey images of 10 clothing classes.
pub struct FashionMnist;

impl FashionMnist {
    /// A split from `/usr/share/datasets/fashion-mnist` (where `scripts/setup` installs it), as flat `f32` rows of 784 pixels in `[0, 1]`.
    ///
    /// # Errors
    /// When the files are missing or malformed; the message says how to install them.
    pub fn load(split: Split) -> Result<InMemoryDataset> {
        Self::load_from(DEFAULT_DIR, split)
    }

    /// A split from another folder holding the four IDX files (gzipped or not).
    ///
    /// # Errors
    /// When the files are missing or malformed.
    pub fn load_from(dir: impl AsRef<Path>, split: Split) -> Result<InMemoryDataset> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let images = find(dir.as_ref(), &format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find(dir.as_ref(), &format!("{prefix}-labels-idx1-ubyte"))?;
        let images = read_idx_images(images)?;
        let n = images.size()[0];
        let data = images.to_kind(Kind::Float).reshape([n, -1]) / 255.0;
        InMemoryDataset::new(data, Labels::int(read_idx_labels(labels)?))
    }
}

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    [dir.join(format!("{stem}.gz")), dir.join(stem)].into_iter().find(|p| p.exists()).ok_or_else(|| Error::File {
        path: dir.join(format!("{stem}.gz")),
        reason: "not found; `scripts/setup` installs Fashion-MNIST (Debian package dataset-fashion-mnist)".into(),
    })
}
