use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The losses PML's `SelfSupervisedLoss` accepts that this crate has (`SignalToNoiseRatioContrastiveLoss`
/// is a `ContrastiveLoss` here).
const SUPPORTED: &[&str] = &[
    "CircleLoss",
    "ContrastiveLoss",
    "GeneralizedLiftedStructureLoss",
    "LiftedStructureLoss",
    "MultiSimilarityLoss",
    "NTXentLoss",
    "SupConLoss",
    "TripletMarginLoss",
    "NCALoss",
];

/// A pair or triplet loss without labels: row `i` of `embeddings` and row `i` of `ref_emb` (two
/// views of one sample) are a positive pair, every other row a negative (PML's
/// `SelfSupervisedLoss`). Symmetric (the default) puts both sets in one batch, each row's label
/// its position; otherwise `embeddings` are the queries and `ref_emb` their references.
pub struct SelfSupervisedLoss {
    loss: Box<dyn MetricLoss>,
    symmetric: bool,
}

impl std::fmt::Debug for SelfSupervisedLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSupervisedLoss").field("symmetric", &self.symmetric).finish_non_exhaustive()
    }
}

/// `TripletMarginLoss` for `metric_learning::losses::TripletMarginLoss`; `None` for a boxed
/// loss, whose concrete type is not known here.
pub(crate) fn concrete_name<L>() -> Option<&'static str> {
    let full = std::any::type_name::<L>();
    if full.starts_with("alloc::boxed::Box<") {
        return None;
    }
    Some(full.split('<').next().unwrap_or(full).rsplit("::").next().unwrap_or(full))
}

/// Refuses a loss PML's wrapper of that name refuses; a boxed loss passes unchecked.
pub(crate) fn check_supported<L>(wrapper: &str, supported: &[&str]) -> Result<()> {
    match concrete_name::<L>() {
        Some(name) if !supported.contains(&name) => {
            Err(Error::config(format!("{wrapper}: not supported for {name}; it wraps {}", supported.join(", "))))
        }
        _ => Ok(()),
    }
}

impl SelfSupervisedLoss {
    /// Wraps `loss`, symmetric.
    ///
    /// # Errors
    /// For a loss PML's wrapper does not support (one with learned class weights, `FastAPLoss`,
    /// `MarginLoss`); a boxed loss is not checked.
    pub fn new<L: MetricLoss + 'static>(loss: L) -> Result<SelfSupervisedLoss> {
        check_supported::<L>("SelfSupervisedLoss", SUPPORTED)?;
        Ok(SelfSupervisedLoss { loss: Box::new(loss), symmetric: true })
    }

    /// Whether both sets form one batch (true, the default) or `embeddings` are compared with
    /// `ref_emb` only.
    pub fn symmetric(mut self, symmetric: bool) -> Self {
        self.symmetric = symmetric;
        self
    }

    /// The wrapped loss.
    pub fn loss(&self) -> &dyn MetricLoss {
        self.loss.as_ref()
    }

    /// The loss of `embeddings` against `ref_emb`, rows paired by position.
    ///
    /// # Errors
    /// When the two are not 2-D of one shape, or the wrapped loss fails.
    pub fn compute(&mut self, embeddings: &Tensor, ref_emb: &Tensor) -> Result<Tensor> {
        let (e, r) = (embeddings.size(), ref_emb.size());
        if e.len() != 2 || e != r {
            return Err(Error::data(format!(
                "SelfSupervisedLoss: embeddings and ref_emb must be 2-D of one shape (row i of each a pair), found {e:?} and {r:?}"
            )));
        }
        let labels = Tensor::arange(e[0], (Kind::Int64, embeddings.device()));
        if self.symmetric {
            let both = Tensor::cat(&[embeddings, ref_emb], 0);
            return self.loss.compute(&both, &Tensor::cat(&[&labels, &labels], 0), None);
        }
        self.loss.compute_with_reference(embeddings, &labels, None, Some(Reference { embeddings: ref_emb, labels: &labels }))
    }
}

impl Component for SelfSupervisedLoss {
    fn var_store(&self) -> Option<&VarStore> {
        self.loss.var_store()
    }
    fn set_training(&mut self, training: bool) {
        self.loss.set_training(training)
    }
    fn records(&self) -> Vec<Record> {
        self.loss.records()
    }
    fn bind_key(&mut self, key: &str) {
        self.loss.bind_key(key)
    }
}
