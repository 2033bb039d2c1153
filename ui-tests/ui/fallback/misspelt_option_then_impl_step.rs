// One typo in the declaration is one error: the stand-in items keep the `impl Step` and the
// builder calls below compiling.
use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;

fn data() -> InMemoryDataset {
    InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap()
}

#[trainer]
pub struct Typo {
    #[model]
    trunk: Model,
    #[loss(weigth = 0.3)]
    metric_loss: Box<dyn MetricLoss>,
}

impl Step for Typo {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.trunk.forward(data)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let loss = &mut self.metric_loss;
        it.compute(TypoLoss::MetricLoss, || loss.compute(&embeddings, labels, None))
    }
}

fn main() {
    let _trainer = Typo::builder()
        .trunk(Model::identity())
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Adam::new(1e-3))
        .loss_weight(TypoLoss::MetricLoss, 0.5)
        .dataset(data())
        .batch_size(4)
        .build();
}
