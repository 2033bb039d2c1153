use metric_learning::prelude::*;

#[trainer]
pub struct Confused {
    #[model]
    trunk: Model,
    #[model(optional)]
    tuple_miner: Option<Model>,
}

fn main() {}
