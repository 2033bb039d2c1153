//! Saving a whole run into a checkpoint and continuing it from one (see [`crate::checkpoint`]).

use super::trainer::Trainer;
use crate::checkpoint::format::{self, FORMAT, VERSION};
use crate::optim::OptimizerState;
use crate::trainer::{KeyName, Step};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tch::Tensor;

/// The checkpoint's name for one tensor of a key's state (see `Component::state`).
fn state_name(key: &str, name: &str) -> String {
    format!("state.{key}.{name}")
}

/// f64 as its bits: exact through JSON, infinities included.
fn bits(x: f64) -> Value {
    json!(x.to_bits())
}

fn from_bits(v: &Value) -> Option<f64> {
    v.as_u64().map(f64::from_bits)
}

impl<T: Step> Trainer<T> {
    /// Writes the whole run to `path` (atomically): parameters and buffers, optimizers,
    /// schedulers, loss weights, the loader's position, the seed, the epoch and iteration, and
    /// every hook's state. Call it between `train` calls; during training the builder's
    /// `.checkpoints(...)` writes them.
    ///
    /// # Errors
    /// [`Error::File`] when the file cannot be written (the previous file at `path`, if any,
    /// stays whole); a hook's error from its `state`.
    pub fn save_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut tensors: BTreeMap<String, Tensor> = BTreeMap::new();
        let mut keys = Map::new();
        for key in self.keys.parameter_keys() {
            let Some(component) = self.keys.component(key) else { continue };
            for (name, tensor) in component.state() {
                tensors.insert(state_name(&key.name(), &name), tensor);
            }
            let Some(vs) = component.var_store() else { continue };
            let mut shapes = Map::new();
            for (name, var) in vs.variables() {
                shapes.insert(name.clone(), json!(var.size()));
                tensors.insert(format!("{}.{name}", key.name()), var.shallow_clone());
            }
            keys.insert(key.name(), Value::Object(shapes));
        }
        let mut optimizers = Map::new();
        let mut schedulers = Map::new();
        for slot in &self.slots {
            let Some(optimizer) = &slot.optimizer else { continue };
            let state = optimizer.state();
            for (name, tensor) in state.tensors {
                tensors.insert(format!("optimizer.{}.{name}", slot.key.name()), tensor);
            }
            let numbers: Map<String, Value> = state.numbers.iter().map(|(n, v)| (n.clone(), bits(*v))).collect();
            optimizers.insert(slot.key.name(), json!({ "numbers": numbers, "initial_lr": bits(slot.initial_lr) }));
            let states: Vec<Value> = slot.schedulers.iter().map(|(_, s)| Value::Array(s.state().into_iter().map(bits).collect())).collect();
            schedulers.insert(slot.key.name(), Value::Array(states));
        }
        let weights: Map<String, Value> = self.loss_weights.iter().map(|(loss, w)| (loss.name(), bits(*w))).collect();
        let mut hooks = Map::new();
        for hook in &mut self.hooks.list {
            hooks.insert(hook.name(), hook.state()?);
        }
        let scaler = self.settings.precision.as_ref().and_then(|p| p.scaler()).map(|scaler| {
            let (scale, growth_tracker, skipped) = scaler.state();
            json!({ "scale": bits(scale), "growth_tracker": growth_tracker, "skipped": skipped })
        });
        let manifest = json!({
            "format": FORMAT,
            "version": VERSION,
            "library_version": env!("CARGO_PKG_VERSION"),
            "trainer": T::NAME,
            "keys": keys,
            "epoch": self.epoch,
            "iterations_done": self.iterations_done,
            "epoch_done": self.epoch_done,
            "iterations_per_epoch": self.settings.iterations_per_epoch,
            "seed": self.settings.seed,
            "batches_delivered": self.loader.delivered(),
            "loss_weights": weights,
            "optimizers": optimizers,
            "schedulers": schedulers,
            "hooks": hooks,
            "grad_scaler": scaler,
            "checkpoint_sequence": self.checkpoints.as_ref().map_or(0, |c| c.next_sequence),
        });
        format::write(path, &tensors, &manifest)
    }

    /// Continues the run a checkpoint holds: everything [`save_checkpoint`](Self::save_checkpoint)
    /// wrote is restored, so that `train_to` ends where the uninterrupted run would have, with
    /// the same parameters to the bit (on the CPU). The trainer must be built as the saved one
    /// was (the same trainer, keys, shapes, optimizers, schedulers and hooks).
    ///
    /// # Errors
    /// [`Error::File`] naming the checkpoint and every difference found (another trainer, a
    /// missing or extra key, a shape, an optimizer or scheduler the trainer lacks) or why it
    /// cannot be read (truncated, corrupted, a newer format). On error nothing is changed... but
    /// the parameters: a checkpoint that fails after its tensors were checked cannot happen, as
    /// every check runs before anything is copied.
    pub fn resume(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let invalid = |reason: String| Error::File { path: path.to_path_buf(), reason };
        let (mut tensors, manifest) = format::read(path)?;
        let trainer = manifest["trainer"].as_str().unwrap_or("?");
        if trainer != T::NAME {
            return Err(invalid(format!("a checkpoint of trainer `{trainer}`, not of `{}`", T::NAME)));
        }
        let number = |field: &str| manifest[field].as_u64().ok_or_else(|| invalid(format!("its manifest has no `{field}`")));
        let (epoch, iterations_done, seed, delivered) = (number("epoch")?, number("iterations_done")?, number("seed")?, number("batches_delivered")?);
        let epoch_done = manifest["epoch_done"].as_bool().ok_or_else(|| invalid("its manifest has no `epoch_done`".into()))?;
        if number("iterations_per_epoch")? as usize != self.settings.iterations_per_epoch {
            return Err(invalid(format!(
                "saved with {} iterations per epoch, this trainer has {}",
                manifest["iterations_per_epoch"], self.settings.iterations_per_epoch
            )));
        }

        // Every check before any copy: parameters, then optimizers and schedulers, then hooks.
        let mut problems = Vec::new();
        let mut copies: Vec<(Tensor, Tensor)> = Vec::new();
        for key in self.keys.parameter_keys() {
            let Some(vs) = self.keys.component(key).and_then(|c| c.var_store()) else { continue };
            for (name, var) in vs.variables() {
                let full = format!("{}.{name}", key.name());
                match tensors.remove(&full) {
                    None => problems.push(format!("`{full}` is missing")),
                    Some(saved) if saved.size() != var.size() || saved.kind() != var.kind() => problems.push(format!(
                        "`{full}` is {:?} of shape {:?} in the checkpoint, {:?} of shape {:?} in the trainer",
                        saved.kind(),
                        saved.size(),
                        var.kind(),
                        var.size()
                    )),
                    Some(saved) => copies.push((var, saved)),
                }
            }
        }
        // A key's state (a loss's queue): restored after every other check, each key's earlier
        // state kept to put back if a later one does not fit.
        let mut states = Vec::new();
        for key in self.keys.parameter_keys() {
            let prefix = state_name(&key.name(), "");
            let names: Vec<String> = tensors.keys().filter(|n| n.starts_with(&prefix)).cloned().collect();
            let state: Vec<(String, Tensor)> = names.iter().filter_map(|n| Some((n[prefix.len()..].to_string(), tensors.remove(n)?))).collect();
            states.push((key, state));
        }
        let mut optimizer_states = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            let saved = &manifest["optimizers"][slot.key.name()];
            match (&slot.optimizer, saved.is_null()) {
                (None, true) => continue,
                (None, false) => problems.push(format!("key `{}` has an optimizer in the checkpoint, none in the trainer", slot.key.name())),
                (Some(_), true) => problems.push(format!("key `{}` has an optimizer in the trainer, none in the checkpoint", slot.key.name())),
                (Some(_), false) => {
                    let prefix = format!("optimizer.{}.", slot.key.name());
                    let names: Vec<String> = tensors.keys().filter(|n| n.starts_with(&prefix)).cloned().collect();
                    let state_tensors = names.iter().filter_map(|n| Some((n[prefix.len()..].to_string(), tensors.remove(n)?))).collect();
                    let numbers = saved["numbers"].as_object().map(|m| m.iter().filter_map(|(n, v)| Some((n.clone(), from_bits(v)?))).collect()).unwrap_or_default();
                    let schedulers: Vec<Vec<f64>> = manifest["schedulers"][slot.key.name()]
                        .as_array()
                        .map(|list| list.iter().map(|s| s.as_array().map(|v| v.iter().filter_map(from_bits).collect()).unwrap_or_default()).collect())
                        .unwrap_or_default();
                    if schedulers.len() != slot.schedulers.len() {
                        problems.push(format!(
                            "key `{}` has {} scheduler(s) in the checkpoint, {} in the trainer",
                            slot.key.name(),
                            schedulers.len(),
                            slot.schedulers.len()
                        ));
                    }
                    let initial_lr = from_bits(&saved["initial_lr"]);
                    optimizer_states.push((index, OptimizerState { tensors: state_tensors, numbers }, schedulers, initial_lr));
                }
            }
        }
        if !tensors.is_empty() {
            let mut extra: Vec<&String> = tensors.keys().collect();
            extra.sort();
            problems.push(format!("the checkpoint holds {extra:?}, which the trainer does not have"));
        }
        let saved_hooks = manifest["hooks"].as_object().cloned().unwrap_or_default();
        let names: Vec<String> = self.hooks.list.iter().map(|h| h.name()).collect();
        // Ranks other than 0 run no hooks in a data-parallel run: rank 0 restores their state.
        let runs_hooks = self.rank() == 0;
        for (name, state) in &saved_hooks {
            if runs_hooks && !state.is_null() && !names.contains(name) {
                problems.push(format!("the checkpoint holds the state of hook `{name}`, which the trainer does not have"));
            }
        }
        let saved_scaler = &manifest["grad_scaler"];
        let scaler_state = match (saved_scaler.is_null(), self.settings.precision.as_ref().and_then(|p| p.scaler()).is_some()) {
            (true, _) => None,
            (false, false) => {
                problems.push("the checkpoint holds a loss scale (GradScaler), but this trainer has none".to_string());
                None
            }
            (false, true) => match (from_bits(&saved_scaler["scale"]), saved_scaler["growth_tracker"].as_u64(), saved_scaler["skipped"].as_u64()) {
                (Some(scale), Some(tracker), Some(skipped)) => Some((scale, tracker, skipped)),
                _ => {
                    problems.push(format!("its loss scale is unreadable: {saved_scaler}"));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(invalid(format!("it does not fit trainer `{}`: {}", T::NAME, problems.join("; "))));
        }
        let mut replaced = Vec::new();
        for (key, state) in states {
            let Some(component) = self.keys.component_mut(key) else { continue };
            let before = component.state();
            if let Err(error) = component.load_state(state) {
                for (key, before) in replaced {
                    if let Some(component) = self.keys.component_mut(key) {
                        let _ = component.load_state(before);
                    }
                }
                return Err(invalid(format!("key `{}`: {error}", key.name())));
            }
            replaced.push((key, before));
        }

        tch::no_grad(|| -> Result<()> {
            for (mut var, saved) in copies {
                var.f_copy_(&saved.f_to_device(var.device())?)?;
            }
            Ok(())
        })?;
        for (index, mut state, schedulers, initial_lr) in optimizer_states {
            let slot = &mut self.slots[index];
            let device = slot.parameters.first().map(|p| p.device());
            if let Some(device) = device {
                for (_, tensor) in &mut state.tensors {
                    *tensor = tensor.f_to_device(device)?;
                }
            }
            let key = slot.key.name();
            if let Some(optimizer) = &mut slot.optimizer {
                optimizer.load_state(state).map_err(|e| invalid(format!("key `{key}`'s optimizer: {e}")))?;
            }
            for ((_, scheduler), saved) in slot.schedulers.iter_mut().zip(&schedulers) {
                scheduler.load_state(saved).map_err(|e| invalid(format!("key `{key}`'s scheduler: {e}")))?;
            }
            if let Some(initial_lr) = initial_lr {
                slot.initial_lr = initial_lr;
            }
        }
        if let Some(weights) = manifest["loss_weights"].as_object() {
            for (loss, weight) in self.loss_weights.iter_mut() {
                if let Some(saved) = weights.get(&loss.name()).and_then(from_bits) {
                    *weight = saved;
                }
            }
        }
        for hook in &mut self.hooks.list {
            if let Some(state) = saved_hooks.get(&hook.name()) {
                hook.load_state(state).map_err(|e| invalid(format!("hook `{}`: {e}", hook.name())))?;
            }
        }
        if let (Some((scale, tracker, skipped)), Some(scaler)) = (scaler_state, self.settings.precision.as_mut().and_then(|p| p.scaler_mut())) {
            scaler.restore(scale, tracker, skipped);
        }
        self.epoch = epoch as usize;
        self.iterations_done = iterations_done as usize;
        self.iteration = self.iterations_done.saturating_sub(1);
        self.epoch_done = epoch_done;
        self.settings.seed = seed;
        self.loader.restore_seeded(seed, delivered);
        if let (Some(checkpoints), Some(sequence)) = (&mut self.checkpoints, manifest["checkpoint_sequence"].as_u64()) {
            checkpoints.next_sequence = checkpoints.next_sequence.max(sequence);
        }
        Ok(())
    }

    /// Writes a checkpoint when the policy says one is due, and the best one when a hook asked.
    pub(crate) fn checkpoint_if_due(&mut self, at_epoch_end: bool) -> Result<()> {
        let Some(checkpoints) = &self.checkpoints else {
            self.best_requested = false;
            return Ok(());
        };
        let global = self.global_iterations_done();
        let due = checkpoints.due(at_epoch_end, self.epoch, global);
        let path = checkpoints.next_path(self.epoch, self.iterations_done, at_epoch_end);
        let best = (at_epoch_end && self.best_requested).then(|| checkpoints.best_path());
        if due {
            self.save_checkpoint(&path)?;
            if let Some(checkpoints) = &mut self.checkpoints {
                checkpoints.written(path);
            }
        }
        if let Some(best) = best {
            self.best_requested = false;
            self.save_checkpoint(best)?;
        }
        Ok(())
    }
}
