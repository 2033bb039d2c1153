use super::{check_rows, with_reducer, Regularizer};
use crate::component::{Component, Record};
use crate::distances::{CosineSimilarity, Distance};
use crate::losses::neg_inf;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::Result;
use tch::Tensor;

/// Each class weight's cosine similarity to its most similar other class weight (Zhao et al.,
/// 2019; PML's `RegularFaceRegularizer`, a weight regularizer; `MeanReducer`): pushes the
/// classes apart. Which neighbour is chosen carries no gradient, as in PML.
#[derive(Debug)]
pub struct RegularFaceRegularizer {
    distance: CosineSimilarity,
    reducer: Box<dyn Reducer>,
}

impl Default for RegularFaceRegularizer {
    fn default() -> Self {
        RegularFaceRegularizer::new()
    }
}

impl RegularFaceRegularizer {
    /// Cosine similarity and `MeanReducer`, as PML.
    pub fn new() -> RegularFaceRegularizer {
        RegularFaceRegularizer { distance: CosineSimilarity::new(), reducer: Box::new(MeanReducer) }
    }
}

with_reducer!(RegularFaceRegularizer);

impl Component for RegularFaceRegularizer {
    fn records(&self) -> Vec<Record> {
        let mut records = self.distance.records();
        records.extend(self.reducer.records());
        records
    }
}

impl Regularizer for RegularFaceRegularizer {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        check_rows("RegularFaceRegularizer", rows)?;
        let cosines = self.distance.matrix(rows, rows);
        let nearest = tch::no_grad(|| {
            let mut others = cosines.detach().copy();
            let _ = others.fill_diagonal_(neg_inf(others.kind()), false);
            others.argmax(1, true)
        });
        let losses = cosines.gather(1, &nearest, false).squeeze_dim(1);
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], rows, &super::row_numbers(rows))
    }
}
