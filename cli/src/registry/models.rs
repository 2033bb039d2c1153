//! Built-in models: PML's `MLP` (linear layers with ReLU between them), a small convolutional
//! network, tch's ResNet-18/34/50 (randomly initialised, without their final layer), a
//! TorchScript file from Python, and the identity.

use super::{param, Default, Family, Kind, Module, Param, Params};
use metric_learning::prelude::*;
use metric_learning::tch::{nn::ModuleT, vision::resnet, TrainableCModule};
use std::path::Path;
use std::sync::Mutex;

pub static MODELS: Family<Model> = Family {
    word: "model",
    common: &[],
    finish: super::unchanged,
    modules: &[
        Module { name: "MLP", params: MLP, make: |p, _| mlp(&p.int_list("layer_sizes"), p.bool("final_relu")) },
        Module { name: "ConvNet", params: CONV_NET, make: |p, _| conv_net(p.count("ConvNet", "in_channels", 1)? as i64, p.count("ConvNet", "output_size", 1)? as i64) },
        Module { name: "ResNet18", params: &[], make: |_, _| Ok(Model::build(Device::cuda_if_available(), |p| resnet::resnet18_no_final_layer(p))) },
        Module { name: "ResNet34", params: &[], make: |_, _| Ok(Model::build(Device::cuda_if_available(), |p| resnet::resnet34_no_final_layer(p))) },
        Module { name: "ResNet50", params: &[], make: |_, _| Ok(Model::build(Device::cuda_if_available(), |p| resnet::resnet50_no_final_layer(p))) },
        Module { name: "TorchScript", params: TORCH_SCRIPT, make: |p, _| torch_script(p) },
        Module { name: "Identity", params: &[], make: |_, _| Ok(Model::identity()) },
    ],
};

const MLP: &[Param] = &[param("layer_sizes", Kind::IntList, Default::Required), param("final_relu", Kind::Bool, Default::Bool(false))];
const CONV_NET: &[Param] = &[param("in_channels", Kind::Int, Default::Int(1)), param("output_size", Kind::Int, Default::Int(128))];
const TORCH_SCRIPT: &[Param] = &[param("path", Kind::Text, Default::Required)];

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

/// Three stride-2 3x3 convolutions (32, 64, 128 channels) with batch norm and ReLU, global
/// average pooling and a linear layer: the trunk of the image examples. Flat rows of a square
/// number of grey pixels (Fashion-MNIST's 784) are seen as square images.
fn conv_net(channels: i64, width: i64) -> metric_learning::Result<Model> {
    Ok(Model::build(Device::cuda_if_available(), move |p| {
        let conv = |name: &str, from, to| nn::conv2d(p / name, from, to, 3, nn::ConvConfig { stride: 2, padding: 1, ..std::default::Default::default() });
        let norm = |name: &str, width| nn::batch_norm2d(p / name, width, std::default::Default::default());
        nn::seq_t()
            .add_fn(move |x| match x.size()[..] {
                [n, pixels] if channels == 1 => {
                    let side = (pixels as f64).sqrt().round() as i64;
                    x.reshape([n, 1, side, side])
                }
                _ => x.shallow_clone(),
            })
            .add(conv("conv1", channels, 32))
            .add(norm("bn1", 32))
            .add_fn(|x| x.relu())
            .add(conv("conv2", 32, 64))
            .add(norm("bn2", 64))
            .add_fn(|x| x.relu())
            .add(conv("conv3", 64, 128))
            .add(norm("bn3", 128))
            .add_fn(|x| x.relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1))
            .add(nn::linear(p / "fc", 128, width, std::default::Default::default()))
    }))
}

/// A TorchScript module saved from Python (`torch.jit.script(model).save(path)`), its
/// parameters trained here, in the engine's train or eval mode.
fn torch_script(p: &Params) -> metric_learning::Result<Model> {
    let path = p.text("path");
    if !Path::new(path).is_file() {
        return Err(Error::File { path: path.into(), reason: "TorchScript's path does not exist".into() });
    }
    let vs = nn::VarStore::new(Device::cuda_if_available());
    let module = TrainableCModule::load(path, vs.root()).map_err(|e| Error::File { path: path.into(), reason: format!("not a TorchScript module: {e}") })?;
    Ok(Model::new(vs, Script(Mutex::new((module, None)))))
}

/// A TorchScript module as a tch module, with the mode it was last switched to: tch's
/// `forward_t` passes the mode by reference, and the module switches it by `&mut` (dropout and
/// batch norm inside the script follow it). Its errors become the model's (the engine runs every
/// forward under a guard that turns libtorch's failures into `Error::Model`).
#[derive(Debug)]
struct Script(Mutex<(TrainableCModule, Option<bool>)>);

impl ModuleT for Script {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut guard = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (module, mode) = &mut *guard;
        if *mode != Some(train) {
            let switched = if train { module.f_set_train() } else { module.f_set_eval() };
            if let Err(error) = switched {
                panic!("{error}");
            }
            *mode = Some(train);
        }
        match module.forward_ts(&[xs]) {
            Ok(out) => out,
            Err(error) => panic!("{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metric_learning::component::Component;

    /// The fixture's dropout draws anew in train mode and is off in eval mode.
    #[test]
    fn a_torchscript_model_follows_the_engines_mode() {
        let mut params = Params::default();
        params.set("path", super::super::Value::Text(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trunk.pt").to_string()));
        let mut model = torch_script(&params).unwrap();
        assert!(model.var_store().is_some_and(|vs| vs.trainable_variables().len() == 4), "its parameters are in its store");
        let x = Tensor::ones([4, 784], (metric_learning::tch::Kind::Float, Device::Cpu));
        model.set_training(true);
        let (a, b) = (model.forward(&x).unwrap(), model.forward(&x).unwrap());
        assert!(!a.allclose(&b, 1e-6, 1e-6, false), "train mode: dropout draws each call");
        model.set_training(false);
        let (c, d) = (model.forward(&x).unwrap(), model.forward(&x).unwrap());
        assert!(c.equal(&d), "eval mode: no dropout");
        let bad = model.forward(&Tensor::ones([4, 10], (metric_learning::tch::Kind::Float, Device::Cpu)));
        assert!(bad.is_err(), "input of the wrong width is an error, not a panic");
    }
}
