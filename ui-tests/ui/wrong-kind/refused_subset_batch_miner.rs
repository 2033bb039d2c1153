use metric_learning::prelude::*;
use metric_learning::Iteration;

/// Declares a tuple miner but no subset-batch miner, as TwoStreamMetricLoss does.
#[trainer]
pub struct PairsOnly {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[miner(optional)]
    tuple_miner: Option<Box<dyn TupleMiner>>,
}

impl Step for PairsOnly {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.trunk.forward(data)
    }
    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        let embeddings = self.embed(data)?;
        let loss = &mut self.metric_loss;
        it.compute(PairsOnlyLoss::MetricLoss, || loss.compute(&embeddings, labels, None))
    }
}

fn main() {
    let _builder = PairsOnly::builder()
        .trunk(Model::identity())
        .metric_loss(TripletMarginLoss::new())
        .subset_batch_miner(MaximumLossMiner::new(TripletMarginLoss::new(), 32));
}
