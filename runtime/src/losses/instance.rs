use super::{LossInput, MetricLoss, Reference};
use crate::distances::{Common, CosineSimilarity, Distance};
use crate::indices::Tuples;
use crate::reducers::{reduce, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::Tensor;

/// Instance loss (Zheng et al., 2020): softmax cross-entropy over each sample's scaled cosine
/// similarities to the batch, the target being the column whose number is the sample's label
/// rank among the batch's distinct labels (PML's `InstanceLoss`, with its reading of labels as
/// column numbers; `MeanReducer`). Takes neither mined tuples nor reference embeddings, as PML.
#[derive(Debug)]
pub struct InstanceLoss {
    gamma: f64,
    distance: CosineSimilarity,
    reducer: Box<dyn Reducer>,
}

impl Default for InstanceLoss {
    fn default() -> Self {
        InstanceLoss::new()
    }
}

impl InstanceLoss {
    /// Scale 64, as PML.
    pub fn new() -> InstanceLoss {
        InstanceLoss { gamma: 64.0, distance: CosineSimilarity::new(), reducer: Box::new(MeanReducer) }
    }

    /// The scale of the similarities before the softmax.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// How the per-sample losses become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }
}

impl InstanceLoss {
    /// The per-sample cross-entropies, whose sum has the true gradient at two matrix products
    /// where autograd takes three. With `G` the cross-entropies' gradient to the logits `gamma
    /// N N^T` (softmax minus one-hot), the gradient to `N` is `gamma (G + G^T) N`: one product,
    /// where autograd's backward pass multiplies by each side of the logits in turn. Valid only
    /// under a reducer that weighs every value alike, where how the gradient is spread over the
    /// values does not matter.
    fn losses_with_closed_form_gradient(&self, normalized: &Tensor, ranks: &Tensor) -> Result<Tensor> {
        let fixed = normalized.detach();
        let logits = (&fixed * self.gamma).f_matmul(&fixed.transpose(0, 1))?;
        let log_probabilities = logits.f_log_softmax(1, None::<tch::Kind>)?;
        let targets = ranks.unsqueeze(1);
        let values = -log_probabilities.f_gather(1, &targets, false)?.squeeze_dim(1);
        let minus_one = Tensor::f_full([targets.size()[0], 1], -1.0, (log_probabilities.kind(), log_probabilities.device()))?;
        let to_logits = log_probabilities.exp().f_scatter_add_(1, &targets, &minus_one)?;
        // Transposed into a copy first: torch's blocked transposing copy and a contiguous sum
        // take a third of the time of a sum that reads one side across its rows.
        let symmetric = &to_logits + to_logits.transpose(0, 1).f_contiguous()?;
        let to_normalized = symmetric.f_matmul(&fixed)? * self.gamma;
        let carrier = (normalized * to_normalized).sum_dim_intlist(1i64, false, None::<tch::Kind>);
        Ok(values + (&carrier - carrier.detach()))
    }
}

impl Component for InstanceLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![Record { name: "gamma", value: self.gamma }];
        records.extend(self.distance.records());
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for InstanceLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::config("InstanceLoss takes no mined tuples (PML refuses them too): use it without a tuple miner"));
        }
        if reference.is_some() {
            return Err(Error::config("InstanceLoss takes no reference embeddings (PML refuses them too)"));
        }
        let input = LossInput::new("InstanceLoss", embeddings, labels, indices, None)?;
        let (_, ranks, _) = input.labels.f_internal_unique2(true, true, false)?;
        // The scale multiplies one side before the product (exactly so for PML's 64, a power of
        // two): a (batch x width) product instead of a (batch x batch) one, forward and backward.
        let normalized = Common::new().maybe_normalize(embeddings);
        let losses = if self.reducer.weighs_values_alike() {
            self.losses_with_closed_form_gradient(&normalized, &ranks)?
        } else {
            let logits = (&normalized * self.gamma).matmul(&normalized.transpose(0, 1));
            logits.f_cross_entropy_loss::<Tensor>(&ranks, None, tch::Reduction::None, -100, 0.0)?
        };
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", losses, Reduction::Element)], embeddings, &input.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reducers::MultipleReducers;
    use tch::{Device, Kind};

    fn loss_and_gradient(loss: &mut InstanceLoss, embeddings: &Tensor, labels: &Tensor) -> (f64, Tensor) {
        let embeddings = embeddings.detach().set_requires_grad(true);
        let value = loss.compute(&embeddings, labels, None).unwrap();
        value.backward();
        (value.double_value(&[]), embeddings.grad())
    }

    #[test]
    fn the_closed_form_gradient_is_autograds() {
        // The mean inside MultipleReducers (which does not say it weighs values alike) takes
        // autograd's path. Labels out of order and repeated rows, so that the ranks are not
        // the rows' numbers and the logits have ties.
        tch::manual_seed(3);
        let embeddings = Tensor::randn([48, 12], (Kind::Double, Device::Cpu));
        embeddings.narrow(0, 0, 4).copy_(&embeddings.narrow(0, 4, 4));
        let labels = Tensor::arange(48, (Kind::Int64, Device::Cpu)).remainder(7) * 3;
        for gamma in [64.0, 3.0] {
            let (closed, closed_gradient) = loss_and_gradient(&mut InstanceLoss::new().gamma(gamma), &embeddings, &labels);
            let autograd = MultipleReducers::new().default_reducer(MeanReducer);
            let (reference, reference_gradient) = loss_and_gradient(&mut InstanceLoss::new().gamma(gamma).reducer(autograd), &embeddings, &labels);
            assert!(closed > 0.0 && (closed - reference).abs() <= 1e-12 * reference, "gamma {gamma}: {closed} against {reference}");
            let difference = (&closed_gradient - &reference_gradient).abs().max().double_value(&[]);
            assert!(difference <= 1e-9 * reference_gradient.abs().max().double_value(&[]), "gamma {gamma}: gradients differ by {difference}");
        }
    }
}
