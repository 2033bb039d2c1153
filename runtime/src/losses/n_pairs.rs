use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{Distance, DotProductSimilarity};
use crate::indices::Tuples;
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// N-pair loss (Sohn, 2016): one positive pair per label, and for each pair the cross-entropy of
/// its anchor's similarities to every pair's positive, its own being the target (PML's
/// `NPairsLoss`; `DotProductSimilarity()` of normalised embeddings, `MeanReducer` over the
/// anchors).
///
/// The pair kept for a label is, as PML keeps it, the first positive pair of the tuples (or,
/// without tuples, of all pairs in row-major order) whose anchor has that label. Reference
/// embeddings are an error, as in PML.
#[derive(Debug)]
pub struct NPairsLoss {
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
    num_pairs: i64,
}

impl Default for NPairsLoss {
    fn default() -> Self {
        NPairsLoss::new()
    }
}

impl NPairsLoss {
    /// PML's defaults; the loss has no hyper-parameters.
    pub fn new() -> NPairsLoss {
        NPairsLoss { distance: Box::new(DotProductSimilarity::new()), reducer: Box::new(MeanReducer), num_pairs: 0 }
    }
}

distance_and_reducer!(NPairsLoss);

impl Component for NPairsLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "num_pairs", value: self.num_pairs as f64 }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for NPairsLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if reference.is_some() {
            return Err(Error::data("NPairsLoss: reference embeddings are not supported (as in PML)"));
        }
        let input = LossInput::new("NPairsLoss", embeddings, labels, indices, None)?;
        self.num_pairs = 0;
        let (a1, p, _, _) = input.pairs(indices);
        if a1.numel() == 0 {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        let (anchor_index, positive_index) = first_pair_per_label(&input.labels, &a1, &p);
        self.num_pairs = anchor_index.numel() as i64;
        let anchors = embeddings.index_select(0, &anchor_index);
        let positives = embeddings.index_select(0, &positive_index);
        let mut logits = self.distance.matrix(&anchors, &positives);
        if !self.distance.is_inverted() {
            logits = -logits;
        }
        // Pair i's target is its own positive, column i.
        let losses = -logits.log_softmax(1, None::<Kind>).diagonal(0, 0, 1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element).indices(LossIndices::Elements(anchor_index))], embeddings, &input.labels)
    }
}

/// Per label among the anchors, in ascending label order, the first positive pair whose
/// anchor has it (PML's `convert_to_pos_pairs_with_unique_labels`, which takes numpy's
/// `unique(..., return_index=True)`: the first occurrence). A stable sort keeps each label's
/// pairs in their order, so each run of a label starts with its first pair.
fn first_pair_per_label(labels: &Tensor, a1: &Tensor, p: &Tensor) -> (Tensor, Tensor) {
    let (sorted, order) = labels.index_select(0, a1).sort_stable(true, 0, false);
    let count = sorted.size()[0];
    let starts_run = Tensor::cat(&[Tensor::ones([1], (Kind::Bool, sorted.device())), sorted.slice(0, 1, count, 1).ne_tensor(&sorted.slice(0, 0, count - 1, 1))], 0);
    let first = order.masked_select(&starts_run);
    (a1.index_select(0, &first), p.index_select(0, &first))
}
