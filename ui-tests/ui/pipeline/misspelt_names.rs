use metric_learning::prelude::*;

// Every name a pipeline declaration uses is checked, with "did you mean".
#[trainer(embeddings = trunk -> embeder)]
pub struct Misspelt {
    #[model]
    trunk: Model,
    #[model(optional = Model::identity())]
    embedder: Model,
    #[model]
    classifier: Model,
    #[loss(on = embeddings, miner = tuple_minr)]
    metric_loss: Box<dyn MetricLoss>,
    #[loss(on = clasifier)]
    classifier_loss: Box<dyn ClassifierLoss>,
    #[miner(optional)]
    tuple_miner: Option<Box<dyn TupleMiner>>,
}

fn main() {}
