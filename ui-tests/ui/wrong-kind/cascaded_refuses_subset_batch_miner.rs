use metric_learning::prelude::*;
use metric_learning::data::InMemoryDataset;
use metric_learning::trainers::CascadedEmbeddings;

fn data() -> InMemoryDataset {
    InMemoryDataset::new(Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), Labels::int([0, 0, 1, 1])).unwrap()
}

fn main() {
    let _builder = CascadedEmbeddings::builder()
        .trunk(Model::identity())
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new(), 32));
    let _ = data();
}
