//! The learnable matrix of classification-style losses (class weights, proxies), in a
//! [`VarStore`] of its own so that the engine gives it an optimizer like a model's.

use tch::nn::{Init, VarStore};
use tch::{Device, Tensor};

#[derive(Debug)]
pub(crate) struct LearnedWeights {
    pub vs: VarStore,
    pub weights: Tensor,
}

impl LearnedWeights {
    pub fn new(name: &str, shape: [i64; 2], init: Init, device: Device) -> LearnedWeights {
        let vs = VarStore::new(device);
        let weights = vs.root().var(name, &shape, init);
        LearnedWeights { vs, weights }
    }

    /// Overwrites the values (to load trained weights, or PML's for a parity check).
    pub fn set(&mut self, values: &Tensor) -> crate::Result<()> {
        if values.size() != self.weights.size() {
            return Err(crate::Error::data(format!(
                "weights of shape {:?} cannot replace weights of shape {:?}",
                values.size(),
                self.weights.size()
            )));
        }
        tch::no_grad(|| self.weights.f_copy_(values))?;
        Ok(())
    }
}

/// Embeddings must be as wide as the loss's `embedding_size`; otherwise libtorch's product with
/// the weights fails with a message about matrix shapes that names neither.
pub(crate) fn check_width(module: &str, embeddings: &Tensor, embedding_size: i64) -> crate::Result<()> {
    let width = embeddings.size().last().copied().unwrap_or(0);
    if width != embedding_size {
        return Err(crate::Error::data(format!(
            "{module} was built with embedding_size {embedding_size}, but the embeddings are {width} wide"
        )));
    }
    Ok(())
}

/// `.device(...)`, a getter and a setter (`$get`, `$set`) of the learned matrix that the
/// `LearnedWeights` field `$field` of loss `$ty` holds, described as `$what`.
macro_rules! accessors {
    ($ty:ty, $field:ident, $get:ident, $set:ident, $what:literal) => {
        impl $ty {
            /// Moves the learned weights to a device.
            pub fn device(mut self, device: tch::Device) -> Self {
                self.$field.vs.set_device(device);
                self
            }

            #[doc = concat!("The ", $what, ".")]
            pub fn $get(&self) -> &tch::Tensor {
                &self.$field.weights
            }

            #[doc = concat!("Replaces the ", $what, ".\n\n# Errors\nWhen the shape differs.")]
            pub fn $set(&mut self, values: &tch::Tensor) -> $crate::Result<()> {
                self.$field.set(values)
            }
        }
    };
}
pub(crate) use accessors;
