use super::{distance_and_reducer, LossInput, MetricLoss, Reference};
use crate::distances::{gather_pairs, margin, Distance, LpDistance};
use crate::indices::Tuples;
use crate::reducers::{reduce, AvgNonZeroReducer, LossIndices, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::Result;
use tch::{Kind, Tensor};

/// Pulls positive pairs within `pos_margin` and pushes negative pairs beyond `neg_margin`
/// (PML's `ContrastiveLoss`; defaults `LpDistance()` and `AvgNonZeroReducer` per part).
#[derive(Debug)]
pub struct ContrastiveLoss {
    pos_margin: f64,
    neg_margin: f64,
    distance: Box<dyn Distance>,
    reducer: Box<dyn Reducer>,
}

impl Default for ContrastiveLoss {
    fn default() -> Self {
        ContrastiveLoss::new()
    }
}

impl ContrastiveLoss {
    /// PML's defaults: `pos_margin` 0, `neg_margin` 1.
    pub fn new() -> ContrastiveLoss {
        ContrastiveLoss { pos_margin: 0.0, neg_margin: 1.0, distance: Box::new(LpDistance::new()), reducer: Box::new(AvgNonZeroReducer::avg_non_zero()) }
    }
    /// Positive pairs closer than this cost nothing.
    pub fn pos_margin(mut self, pos_margin: f64) -> Self {
        self.pos_margin = pos_margin;
        self
    }
    /// Negative pairs further than this cost nothing.
    pub fn neg_margin(mut self, neg_margin: f64) -> Self {
        self.neg_margin = neg_margin;
        self
    }
}

distance_and_reducer!(ContrastiveLoss);

impl Component for ContrastiveLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "pos_margin", value: self.pos_margin }, Record { name: "neg_margin", value: self.neg_margin }];
        records.extend(self.common_records());
        records
    }
}

impl MetricLoss for ContrastiveLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        let mut input = LossInput::deferred("ContrastiveLoss", embeddings, labels, indices, reference)?;
        let Some((positive, negative)) = input.pair_masks(indices) else {
            input.read(&[])?;
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("pos_loss"), SubLoss::zero("neg_loss")], embeddings, &input.labels);
        };
        let matrix = self.distance.matrix(embeddings, input.ref_embeddings);
        let distance = self.distance.as_ref();
        let (pos_margin, neg_margin) = (Tensor::from(self.pos_margin), Tensor::from(self.neg_margin));
        let pos_loss = |d: &Tensor| margin(distance, d, &pos_margin).relu();
        let neg_loss = |d: &Tensor| margin(distance, &neg_margin, d).relu();
        let (pos, positive, neg, negative) = if self.reducer.ignores_zeros() {
            // Only the pairs with a positive loss reach the result, and they are usually few.
            let fixed = matrix.detach();
            let active_positive = positive.logical_and(&pos_loss(&fixed).gt(0.0));
            let active_negative = negative.logical_and(&neg_loss(&fixed).gt(0.0));
            let counts = input.read(&[active_positive.sum(Kind::Int64), active_negative.sum(Kind::Int64)])?;
            let (pos, positive) = self.active_pair_losses(&input, &matrix, (positive, active_positive, counts[0]), pos_loss);
            let (neg, negative) = self.active_pair_losses(&input, &matrix, (negative, active_negative, counts[1]), neg_loss);
            (pos, positive, neg, negative)
        } else {
            input.read(&[])?;
            let (pos, positive) = pair_losses(&matrix, positive, pos_loss);
            let (neg, negative) = pair_losses(&matrix, negative, neg_loss);
            (pos, positive, neg, negative)
        };
        let parts = vec![
            SubLoss { name: "pos_loss", values: pos, reduction: Reduction::PosPair, indices: Some(positive), divisor: None },
            SubLoss { name: "neg_loss", values: neg, reduction: Reduction::NegPair, indices: Some(negative), divisor: None },
        ];
        reduce(self.reducer.as_mut(), parts, embeddings, &input.labels)
    }
}

/// `loss` of the distances of the pairs `mask` marks (row-major, as PML's `mat[a, p]`), and
/// which pairs they are.
fn pair_losses(matrix: &Tensor, mask: Tensor, loss: impl Fn(&Tensor) -> Tensor) -> (Option<Tensor>, LossIndices) {
    let distances = matrix.masked_select(&mask);
    ((distances.numel() > 0).then(|| loss(&distances)), LossIndices::PairMask(mask))
}

