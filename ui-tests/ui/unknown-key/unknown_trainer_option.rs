use metric_learning::prelude::*;

#[trainer(embedings = trunk)]
pub struct Unknown {
    #[model]
    trunk: Model,
}

fn main() {}
