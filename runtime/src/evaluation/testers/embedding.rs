//! What a tester embeds with: a trainer's models (or any model), in eval mode, without
//! gradients, and back in training mode afterwards.

use crate::model::Model;
use crate::trainer::Step;
use crate::engine::Trainer;
use crate::{Error, Result};
use tch::{Device, Kind, Tensor};

/// A source of embeddings for a tester.
pub trait EmbeddingModel {
    /// Eval mode for every model (dropout off, batch norm on running statistics).
    fn begin_testing(&mut self);
    /// Training mode again, as it was before testing.
    fn end_testing(&mut self);
    /// The embeddings of one batch (already on the data device, in the data kind); with
    /// `trunk_output`, the trunk's output instead (PML's `use_trunk_output`). Called under
    /// `no_grad`.
    ///
    /// # Errors
    /// When a model cannot process the batch.
    fn embed_batch(&mut self, batch: &Tensor, trunk_output: bool) -> Result<Tensor>;
    /// The device batches go to.
    fn data_device(&self) -> Device;
    /// The float kind batches are cast to, if any.
    fn dtype(&self) -> Option<Kind>;
}

impl<T: Step> EmbeddingModel for Trainer<T> {
    fn begin_testing(&mut self) {
        self.set_to_eval();
    }

    fn end_testing(&mut self) {
        self.set_to_train();
    }

    fn embed_batch(&mut self, batch: &Tensor, trunk_output: bool) -> Result<Tensor> {
        let keys = self.keys();
        if !trunk_output {
            return crate::guard::run(|| keys.embed(batch));
        }
        let trunk = T::trunk().ok_or_else(|| {
            Error::config(format!("use_trunk_output: trainer `{}` has no trunk (a model named `trunk` or marked #[model(trunk)])", T::NAME))
        })?;
        let model = keys.component(trunk).and_then(|c| c.as_any()).and_then(|any| any.downcast_ref::<Model>());
        match model {
            Some(model) => crate::guard::run(|| model.forward(batch)),
            None => Err(Error::config(format!("use_trunk_output: the trunk of trainer `{}` is not a Model", T::NAME))),
        }
    }

    fn data_device(&self) -> Device {
        Trainer::data_device(self)
    }

    fn dtype(&self) -> Option<Kind> {
        Trainer::dtype(self)
    }
}

/// A lone model: its output is the embedding (and the trunk output).
impl EmbeddingModel for Model {
    fn begin_testing(&mut self) {
        crate::component::Component::set_training(self, false);
    }

    fn end_testing(&mut self) {
        crate::component::Component::set_training(self, true);
    }

    fn embed_batch(&mut self, batch: &Tensor, _trunk_output: bool) -> Result<Tensor> {
        crate::guard::run(|| self.forward(batch))
    }

    fn data_device(&self) -> Device {
        self.var_store().map_or(Device::Cpu, |vs| vs.device())
    }

    fn dtype(&self) -> Option<Kind> {
        None
    }
}
