use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;

fn data() -> InMemoryDataset {
    InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap()
}

// Neither a pipeline (`#[trainer(embeddings = ...)]`) nor an `impl Step`: nothing to train with.
#[trainer]
pub struct Stepless {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
}

fn main() {
    let _trainer = Stepless::builder()
        .trunk(Model::identity())
        .metric_loss(TripletMarginLoss::new())
        .dataset(data())
        .batch_size(4)
        .build();
}
