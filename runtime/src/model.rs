//! A model key's value: a module with its own parameter store and train/eval mode.

use crate::trainer::Component;
use tch::nn::{self, ModuleT, VarStore};
use tch::{Device, Tensor};

/// A network and the [`VarStore`] that owns its parameters. Each model key has its own store,
/// so that it can be frozen, optimised and scheduled on its own (PML's per-key optimizers).
pub struct Model {
    vs: Option<VarStore>,
    module: Box<dyn ModuleT + Send>,
    training: bool,
}

impl Model {
    /// Wraps a module built on `vs`'s root.
    pub fn new(vs: VarStore, module: impl ModuleT + 'static) -> Model {
        Model { vs: Some(vs), module: Box::new(module), training: true }
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
    /// assert!(Model::identity().forward(&x).equal(&x));
    /// assert!(Model::identity().var_store().is_none());
    /// ```
    pub fn identity() -> Model {
        Model { vs: None, module: Box::new(nn::func_t(|x, _| x.shallow_clone())), training: true }
    }

    /// Runs the module in the mode the engine set (train, or eval when frozen or testing).
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        self.module.forward_t(xs, self.training)
    }

    /// Runs the module like [`Model::forward`], but turns libtorch's refusal of the input (a
    /// shape that does not fit, which tch reports by panicking) into an error naming `what`.
    ///
    /// # Errors
    /// When the module cannot process `xs`.
    pub fn try_forward(&self, xs: &Tensor, what: &str) -> crate::Result<Tensor> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.forward(xs))).map_err(|panic| {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let first_line = reason.lines().next().unwrap_or("").to_string();
            crate::Error::Data(format!("{what} cannot process input of shape {:?}: {first_line}", xs.size()))
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
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parameters = self.vs.as_ref().map_or(0, |vs| vs.trainable_variables().iter().map(Tensor::numel).sum());
        f.debug_struct("Model").field("parameters", &parameters).field("training", &self.training).finish()
    }
}
