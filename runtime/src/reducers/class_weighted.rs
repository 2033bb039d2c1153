use super::{Reducer, Values};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The mean of the values, each weighted by the class of its anchor (of its sample for element
/// values, of the first element of a pair or triplet): `mean(values * weights[labels[anchor]])`
/// (PML's `ClassWeightedReducer`).
#[derive(Debug)]
pub struct ClassWeightedReducer {
    weights: Tensor,
}

impl Clone for ClassWeightedReducer {
    fn clone(&self) -> Self {
        ClassWeightedReducer { weights: self.weights.shallow_clone() }
    }
}

impl ClassWeightedReducer {
    /// One weight per class (a 1-D tensor, indexed by label).
    pub fn new(weights: &Tensor) -> ClassWeightedReducer {
        ClassWeightedReducer { weights: weights.detach().reshape([-1]) }
    }

    /// The weights, one per class.
    pub fn weights(&self) -> &Tensor {
        &self.weights
    }
}

impl Reducer for ClassWeightedReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        let anchors = part.anchors();
        if anchors.numel() != part.values.numel() {
            return Err(Error::data(format!(
                "ClassWeightedReducer: the sub-loss `{}` has {} values but {} indices",
                part.name,
                part.values.numel(),
                anchors.numel()
            )));
        }
        let (rows, classes) = (part.labels.size()[0], self.weights.size()[0]);
        // Checked on the host, in one sync: an index out of range on a GPU is a device assert,
        // not an error. The clamp keeps the gather in range until the check has spoken.
        let anchor_labels = part.labels.index_select(0, &anchors.clamp(0, (rows - 1).max(0)));
        let range = Vec::<i64>::try_from(Tensor::stack(&[anchors.max(), anchor_labels.min(), anchor_labels.max()], 0).to_kind(Kind::Int64))
            .unwrap_or_default();
        if let [max_anchor, min_label, max_label] = range[..] {
            if max_anchor >= rows {
                return Err(Error::data(format!(
                    "ClassWeightedReducer: the sub-loss `{}` has a value for row {max_anchor}, but there are {rows} labels",
                    part.name
                )));
            }
            if min_label < 0 || max_label >= classes {
                return Err(Error::data(format!(
                    "ClassWeightedReducer: {classes} class weights, so labels must lie in 0..{classes}; found {min_label}..={max_label}"
                )));
            }
        }
        let weights = self.weights.to_device(part.values.device()).to_kind(part.values.kind());
        let per_value = weights.index_select(0, &anchor_labels);
        Ok((part.values * per_value).mean(part.values.kind()))
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }
}
