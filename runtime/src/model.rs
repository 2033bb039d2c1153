//! A model key's value: a module with its own parameter store and train/eval mode.

use crate::component::Component;
use crate::{Error, Result};
use tch::nn::{self, ModuleT, VarStore};
use tch::{Device, Tensor};

/// A network and the [`VarStore`] that owns its parameters. Each model key has its own store,
/// so that it can be frozen, optimised and scheduled on its own (PML's per-key optimizers).
pub struct Model {
    vs: Option<VarStore>,
    module: Box<dyn ModuleT + Send>,
    training: bool,
    /// The key holding it, for errors; set by `build()`.
    key: Option<String>,
}

impl Model {
    /// Wraps a module built on `vs`'s root.
    pub fn new(vs: VarStore, module: impl ModuleT + 'static) -> Model {
        Model { vs: Some(vs), module: Box::new(module), training: true, key: None }
    }

    /// Creates a store on `device` and builds the module on it.
    ///
    /// ```no_run
    /// use metric_learning::Model;
    /// use metric_learning::tch::{nn, Device};
    /// let trunk = Model::build(Device::Cpu, |p| {
    ///     nn::seq_t().add(nn::linear(p / "fc1", 784, 256, Default::default())).add_fn(|x| x.relu())
    /// });
    /// ```
    pub fn build<M: ModuleT + Send + 'static>(device: Device, build: impl FnOnce(&nn::Path) -> M) -> Model {
        let vs = VarStore::new(device);
        let module = build(&vs.root());
        Model::new(vs, module)
    }

    /// The identity: PML's default embedder. It has no parameters.
    ///
    /// ```
    /// use metric_learning::Model;
    /// use metric_learning::tch::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0]);
    /// assert!(Model::identity().forward(&x).unwrap().equal(&x));
    /// assert!(Model::identity().var_store().is_none());
    /// ```
    pub fn identity() -> Model {
        Model { vs: None, module: Box::new(nn::func_t(|x, _| x.shallow_clone())), training: true, key: None }
    }

    /// Runs the module in the mode the engine set (train, or eval when frozen or testing).
    ///
    /// ```
    /// use metric_learning::Model;
    /// use metric_learning::tch::{nn, Device, Kind, Tensor};
    /// let model = Model::build(Device::Cpu, |p| nn::linear(p / "fc", 4, 2, Default::default()));
    /// assert_eq!(model.forward(&Tensor::zeros([3, 4], (Kind::Float, Device::Cpu)))?.size(), [3, 2]);
    /// // Data of the wrong width is an error, not a panic.
    /// assert!(model.forward(&Tensor::zeros([3, 5], (Kind::Float, Device::Cpu))).is_err());
    /// # Ok::<(), metric_learning::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Model`] when libtorch refuses the input (a width, dtype or device that does not
    /// fit the module), with the model's key and libtorch's message.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        crate::guard::catch(|| self.module.forward_t(xs, self.training)).map_err(|message| Error::Model {
            key: self.key.clone().unwrap_or_else(|| "model".to_string()),
            shape: xs.size(),
            message,
        })
    }

    /// Whether the model is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The parameter store, if the model has parameters.
    pub fn var_store(&self) -> Option<&VarStore> {
        self.vs.as_ref()
    }

    /// The parameter store, mutably (to load weights or change device).
    pub fn var_store_mut(&mut self) -> Option<&mut VarStore> {
        self.vs.as_mut()
    }
}

impl Component for Model {
    fn var_store(&self) -> Option<&VarStore> {
        self.vs.as_ref()
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn bind_key(&mut self, key: &str) {
        self.key = Some(key.to_string());
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parameters = self.vs.as_ref().map_or(0, |vs| vs.trainable_variables().iter().map(Tensor::numel).sum());
        f.debug_struct("Model").field("parameters", &parameters).field("training", &self.training).finish()
    }
}
