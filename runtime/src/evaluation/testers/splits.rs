//! One split's embeddings and labels, as a tester computes them.

use super::embedding::EmbeddingModel;
use crate::data::{Dataset, Labels};
use crate::evaluation::{save_embedding_plot, Pca};
use std::collections::HashMap;
use std::path::Path;
use crate::{Error, Result};
use tch::{Device, Kind, Tensor};

/// How a split's samples hold their inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// One input per sample.
    One,
    /// Two inputs per sample, stacked on dimension 1 (anchor, then positive or negative), as
    /// TwoStreamMetricLoss trains on.
    Two,
}

/// A split's embeddings (rows on the data device) and integer labels (`rows x levels`).
#[derive(Debug)]
pub struct SplitEmbeddings {
    /// The embeddings of each sample (of the first stream for two-stream data).
    pub embeddings: Tensor,
    /// The second stream's embeddings, for two-stream data.
    pub second_stream: Option<Tensor>,
    /// `rows x levels` int64 labels, on the embeddings' device.
    pub labels: Tensor,
}

impl SplitEmbeddings {
    /// The number of label levels.
    pub fn levels(&self) -> usize {
        self.labels.size().get(1).copied().unwrap_or(0) as usize
    }

    /// One level's labels, 1-D.
    pub fn level(&self, level: usize) -> Result<Tensor> {
        Ok(self.labels.f_select(1, level as i64)?)
    }

    /// L2-normalises every stream's rows (PML normalises each stream separately).
    pub(crate) fn normalize(&mut self) -> Result<()> {
        self.embeddings = normalize_rows(&self.embeddings)?;
        if let Some(second) = &self.second_stream {
            self.second_stream = Some(normalize_rows(second)?);
        }
        Ok(())
    }
}

/// Rows divided by their L2 norm (at least 1e-12), as `F.normalize`.
fn normalize_rows(x: &Tensor) -> Result<Tensor> {
    let norms = x.f_square()?.f_sum_dim_intlist([1i64].as_slice(), true, x.kind())?.f_sqrt()?.f_clamp_min(1e-12)?;
    Ok(x.f_div(&norms)?)
}

/// Standard-scales and projects every split onto `dims` principal components fitted on all the
/// splits together (PML fits each split on its own, which puts a query and its references in
/// different bases).
pub(crate) fn apply_pca(embedded: &mut HashMap<String, SplitEmbeddings>, dims: i64) -> Result<()> {
    let mut names: Vec<String> = embedded.keys().cloned().collect();
    names.sort();
    let mut all: Vec<&Tensor> = Vec::new();
    for name in &names {
        let split = &embedded[name];
        all.push(&split.embeddings);
        all.extend(split.second_stream.as_ref());
    }
    let pca = Pca::fit(&Tensor::f_cat(&all, 0)?, dims, true)?;
    for split in embedded.values_mut() {
        split.embeddings = pca.transform(&split.embeddings)?;
        if let Some(second) = &split.second_stream {
            split.second_stream = Some(pca.transform(second)?);
        }
    }
    Ok(())
}

/// A 2-D PCA plot of each split's embeddings, coloured by their first label level, as
/// `<folder>/<split>_epoch<epoch>.png`.
pub(crate) fn save_plots(embedded: &HashMap<String, SplitEmbeddings>, folder: &Path, epoch: usize, tester: &str) -> Result<()> {
    for (name, split) in embedded {
        let labels = Vec::<i64>::try_from(&split.level(0)?.f_to_device(Device::Cpu)?)?;
        let path = folder.join(format!("{name}_epoch{epoch}.png"));
        save_embedding_plot(&split.embeddings, &labels, &path, &format!("{name}, epoch {epoch} ({tester})"))?;
    }
    Ok(())
}

/// Embeds every sample of `dataset`, `batch_size` at a time, in order.
pub(crate) fn embed_split(
    model: &mut impl EmbeddingModel,
    dataset: &dyn Dataset,
    batch_size: usize,
    device: Device,
    dtype: Option<Kind>,
    trunk_output: bool,
    streams: Streams,
) -> Result<SplitEmbeddings> {
    let n = dataset.len();
    if n == 0 {
        return Err(Error::data("the split is empty: expected at least one sample"));
    }
    let batch_size = batch_size.max(1);
    let (mut first, mut second, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for start in (0..n).step_by(batch_size) {
        let indices: Vec<usize> = (start..(start + batch_size).min(n)).collect();
        let batch = dataset.get_batch(&indices)?;
        let mut data = batch.data.f_to_device(device)?;
        if let Some(kind) = dtype {
            data = data.f_to_kind(kind)?;
        }
        match streams {
            Streams::One => first.push(model.embed_batch(&data, trunk_output)?),
            Streams::Two => {
                let size = data.size();
                if size.len() < 2 || size[1] != 2 {
                    return Err(Error::mismatch(
                        "two-stream data",
                        "batches of shape (batch, 2, ...): each sample's two inputs stacked on dimension 1",
                        format!("shape {size:?}"),
                    ));
                }
                first.push(model.embed_batch(&data.f_select(1, 0)?, trunk_output)?);
                second.push(model.embed_batch(&data.f_select(1, 1)?, trunk_output)?);
            }
        }
        labels.push(batch.labels);
    }
    let labels = integer_labels(Labels::concat(labels)?, n)?;
    let embeddings = Tensor::f_cat(&first, 0)?.f_to_device(device)?;
    let second_stream = if second.is_empty() { None } else { Some(Tensor::f_cat(&second, 0)?.f_to_device(device)?) };
    Ok(SplitEmbeddings { embeddings, second_stream, labels: labels.f_to_device(device)? })
}

/// The labels as a `rows x levels` int64 tensor.
fn integer_labels(labels: Labels, rows: usize) -> Result<Tensor> {
    match labels {
        Labels::Int { values, levels } if values.len() == rows * levels => {
            Ok(Tensor::from_slice(&values).f_reshape([rows as i64, levels as i64])?)
        }
        Labels::Int { values, levels } => Err(Error::data(format!(
            "expected {rows} rows of labels for {rows} samples, found {} values of {levels} level(s)",
            values.len()
        ))),
        Labels::Text { .. } => Err(Error::data(
            "testers need integer labels, found class names: map them to integers first (as `set_min_label_to_zero` does for training)",
        )),
    }
}
