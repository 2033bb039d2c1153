use metric_learning::prelude::*;
use metric_learning::Iteration;

/// A trainer of the user's own, with a required hyper-parameter.
#[trainer]
pub struct Scaled {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[param]
    scale: f64,
}

impl Step for Scaled {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        Ok(self.trunk.forward(data)? * self.scale)
    }
    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let loss = &mut self.metric_loss;
        it.compute(ScaledLoss::MetricLoss, || loss.compute(&embeddings, labels, None))
    }
}

fn main() {
    let data = metric_learning::data::InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap();
    let _trainer = Scaled::builder().trunk(Model::identity()).metric_loss(TripletMarginLoss::new()).dataset(data).batch_size(4).build();
}
