use metric_learning::prelude::*;

#[trainer]
pub enum NotAStruct {
    Trunk,
}

#[trainer(crates = metric_learning)]
pub struct WrongOption {
    #[model]
    trunk: Model,
}

fn main() {}