impl ContrastiveLoss {
    /// [`pair_losses`] for a reducer that ignores zeros, given the pairs `(mask, active, count)`:
    /// the pairs of `mask` whose loss is positive and how many. When they are few, their
    /// distances keep the matrix's values (PML's) with the gradient of each pair measured on
    /// its own, so that the backward pass skips the matrix's (its two matrix products, or the
    /// signal-to-noise distance's difference cube).
    fn active_pair_losses(&self, input: &LossInput<'_>, matrix: &Tensor, (mask, active, count): (Tensor, Tensor, i64), loss: impl Fn(&Tensor) -> Tensor) -> (Option<Tensor>, LossIndices) {
        if !self.distance.few_pairs(count, input.rows(), input.columns()) {
            return pair_losses(matrix, mask, loss);
        }
        if count == 0 {
            return (None, LossIndices::PairMask(active));
        }
        let pairs = active.nonzero_static(count, -1);
        let (rows, columns) = (pairs.select(1, 0), pairs.select(1, 1));
        let measured = self.distance.entries(input.embeddings, input.ref_embeddings, &rows, &columns);
        let distances = gather_pairs(&matrix.detach(), &rows, &columns) + (&measured - measured.detach());
        (Some(loss(&distances)), LossIndices::PairMask(active))
    }
}

/// The contrastive loss on the signal-to-noise-ratio distance (Yuan et al., 2019; PML's
/// `SignalToNoiseRatioContrastiveLoss`).
pub struct SignalToNoiseRatioContrastiveLoss;

impl SignalToNoiseRatioContrastiveLoss {
    /// `ContrastiveLoss` with `SnrDistance`; margins as `ContrastiveLoss`'s.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> ContrastiveLoss {
        ContrastiveLoss::new().distance(crate::distances::SnrDistance::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distances::{CosineSimilarity, SnrDistance};
    use crate::reducers::MultipleReducers;
    use tch::{Device, Kind};

    /// The loss and the embeddings' gradient.
    fn loss_and_gradient(loss: &mut ContrastiveLoss, embeddings: &Tensor, labels: &Tensor) -> (f64, Tensor) {
        let embeddings = embeddings.detach().set_requires_grad(true);
        let value = loss.compute(&embeddings, labels, None).unwrap();
        value.backward();
        (value.double_value(&[]), embeddings.grad())
    }

    /// The same threshold reducer inside MultipleReducers (which does not say it ignores
    /// zeros) takes every pair's value: both must agree.
    fn same_as_every_pair(distance: impl Distance + Clone + 'static, pos_margin: f64, neg_margin: f64, embeddings: &Tensor, labels: &Tensor) {
        let built = || ContrastiveLoss::new().pos_margin(pos_margin).neg_margin(neg_margin).distance(distance.clone());
        let (sparse, sparse_gradient) = loss_and_gradient(&mut built(), embeddings, labels);
        let every_pair = MultipleReducers::new().default_reducer(AvgNonZeroReducer::avg_non_zero());
        let (dense, dense_gradient) = loss_and_gradient(&mut built().reducer(every_pair), embeddings, labels);
        let name = std::any::type_name_of_val(&distance);
        assert!(sparse > 0.0 && (sparse - dense).abs() <= 1e-12 * dense.abs(), "{name}: {sparse} against {dense}");
        let difference = (&sparse_gradient - &dense_gradient).abs().max().double_value(&[]);
        assert!(difference <= 1e-9 * dense_gradient.abs().max().double_value(&[]), "{name}: gradients differ by {difference}");
    }

    #[test]
    fn the_few_pairs_with_a_loss_give_the_loss_and_gradient_of_every_pair() {
        // 256 samples of 128 classes: 256 positive pairs of 65,536, few enough to measure one
        // by one. Duplicated rows give zero distances.
        tch::manual_seed(5);
        let embeddings = Tensor::randn([256, 16], (Kind::Double, Device::Cpu));
        let _ = embeddings.narrow(0, 0, 8).copy_(&embeddings.narrow(0, 8, 8));
        let labels = Tensor::arange(256, (Kind::Int64, Device::Cpu)).remainder(128);
        same_as_every_pair(LpDistance::new(), 0.1, 1.2, &embeddings, &labels);
        same_as_every_pair(CosineSimilarity::new(), 0.9, 0.2, &embeddings, &labels);
        same_as_every_pair(SnrDistance::new(), 0.2, 1.2, &embeddings, &labels);
    }
}
