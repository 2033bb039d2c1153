use metric_learning::prelude::*;

#[trainer]
pub struct Both {
    #[model]
    #[loss]
    trunk: Model,
}

fn main() {}
