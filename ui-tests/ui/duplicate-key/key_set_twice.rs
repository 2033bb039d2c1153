use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;

fn data() -> InMemoryDataset {
    InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap()
}

fn main() {
    let _trainer = MetricLossOnly::builder()
        .trunk(Model::identity())
        .metric_loss(TripletMarginLoss::new())
        .trunk(Model::identity())
        .dataset(data())
        .batch_size(4)
        .build();
}
