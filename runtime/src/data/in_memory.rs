use super::{Batch, Dataset, Labels, Sample};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// A dataset held in one tensor, with its labels: batches are a single gather.
pub struct InMemoryDataset {
    data: SharedTensor,
    labels: Labels,
}

/// A tensor that loader workers read concurrently.
struct SharedTensor(Tensor);

// SAFETY: the tensor is never mutated after construction; the loader's workers only read it
// (`index_select`, `get`), and ATen's read operations on a shared tensor are thread-safe (the
// same sharing PyTorch's thread-based loaders rely on). Tensor is already `Send`.
unsafe impl Sync for SharedTensor {}

impl InMemoryDataset {
    /// Samples along the first dimension of `data`, one label row each.
    ///
    /// # Errors
    /// When `data` and `labels` do not have the same number of samples.
    pub fn new(data: Tensor, labels: Labels) -> Result<InMemoryDataset> {
        let samples = data.size().first().copied().unwrap_or(0);
        if samples != labels.len() as i64 {
            return Err(Error::data(format!(
                "InMemoryDataset: {samples} samples of data but {} labels; they must be equal",
                labels.len()
            )));
        }
        Ok(InMemoryDataset { data: SharedTensor(data), labels })
    }

    /// The first `n` samples (or all of them when there are fewer).
    pub fn take(&self, n: usize) -> InMemoryDataset {
        let n = n.min(self.len());
        let indices: Vec<usize> = (0..n).collect();
        InMemoryDataset { data: SharedTensor(self.data.0.narrow(0, 0, n as i64)), labels: self.labels.select(&indices) }
    }

    /// A two-stream dataset from PML's `(anchor, positive, label)` items: `anchors[i]` and
    /// `positives[i]` stacked on dimension 1 (shape `(n, 2, ...)`, what TwoStreamMetricLoss and
    /// GlobalTwoStreamEmbeddingSpaceTester take), labelled `labels[i]`.
    ///
    /// # Errors
    /// When the anchors and positives differ in shape, or the labels in number.
    pub fn two_stream(anchors: &Tensor, positives: &Tensor, labels: Labels) -> Result<InMemoryDataset> {
        if anchors.size() != positives.size() {
            return Err(Error::mismatch("positives", format!("the anchors' shape {:?}", anchors.size()), format!("{:?}", positives.size())));
        }
        InMemoryDataset::new(Tensor::f_stack(&[anchors, positives], 1)?, labels)
    }

    /// A two-stream dataset (TwoStreamMetricLoss's input): each sample stacked on dimension 1
    /// with a random sample of its class, drawn with this seed; shape `(n, 2, ...)`, labels kept.
    ///
    /// # Errors
    /// When the labels are not integers (map string labels first).
    pub fn same_class_pairs(&self, seed: u64) -> Result<InMemoryDataset> {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let labels = self.labels.int_column(0).ok_or_else(|| Error::data("same_class_pairs needs integer labels"))?;
        let mut by_class = std::collections::HashMap::<i64, Vec<i64>>::new();
        for (i, &label) in labels.iter().enumerate() {
            by_class.entry(label).or_default().push(i as i64);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        // Every label has at least its own sample, so `choose` always finds one.
        let partners: Vec<i64> = labels.iter().enumerate().map(|(i, l)| by_class[l].choose(&mut rng).copied().unwrap_or(i as i64)).collect();
        let data = &self.data.0;
        let pairs = Tensor::f_stack(&[data.shallow_clone(), data.f_index_select(0, &Tensor::from_slice(&partners).to_device(data.device()))?], 1)?;
        InMemoryDataset::new(pairs, self.labels.clone())
    }

    /// All inputs as one tensor.
    pub fn data(&self) -> &Tensor {
        &self.data.0
    }

    /// All labels.
    pub fn all_labels(&self) -> &Labels {
        &self.labels
    }

    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        match indices.iter().find(|&&i| i >= self.len()) {
            Some(i) => Err(Error::data(format!("index {i} is out of range for a dataset of {} samples", self.len()))),
            None => Ok(()),
        }
    }
}

impl Dataset for InMemoryDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        self.check_indices(&[index])?;
        Ok(Sample { data: self.data.0.get(index as i64), labels: self.labels.select(&[index]) })
    }

    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        self.check_indices(indices)?;
        let index: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let data = self.data.0.f_index_select(0, &Tensor::from_slice(&index).to_kind(Kind::Int64).to_device(self.data.0.device()))?;
        Ok(Batch { data, labels: self.labels.select(indices) })
    }

    fn labels(&self) -> Option<Labels> {
        Some(self.labels.clone())
    }
}
