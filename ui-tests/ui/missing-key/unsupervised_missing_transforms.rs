use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;

use metric_learning::trainers::UnsupervisedEmbeddingsUsingAugmentations;

fn main() {
    let data = InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap();
    let _trainer = UnsupervisedEmbeddingsUsingAugmentations::builder()
        .trunk(Model::identity())
        .metric_loss(TripletMarginLoss::new())
        .dataset(data)
        .batch_size(4)
        .build();
}
