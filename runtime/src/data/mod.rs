//! Datasets and what they hand the engine: samples, batches and their labels.

mod fashion_mnist;
mod idx;
mod image_folder;
mod in_memory;
mod labels;
mod loader;
mod split;

pub use fashion_mnist::{FashionMnist, Split};
pub use idx::{read_idx_images, read_idx_labels};
pub use image_folder::{Channels, Fit, ImageFolder, ImageOptions};
pub use in_memory::InMemoryDataset;
pub use labels::Labels;
pub use loader::{CollateFn, Loader, LoaderBuilder};
pub use split::{split, SplitBy, Subset};

use crate::{Error, Result};
use tch::Tensor;

/// One item of a dataset.
#[derive(Debug)]
pub struct Sample {
    /// The input, without a batch dimension.
    pub data: Tensor,
    /// Its label: one value per hierarchy level.
    pub labels: Labels,
}

/// A batch as the dataset (or the collate function) produces it, before label processing.
#[derive(Debug)]
pub struct Batch {
    /// Inputs stacked along a new first dimension.
    pub data: Tensor,
    /// One row of labels per input.
    pub labels: Labels,
}

/// A map-style dataset (PyTorch's `Dataset`): a length and random access.
/// `Sync` because loader workers read it from several threads.
pub trait Dataset: Send + Sync {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether it has no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One sample.
    ///
    /// # Errors
    /// When the index is out of range or the sample cannot be read.
    fn get(&self, index: usize) -> Result<Sample>;

    /// Several samples collated into a batch. The default collates `get`; in-memory datasets
    /// override it with one gather.
    ///
    /// # Errors
    /// As `get`, or when the samples cannot be stacked.
    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        let samples = indices.iter().map(|&i| self.get(i)).collect::<Result<Vec<_>>>()?;
        collate(samples)
    }

    /// Every sample's labels, when the dataset knows them without loading the data; used for
    /// `set_min_label_to_zero` when no `dataset_labels` are given.
    fn labels(&self) -> Option<Labels> {
        None
    }
}

/// The default collate: stacks the inputs and concatenates the label rows.
///
/// # Errors
/// When there are no samples, or their shapes or label kinds differ.
pub fn collate(samples: Vec<Sample>) -> Result<Batch> {
    if samples.is_empty() {
        return Err(Error::data("cannot collate an empty list of samples"));
    }
    let first_shape = samples[0].data.size();
    if let Some(odd) = samples.iter().find(|s| s.data.size() != first_shape) {
        return Err(Error::data(format!(
            "samples of one batch must have one shape to be stacked: found {first_shape:?} and {:?}",
            odd.data.size()
        )));
    }
    let data = Tensor::f_stack(&samples.iter().map(|s| &s.data).collect::<Vec<_>>(), 0)?;
    let labels = Labels::concat(samples.into_iter().map(|s| s.labels))?;
    Ok(Batch { data, labels })
}
