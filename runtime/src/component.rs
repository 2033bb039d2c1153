//! What every key's value is to the engine, and what modules record. A leaf: it imports nothing
//! of this crate, so that models, losses, miners and the engine can all depend on it.

use tch::nn::VarStore;
use tch::Tensor;

/// One recorded value: a hyper-parameter or a statistic of a loss or miner (PML's `record_these`).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// `margin`, `num_pos_pairs`, ...
    pub name: &'static str,
    /// Its value after the last call.
    pub value: f64,
}

/// What every key's value is to the engine: maybe parameters, a train/eval mode, and records.
pub trait Component {
    /// The parameters, when the key has any (models; losses with learnable weights).
    fn var_store(&self) -> Option<&VarStore> {
        None
    }
    /// Switches dropout and batch-norm behaviour; a no-op for keys without such layers.
    fn set_training(&mut self, _training: bool) {}
    /// Hyper-parameters and statistics from the last call.
    fn records(&self) -> Vec<Record> {
        Vec::new()
    }
    /// Tells the value which key holds it, so that its errors can name the key (`build()` calls
    /// it for every model).
    fn bind_key(&mut self, _key: &str) {}
    /// The value itself, for callers that need its concrete type (a tester running the trunk
    /// alone looks for a `Model`); `None` where it does not offer that.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// What a resumed run needs of the value besides its parameters and buffers (a loss's queue
    /// of past embeddings, a running histogram), as named tensors: checkpoints hold them.
    fn state(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    /// Restores what [`state`](Component::state) returned. An empty list (a checkpoint written
    /// before the value kept any) leaves the value as it is.
    ///
    /// # Errors
    /// What does not fit (a missing or unknown name, a shape), with nothing changed.
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), String> {
        match state.first() {
            None => Ok(()),
            Some((name, _)) => Err(format!("the checkpoint holds its state `{name}`, but it keeps none")),
        }
    }
}

impl<T: Component + ?Sized> Component for Box<T> {
    fn var_store(&self) -> Option<&VarStore> {
        (**self).var_store()
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training)
    }
    fn records(&self) -> Vec<Record> {
        (**self).records()
    }
    fn bind_key(&mut self, key: &str) {
        (**self).bind_key(key)
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        (**self).as_any()
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        (**self).state()
    }
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), String> {
        (**self).load_state(state)
    }
}

/// An optional key that was not set has no parameters and records nothing.
impl<T: Component> Component for Option<T> {
    fn var_store(&self) -> Option<&VarStore> {
        self.as_ref().and_then(Component::var_store)
    }
    fn set_training(&mut self, training: bool) {
        if let Some(inner) = self {
            inner.set_training(training)
        }
    }
    fn records(&self) -> Vec<Record> {
        self.as_ref().map(Component::records).unwrap_or_default()
    }
    fn bind_key(&mut self, key: &str) {
        if let Some(inner) = self {
            inner.bind_key(key)
        }
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        self.as_ref().and_then(Component::as_any)
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.as_ref().map(Component::state).unwrap_or_default()
    }
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), String> {
        match self {
            Some(inner) => inner.load_state(state),
            None if state.is_empty() => Ok(()),
            None => Err("the checkpoint holds state for this key, which is not set".into()),
        }
    }
}
