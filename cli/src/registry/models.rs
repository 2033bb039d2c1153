//! Built-in models: PML's `MLP` (linear layers with ReLU between them) and the identity.

use super::{param, Default, Family, Kind, Module, Param};
use metric_learning::prelude::*;

pub static MODELS: Family<Model> = Family {
    word: "model",
    modules: &[
        Module { name: "MLP", params: MLP, make: |p, _| mlp(&p.int_list("layer_sizes"), p.bool("final_relu")) },
        Module { name: "Identity", params: &[], make: |_, _| Ok(Model::identity()) },
    ],
};

const MLP: &[Param] = &[param("layer_sizes", Kind::IntList, Default::Required), param("final_relu", Kind::Bool, Default::Bool(false))];

/// Linear layers of the given widths, ReLU between them (and after the last with `final_relu`).
fn mlp(sizes: &[i64], final_relu: bool) -> metric_learning::Result<Model> {
    if sizes.len() < 2 || sizes.iter().any(|&s| s <= 0) {
        return Err(Error::mismatch("MLP's layer_sizes", "at least two positive widths (input, output)", format!("{sizes:?}")));
    }
    let sizes = sizes.to_vec();
    Ok(Model::build(Device::cuda_if_available(), move |p| {
        let mut layers = nn::seq_t();
        for (i, pair) in sizes.windows(2).enumerate() {
            layers = layers.add(nn::linear(p / format!("fc{i}"), pair[0], pair[1], nn::LinearConfig::default()));
            if i + 2 < sizes.len() || final_relu {
                layers = layers.add_fn(|x| x.relu());
            }
        }
        layers
    }))
}
