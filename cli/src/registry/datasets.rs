//! Datasets by name.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::data::{FashionMnist, InMemoryDataset, Split};
use metric_learning::prelude::*;

pub static DATASETS: Family<InMemoryDataset> = Family {
    word: "dataset",
    modules: &[Module {
        name: "FashionMNIST",
        params: FASHION_MNIST,
        make: |p, _| {
            let split = match p.text("split") {
                "train" => Split::Train,
                "test" => Split::Test,
                other => return Err(Error::mismatch("FashionMNIST's split", "\"train\" or \"test\"", format!("{other:?}"))),
            };
            let all = FashionMnist::load(split)?;
            Ok(match p.int("take") {
                Some(n) if n > 0 => all.take(n as usize),
                Some(n) => return Err(Error::mismatch("FashionMNIST's take", "a positive number of samples", n.to_string())),
                None => all,
            })
        },
    }],
};

const FASHION_MNIST: &[Param] = &[param("split", Kind::Text, Default::Text("train")), param("take", Kind::Int, Default::Absent)];
