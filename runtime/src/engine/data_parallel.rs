//! What the engine does differently when it is one of several processes (`.distributed(group)`,
//! the `distributed` feature): the ranks agree on the seed, start from rank 0's parameters and
//! buffers, and average their gradients after every backward pass. Every rank draws the same
//! global batches and takes its share, so every rank steps its optimizers on the same averaged
//! gradients and keeps the same parameters. Only rank 0 runs hooks (logs, plots, validation, the
//! progress bar) and writes checkpoints; what its hooks decide (stopping, learning rates, loss
//! weights) reaches the other ranks after each iteration and epoch.
//!
//! Without the feature, `DataParallel` has no values, so the engine's calls compile to nothing.

#[cfg(feature = "distributed")]
pub(crate) use with_feature::DataParallel;
#[cfg(not(feature = "distributed"))]
pub(crate) use without_feature::DataParallel;

#[cfg(feature = "distributed")]
mod with_feature {
    use crate::distributed::{ProcessGroup, BUCKET_BYTES};
    use crate::trainer::TrainerKeys;
    use crate::Result;
    use std::sync::Arc;
    use tch::{Device, Kind, Tensor};

    /// This process's place in a data-parallel run.
    pub(crate) struct DataParallel {
        group: Arc<ProcessGroup>,
    }

    impl DataParallel {
        pub fn new(group: Arc<ProcessGroup>) -> DataParallel {
            DataParallel { group }
        }

        pub fn rank(&self) -> usize {
            self.group.rank()
        }

        pub fn world_size(&self) -> usize {
            self.group.world_size()
        }

        /// Rank 0's seed on every rank: the loader's order, the per-iteration generator (random
        /// miners must pick the same tuples on every rank) and the augmentations derive from it.
        pub fn agree_on_seed(&self, seed: u64) -> Result<u64> {
            let mut value = Tensor::from_slice(&[seed as i64]);
            self.group.broadcast(&mut value, 0)?;
            Ok(value.f_int64_value(&[0])? as u64)
        }

        /// Every key's parameters and buffers (batch-norm statistics) as rank 0 holds them, in
        /// the order of the keys and, within a key, of the variables' names.
        pub fn broadcast_state<T: TrainerKeys>(&self, keys: &T) -> Result<()> {
            let mut tensors = Vec::new();
            for key in keys.parameter_keys() {
                let Some(vs) = keys.component(key).and_then(|c| c.var_store()) else { continue };
                let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
                named.sort_by(|a, b| a.0.cmp(&b.0));
                tensors.extend(named.into_iter().map(|(_, tensor)| tensor));
            }
            on_cpu(&tensors, |cpu| self.group.broadcast_all(cpu, 0, BUCKET_BYTES))
        }

        /// Gives every parameter that trains a gradient of zeros before the first backward
        /// pass: the ranks then always exchange the same list of gradients, where an unused
        /// parameter would otherwise have one on some ranks and none on others.
        pub fn define_gradients(&self, parameters: &[Tensor]) -> Result<()> {
            for parameter in parameters.iter().filter(|p| p.requires_grad() && !p.grad().defined()) {
                parameter.f_mul_scalar(0.0)?.f_sum(None::<Kind>)?.f_backward()?;
            }
            Ok(())
        }

        /// Replaces every gradient by its mean over the ranks (DDP's average, in its buckets).
        pub fn average_gradients(&self, parameters: &[Tensor]) -> Result<()> {
            on_cpu(&crate::optim::gradients(parameters), |cpu| self.group.all_reduce_mean(cpu, BUCKET_BYTES))
        }

        /// Rank 0's values on every rank: what rank 0's hooks decided (only rank 0 runs hooks).
        pub fn follow_rank_zero(&self, values: &mut [f64]) -> Result<()> {
            let mut tensor = Tensor::from_slice(values);
            self.group.broadcast(&mut tensor, 0)?;
            let decided = Vec::<f64>::try_from(&tensor)?;
            values.copy_from_slice(&decided);
            Ok(())
        }
    }

    /// Runs `collective` on the tensors, through CPU copies for those elsewhere (Gloo exchanges
    /// CPU tensors; NCCL is not built yet), copying the results back.
    fn on_cpu(tensors: &[Tensor], collective: impl FnOnce(&[Tensor]) -> Result<()>) -> Result<()> {
        if tensors.iter().all(|t| t.device() == Device::Cpu) {
            return collective(tensors);
        }
        let copies = tensors.iter().map(|t| t.f_to_device(Device::Cpu)).collect::<std::result::Result<Vec<_>, _>>()?;
        collective(&copies)?;
        for (tensor, copy) in tensors.iter().zip(&copies) {
            tensor.detach().f_copy_(copy)?;
        }
        Ok(())
    }
}

#[cfg(not(feature = "distributed"))]
mod without_feature {
    use crate::trainer::TrainerKeys;
    use crate::Result;
    use tch::Tensor;

    /// No value exists: a run is never data-parallel without the `distributed` feature.
    pub(crate) enum DataParallel {}

    impl DataParallel {
        pub fn rank(&self) -> usize {
            match *self {}
        }
        pub fn world_size(&self) -> usize {
            match *self {}
        }
        pub fn agree_on_seed(&self, _seed: u64) -> Result<u64> {
            match *self {}
        }
        pub fn broadcast_state<T: TrainerKeys>(&self, _keys: &T) -> Result<()> {
            match *self {}
        }
        pub fn define_gradients(&self, _parameters: &[Tensor]) -> Result<()> {
            match *self {}
        }
        pub fn average_gradients(&self, _parameters: &[Tensor]) -> Result<()> {
            match *self {}
        }
        pub fn follow_rank_zero(&self, _values: &mut [f64]) -> Result<()> {
            match *self {}
        }
    }
}
