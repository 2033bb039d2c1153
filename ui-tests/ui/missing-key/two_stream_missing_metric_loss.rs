use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;
use metric_learning::trainers::TwoStreamMetricLoss;

fn data() -> InMemoryDataset {
    InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap()
}

fn main() {
    let _trainer = TwoStreamMetricLoss::builder().trunk(Model::identity()).dataset(data()).batch_size(4).build();
}
