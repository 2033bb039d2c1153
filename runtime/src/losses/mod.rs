//! Losses: metric losses on embeddings and labels (optionally against reference embeddings, and
//! restricted to mined tuples), and classifier losses on logits. Each is a
//! [`Component`], so its records reach the hooks and, when it has
//! parameters, it can be optimised and frozen like a model.
//!
//! Pair losses follow PML's `GenericPairLoss`: tuples become pairs; with no tuples, all pairs.

mod angular;
mod circle;
mod contrastive;
mod cross_batch_memory;
mod cross_entropy;
mod dynamic_soft_margin;
mod fast_ap;
mod histogram;
mod input;
mod instance;
mod intra_pair_variance;
mod large_margin_softmax;
mod learned_weights;
mod lifted_structure;
mod manifold;
mod margin;
mod margin_softmax;
mod multi_similarity;
mod multiple_losses;
mod n_pairs;
mod nca;
mod normalized_softmax;
mod ntxent;
mod p2s_grad;
mod pnp;
mod proxy_anchor;
mod proxy_nca;
mod ranked_list;
mod self_supervised;
mod smooth_ap;
mod soft_triple;
mod subcenter_arcface;
mod supcon;
mod threshold_consistent_margin;
mod triplet_margin;
mod tuplet_margin;
mod vicreg;

pub use angular::AngularLoss;
pub use circle::CircleLoss;
pub use contrastive::{ContrastiveLoss, SignalToNoiseRatioContrastiveLoss};
pub use cross_batch_memory::CrossBatchMemory;
pub use cross_entropy::CrossEntropyLoss;
pub use dynamic_soft_margin::DynamicSoftMarginLoss;
pub use fast_ap::FastAPLoss;
pub use histogram::HistogramLoss;
pub use instance::InstanceLoss;
pub use intra_pair_variance::IntraPairVarianceLoss;
pub use large_margin_softmax::{LargeMarginSoftmaxLoss, SphereFaceLoss};
pub use lifted_structure::{GeneralizedLiftedStructureLoss, LiftedStructureLoss};
pub use manifold::ManifoldLoss;
pub use margin::MarginLoss;
pub use margin_softmax::{ArcFaceLoss, CosFaceLoss, MarginSoftmaxLoss};
pub use multi_similarity::MultiSimilarityLoss;
pub use multiple_losses::MultipleLosses;
pub use n_pairs::NPairsLoss;
pub use nca::NCALoss;
pub use normalized_softmax::NormalizedSoftmaxLoss;
pub use ntxent::NTXentLoss;
pub use p2s_grad::P2SGradLoss;
pub use pnp::{PNPLoss, PnpVariant};
pub use proxy_anchor::ProxyAnchorLoss;
pub use proxy_nca::ProxyNCALoss;
pub use ranked_list::RankedListLoss;
pub use self_supervised::SelfSupervisedLoss;
pub use smooth_ap::SmoothAPLoss;
pub use soft_triple::SoftTripleLoss;
pub use subcenter_arcface::{SubCenterArcFaceLoss, SubCenterOutliers};
pub use supcon::SupConLoss;
pub use threshold_consistent_margin::ThresholdConsistentMarginLoss;
pub use triplet_margin::{TripletMarginLoss, TripletsPerAnchor};
pub use tuplet_margin::TupletMarginLoss;
pub use vicreg::VICRegLoss;

pub(crate) use crate::distances::gather_pairs;
pub(crate) use input::{check_embeddings, neg_inf, small_val, LossInput};

use crate::indices::Tuples;
use crate::component::Component;
use crate::Result;
use tch::Tensor;

/// Reference embeddings and their labels: the loss compares queries against these instead of
/// against each other (PML's `ref_emb`, `ref_labels`).
#[derive(Clone, Copy, Debug)]
pub struct Reference<'a> {
    /// The reference embeddings.
    pub embeddings: &'a Tensor,
    /// Their labels.
    pub labels: &'a Tensor,
}

/// A loss on embeddings and their labels, optionally restricted to mined tuples.
pub trait MetricLoss: Component + Send {
    /// The loss of queries against `reference` (or against themselves when `None`); a scalar
    /// tensor that carries a gradient, a zero one when no tuple is valid.
    ///
    /// # Errors
    /// When embeddings and labels do not match in shape or length; the message names the loss.
    fn compute_with_reference(
        &mut self,
        embeddings: &Tensor,
        labels: &Tensor,
        indices: Option<&Tuples>,
        reference: Option<Reference<'_>>,
    ) -> Result<Tensor>;

    /// The loss of the embeddings against each other.
    ///
    /// # Errors
    /// As [`MetricLoss::compute_with_reference`].
    fn compute(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>) -> Result<Tensor> {
        self.compute_with_reference(embeddings, labels, indices, None)
    }

    /// The learned class weights or proxies as `(classes, width)` rows, for a weight
    /// regularizer ([`WithRegularizers::weight_regularizer`](crate::regularizers::WithRegularizers::weight_regularizer)); `None` for losses without them.
    fn class_weights(&self) -> Option<Tensor> {
        None
    }
}

/// A loss on classifier logits and labels.
pub trait ClassifierLoss: Component + Send {
    /// The loss, a scalar tensor.
    ///
    /// # Errors
    /// When logits and labels do not match.
    fn compute(&mut self, logits: &Tensor, labels: &Tensor) -> Result<Tensor>;
}

/// A boxed loss is a loss: a key of type `Box<dyn MetricLoss>` and one of a concrete type are
/// used the same way.
impl<L: MetricLoss + ?Sized> MetricLoss for Box<L> {
    fn compute_with_reference(
        &mut self,
        embeddings: &Tensor,
        labels: &Tensor,
        indices: Option<&Tuples>,
        reference: Option<Reference<'_>>,
    ) -> Result<Tensor> {
        (**self).compute_with_reference(embeddings, labels, indices, reference)
    }

    fn class_weights(&self) -> Option<Tensor> {
        (**self).class_weights()
    }
}

impl<L: ClassifierLoss + ?Sized> ClassifierLoss for Box<L> {
    fn compute(&mut self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        (**self).compute(logits, labels)
    }
}

/// `.distance(...)` and `.reducer(...)` for a loss struct with those two fields, and the
/// records every such loss adds: its distance's and its reducer's.
macro_rules! distance_and_reducer {
    ($ty:ty) => {
        impl $ty {
            /// The distance or similarity the loss compares embeddings with.
            pub fn distance(mut self, distance: impl $crate::distances::Distance + 'static) -> Self {
                self.distance = ::std::boxed::Box::new(distance);
                self
            }
            /// How the per-tuple values become one number.
            pub fn reducer(mut self, reducer: impl $crate::reducers::Reducer + 'static) -> Self {
                self.reducer = ::std::boxed::Box::new(reducer);
                self
            }
            fn common_records(&self) -> ::std::vec::Vec<$crate::component::Record> {
                let mut records = self.distance.records();
                records.extend(self.reducer.records());
                records
            }
        }
    };
}
pub(crate) use distance_and_reducer;
