use super::ClassifierLoss;
use crate::component::Component;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Softmax cross-entropy averaged over the batch (PyTorch's `CrossEntropyLoss()`), what PML's
/// trainers use as `classifier_loss`.
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyLoss;

impl CrossEntropyLoss {
    /// The mean-reduced cross-entropy.
    pub fn new() -> CrossEntropyLoss {
        CrossEntropyLoss
    }
}

impl Component for CrossEntropyLoss {}

impl ClassifierLoss for CrossEntropyLoss {
    fn compute(&mut self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let (l, y) = (logits.size(), labels.size());
        if l.len() != 2 || y.len() != 1 || l[0] != y[0] {
            return Err(Error::data(format!(
                "CrossEntropyLoss: expected logits (batch, classes) and labels (batch,), found {l:?} and {y:?}"
            )));
        }
        let labels = labels.to_device(logits.device()).to_kind(Kind::Int64);
        super::margin_softmax::check_classes("CrossEntropyLoss", &labels, l[1])?;
        Ok(logits.cross_entropy_for_logits(&labels))
    }
}
