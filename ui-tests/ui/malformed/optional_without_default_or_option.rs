use metric_learning::prelude::*;

#[trainer]
pub struct NoDefault {
    #[model]
    trunk: Model,
    #[model(optional)]
    embedder: Model,
}

fn main() {}
