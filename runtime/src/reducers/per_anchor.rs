use super::{LossIndices, MeanReducer, Reducer, Reduction, Values};
use crate::component::Record;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Pair values become one value per anchor, the mean of its pairs (0 for an anchor without
/// any), which an inner reducer then reduces over the batch; element values go to the inner
/// reducer as they are (PML's `PerAnchorReducer`, with its default aggregation; inner reducer
/// `MeanReducer` unless given). Triplet values are refused, as PML does.
#[derive(Debug, Clone)]
pub struct PerAnchorReducer {
    inner: Box<dyn Reducer>,
}

impl Default for PerAnchorReducer {
    fn default() -> Self {
        PerAnchorReducer::new()
    }
}

impl PerAnchorReducer {
    /// With `MeanReducer` over the anchors.
    pub fn new() -> PerAnchorReducer {
        PerAnchorReducer { inner: Box::new(MeanReducer) }
    }

    /// How the per-anchor values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.inner = Box::new(reducer);
        self
    }
}

impl Reducer for PerAnchorReducer {
    fn reduce_values(&mut self, part: &Values<'_>) -> Result<Tensor> {
        match part.reduction {
            Reduction::PosPair | Reduction::NegPair => {}
            Reduction::Triplet => {
                return Err(Error::data(format!("PerAnchorReducer: the sub-loss `{}` has triplet values; PML's reducer supports pairs and elements only", part.name)));
            }
            _ => return self.inner.reduce_values(part),
        }
        let (anchors, _) = part.indices.and_then(LossIndices::pairs).ok_or_else(|| {
            Error::data(format!("PerAnchorReducer: the sub-loss `{}` has pair values without their pairs", part.name))
        })?;
        let values = part.values;
        if anchors.numel() != values.numel() {
            return Err(Error::data(format!("PerAnchorReducer: the sub-loss `{}` has {} values but {} pairs", part.name, values.numel(), anchors.numel())));
        }
        let rows = part.embeddings.size()[0];
        // Sums and counts per anchor rather than PML's dense (batch x batch) array; the same
        // but for a pair listed twice, which PML counts once.
        let sums = Tensor::zeros([rows], (values.kind(), values.device())).index_add(0, &anchors, values);
        let counts = anchors.bincount::<Tensor>(None, rows).to_kind(values.kind());
        let has_pairs = counts.gt(0.0);
        let per_anchor = sums / counts.where_self(&has_pairs, &counts.ones_like());
        let per_anchor = per_anchor.where_self(&has_pairs, &per_anchor.zeros_like());
        let rows_in_order = LossIndices::Elements(Tensor::arange(rows, (Kind::Int64, values.device())));
        self.inner.reduce_values(&part.derived(&per_anchor, Reduction::Element, Some(&rows_in_order)))
    }

    fn clone_box(&self) -> Box<dyn Reducer> {
        Box::new(self.clone())
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn records(&self) -> Vec<Record> {
        self.inner.records()
    }
}
