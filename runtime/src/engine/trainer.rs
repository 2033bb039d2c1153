//! `Trainer<T>`: PML's `train()` and `forward_and_backward()`, and the state hooks read.

use super::data_parallel::DataParallel;
use super::iteration::{Iteration, Phase};
use super::labels::LabelProcessor;
use super::slot::KeySlot;
use super::timing::IterationTimes;
use crate::data::{Batch, Loader};
use crate::optim::StepType;
use crate::component::Record;
use crate::trainer::{KeyName, LossRecord, Step, TrainerKeys};
use crate::error::When;
use crate::hooks::Hook;
use crate::checkpoint::Checkpointer;
use crate::precision::MixedPrecision;
use std::path::{Path, PathBuf};
use crate::{Error, Result};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Called after every iteration with the trainer (PML's `end_of_iteration_hook`).
pub type IterationHook<T> = Box<dyn FnMut(&mut Trainer<T>) -> Result<()>>;
/// Called after every epoch; `ControlFlow::Break(())` stops training (PML's `end_of_epoch_hook`
/// returning `False`).
pub type EpochHook<T> = Box<dyn FnMut(&mut Trainer<T>) -> Result<ControlFlow<()>>>;
/// Rewrites each batch before label processing (PML's `data_and_label_getter`).
pub type BatchGetter = Box<dyn FnMut(Batch) -> Result<Batch>>;

/// The hooks a trainer was built with, in order, and the batch rewriter.
pub(crate) struct Hooks<T: TrainerKeys> {
    pub list: Vec<Box<dyn Hook<T>>>,
    pub data_and_label_getter: Option<BatchGetter>,
}

pub(crate) struct Settings {
    pub device: Device,
    pub dtype: Option<Kind>,
    pub iterations_per_epoch: usize,
    pub freeze_trunk_batchnorm: bool,
    /// The run's seed (the builder's, or drawn at build time): every random stream of the run
    /// derives from it.
    pub seed: u64,
    /// Where the run's logs, plots and checkpoints go, when it has a folder.
    pub run_folder: Option<PathBuf>,
    /// This process's place among several (`.distributed(...)`); `None` when it runs alone.
    pub data_parallel: Option<DataParallel>,
    /// Autocast and the loss scale (`.mixed_precision(...)`); `None` in full precision.
    pub precision: Option<MixedPrecision>,
}

/// A built trainer: the keys of `T`, their optimizers and schedulers, the data, and the
/// training state. Made by the builder `#[trainer]` generates; run with [`Trainer::train`].
pub struct Trainer<T: TrainerKeys> {
    pub(crate) keys: T,
    pub(crate) slots: Vec<KeySlot<T::Key>>,
    pub(crate) loss_weights: HashMap<T::Loss, f64>,
    configured_weights: HashMap<T::Loss, f64>,
    pub(crate) loader: Loader,
    labels: LabelProcessor,
    pub(crate) settings: Settings,
    pub(crate) hooks: Hooks<T>,
    /// The current (or last) 1-based epoch.
    pub(crate) epoch: usize,
    /// The current 0-based iteration within the epoch.
    pub(crate) iteration: usize,
    /// Iterations of the current epoch done; the epoch's end has run when `epoch_done`.
    pub(crate) iterations_done: usize,
    pub(crate) epoch_done: bool,
    pub(crate) checkpoints: Option<Checkpointer>,
    /// Set by a hook (validation) when this epoch's model is the best so far.
    pub(crate) best_requested: bool,
    /// The last iteration's weighted losses, detached; read into numbers only when asked.
    losses: Vec<(T::Loss, Tensor)>,
    total_loss: f64,
    times: IterationTimes,
}

impl<T: Step> Trainer<T> {
    pub(crate) fn assemble(
        keys: T,
        slots: Vec<KeySlot<T::Key>>,
        loss_weights: HashMap<T::Loss, f64>,
        loader: Loader,
        labels: LabelProcessor,
        settings: Settings,
        hooks: Hooks<T>,
    ) -> Trainer<T> {
        let all_weights: HashMap<T::Loss, f64> = keys
            .loss_keys()
            .into_iter()
            .map(|loss| (loss, loss_weights.get(&loss).copied().unwrap_or_else(|| T::default_loss_weight(loss))))
            .collect();
        Trainer {
            keys,
            slots,
            configured_weights: all_weights.clone(),
            loss_weights: all_weights,
            loader,
            labels,
            settings,
            hooks,
            epoch: 0,
            iteration: 0,
            iterations_done: 0,
            epoch_done: true,
            checkpoints: None,
            best_requested: false,
            losses: Vec::new(),
            total_loss: 0.0,
            times: IterationTimes::default(),
        }
    }

    /// Trains `num_epochs` more epochs (PML's `train(start_epoch, num_epochs)` counts the last
    /// epoch instead; here a second call continues where the first stopped). After a resume in
    /// the middle of an epoch, that epoch is the first of the `num_epochs`. Stops early when a
    /// hook breaks at an epoch's end.
    ///
    /// # Errors
    /// On bad data, a failing model, loss, miner or hook, or a non-finite loss: an
    /// [`Error::Trainer`] with the epoch and iteration, around an error naming the key. The
    /// trainer's parameters are those after the last completed iteration.
    pub fn train(&mut self, num_epochs: usize) -> Result<()> {
        let completed = if self.epoch_done { self.epoch } else { self.epoch - 1 };
        self.train_to(completed + num_epochs)
    }

    /// Trains until epoch `last_epoch` is complete: what a resumed program calls to end where
    /// the uninterrupted run would have (`train_to(EPOCHS)` after `resume`).
    ///
    /// # Errors
    /// As [`train`](Self::train).
    pub fn train_to(&mut self, last_epoch: usize) -> Result<()> {
        let when = |t: &Self| When::Iteration { epoch: t.epoch, iteration: t.iteration };
        self.each_hook(|hook, trainer| hook.on_start(trainer)).map_err(|e| e.in_trainer(T::NAME, when(self)))?;
        while !(self.epoch_done && self.epoch >= last_epoch) {
            if self.epoch_done {
                self.epoch += 1;
                self.iterations_done = 0;
                self.epoch_done = false;
            }
            while self.iterations_done < self.settings.iterations_per_epoch {
                self.iteration = self.iterations_done;
                self.run_iteration().map_err(|e| e.in_trainer(T::NAME, when(self)))?;
            }
            let flow = self.end_epoch().map_err(|e| e.in_trainer(T::NAME, when(self)))?;
            if flow.is_break() {
                break;
            }
        }
        self.each_hook(|hook, trainer| hook.on_end(trainer)).map_err(|e| e.in_trainer(T::NAME, when(self)))
    }

    /// One iteration and what follows it: hooks, schedulers by iteration, a checkpoint if due.
    fn run_iteration(&mut self) -> Result<()> {
        // libtorch's generator is seeded per iteration, so a resumed run draws what the
        // uninterrupted one drew (dropout, random miners) without saving the generator.
        let position = self.global_iteration() as u64;
        tch::manual_seed(crate::seeds::mix(self.settings.seed, crate::seeds::Stream::Iteration, position) as i64);
        self.forward_and_backward()?;
        self.each_hook(|hook, trainer| hook.on_iteration_end(trainer))?;
        // An iteration's hooks cannot stop training; what they set is followed.
        let _ = self.follow_rank_zero(ControlFlow::Continue(()))?;
        self.step_schedulers(StepType::Iteration, None);
        self.iterations_done += 1;
        self.checkpoint_if_due(false)
    }

    /// The end of an epoch: schedulers by epoch, every hook's epoch end, a checkpoint if due.
    fn end_epoch(&mut self) -> Result<ControlFlow<()>> {
        self.step_schedulers(StepType::Epoch, None);
        self.epoch_done = true;
        let mut flow = ControlFlow::Continue(());
        self.each_hook(|hook, trainer| {
            if hook.on_epoch_end(trainer)?.is_break() {
                flow = ControlFlow::Break(());
            }
            Ok(())
        })?;
        let flow = self.follow_rank_zero(flow)?;
        self.checkpoint_if_due(true)?;
        Ok(flow)
    }

    /// In a data-parallel run, what rank 0's hooks decided (stop, learning rates, loss weights)
    /// on every rank: only rank 0 runs hooks, and the ranks must train alike and stop together.
    fn follow_rank_zero(&mut self, flow: ControlFlow<()>) -> Result<ControlFlow<()>> {
        let Some(data_parallel) = &self.settings.data_parallel else { return Ok(flow) };
        let loss_keys = self.keys.loss_keys();
        let mut values = vec![if flow.is_break() { 1.0 } else { 0.0 }];
        values.extend(self.slots.iter().filter_map(|slot| slot.optimizer.as_ref().map(|o| o.learning_rate())));
        values.extend(loss_keys.iter().map(|loss| self.loss_weight(*loss)));
        data_parallel.follow_rank_zero(&mut values)?;
        let mut decided = values.into_iter();
        let stop = decided.next() == Some(1.0);
        for optimizer in self.slots.iter_mut().filter_map(|slot| slot.optimizer.as_mut()) {
            optimizer.set_learning_rate(decided.next().unwrap_or_else(|| optimizer.learning_rate()));
        }
        for loss in loss_keys {
            let weight = decided.next().unwrap_or_else(|| self.loss_weight(loss));
            self.loss_weights.insert(loss, weight);
        }
        Ok(if stop { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    }

    /// Calls `f` on every hook in order, each with the trainer; the hooks are put back even
    /// when one fails.
    fn each_hook(&mut self, mut f: impl FnMut(&mut dyn Hook<T>, &mut Self) -> Result<()>) -> Result<()> {
        let mut hooks = std::mem::take(&mut self.hooks.list);
        let result = hooks.iter_mut().try_for_each(|hook| f(hook.as_mut(), self));
        // Hooks added while the list was out (none are today) go after the built ones.
        hooks.append(&mut self.hooks.list);
        self.hooks.list = hooks;
        result
    }

    /// PML's `forward_and_backward`, its time added to the iterations' total.
    fn forward_and_backward(&mut self) -> Result<()> {
        let started = Instant::now();
        let result = self.iteration_in_order();
        self.times.total += started.elapsed();
        result
    }

    /// One iteration, in PML's order: zero gradients, phase (and the train/eval modes that
    /// follow from it), batch (timed as waiting for data), subset mining, the step's losses,
    /// weights and total, one backward pass, clipping, optimizer steps. A panic inside tch
    /// during the step is an error.
    fn iteration_in_order(&mut self) -> Result<()> {
        for slot in &mut self.slots {
            slot.zero_grad();
        }
        let mut phase = Phase {
            epoch: self.epoch,
            weights: &mut self.loss_weights,
            original_weights: &self.configured_weights,
            slots: &mut self.slots,
        };
        self.keys.begin_iteration(&mut phase);
        self.set_to_train();
        let asked = Instant::now();
        let batch = self.next_batch();
        self.times.waiting_for_data += asked.elapsed();
        let (data, labels) = batch?;
        let (data, labels) = self.maybe_mine_subset(data, labels)?;
        let mut it = Iteration {
            values: self.keys.new_loss_values(),
            weights: &self.loss_weights,
            epoch: self.epoch,
            iteration: self.iteration,
            device: self.settings.device,
            seed: crate::seeds::mix(self.settings.seed, crate::seeds::Stream::Step, self.global_iteration() as u64),
            autocast: self.settings.precision.is_some(),
        };
        let keys = &mut self.keys;
        let device = self.settings.device;
        match &self.settings.precision {
            Some(precision) => crate::precision::autocast(device, precision.kind(), || crate::guard::run(|| keys.calculate_loss(&mut it, &data, &labels)))??,
            None => crate::guard::run(|| keys.calculate_loss(&mut it, &data, &labels))?,
        }
        let losses = it.values.into_entries();
        self.apply_weights_and_backward(losses)?;
        if let Some(data_parallel) = &self.settings.data_parallel {
            data_parallel.average_gradients(&self.all_parameters())?;
        }
        if !self.unscale_gradients()? {
            // PyTorch's GradScaler: a step with an infinite or NaN gradient is skipped.
            return Ok(());
        }
        for slot in &mut self.slots {
            slot.clip();
        }
        for slot in &mut self.slots {
            slot.step_optimizer();
        }
        Ok(())
    }

    /// Every key's parameters, in slot order (the order every rank exchanges them in).
    pub(crate) fn all_parameters(&self) -> Vec<Tensor> {
        self.slots.iter().flat_map(|slot| slot.parameters.iter().map(Tensor::shallow_clone)).collect()
    }

    /// With a loss scale: the gradients divided by it, and the scale updated; whether the
    /// optimizers should step (every gradient finite). Without one: true.
    fn unscale_gradients(&mut self) -> Result<bool> {
        if self.settings.precision.as_ref().and_then(MixedPrecision::scaler).is_none() {
            return Ok(true);
        }
        let gradients = crate::optim::gradients(&self.all_parameters());
        let Some(scaler) = self.settings.precision.as_mut().and_then(MixedPrecision::scaler_mut) else { return Ok(true) };
        let finite = scaler.unscale(&gradients)?;
        scaler.update(finite);
        Ok(finite)
    }

    fn next_batch(&mut self) -> Result<(Tensor, Tensor)> {
        let mut batch = self.loader.next_batch()?;
        if let Some(getter) = &mut self.hooks.data_and_label_getter {
            batch = getter(batch)?;
        }
        let samples = batch.data.size().first().copied().unwrap_or(0);
        if samples != batch.labels.len() as i64 {
            return Err(Error::data(format!(
                "a batch has {samples} inputs but {} labels; they must be equal",
                batch.labels.len()
            )));
        }
        let labels = self.labels.process(&batch.labels, self.settings.device)?;
        let mut data = batch.data.f_to_device(self.settings.device)?;
        if let Some(kind) = self.settings.dtype {
            data = data.f_to_kind(kind)?;
        }
        Ok((data, labels))
    }

    /// PML's `maybe_do_batch_mining`: embeddings in eval mode without gradients, then train on
    /// the subset the miner picks.
    fn maybe_mine_subset(&mut self, data: Tensor, labels: Tensor) -> Result<(Tensor, Tensor)> {
        if self.keys.subset_batch_miner().is_none() {
            return Ok((data, labels));
        }
        self.set_to_eval();
        let keys = &self.keys;
        let embeddings = crate::guard::run(|| tch::no_grad(|| keys.embed(&data)));
        self.set_to_train();
        let embeddings = embeddings?;
        let indices = match self.keys.subset_batch_miner() {
            Some(miner) => tch::no_grad(|| miner.mine(&embeddings, &labels)).map_err(|e| e.in_key("subset_batch_miner"))?,
            None => return Ok((data, labels)),
        };
        Ok((data.f_index_select(0, &indices)?, labels.f_index_select(0, &indices)?))
    }

    fn apply_weights_and_backward(&mut self, losses: Vec<(T::Loss, Option<Tensor>)>) -> Result<()> {
        let mut weighted = Vec::new();
        let mut total: Option<Tensor> = None;
        for (loss, value) in losses {
            let Some(value) = value else { continue };
            let value = value * self.loss_weights.get(&loss).copied().unwrap_or(1.0);
            total = Some(match total {
                None => value.shallow_clone(),
                Some(sum) => sum + &value,
            });
            weighted.push((loss, value.detach()));
        }
        let Some(total) = total else {
            return Err(Error::config("the step computed no loss (is every loss weight 0?)"));
        };
        // A loss that is not a scalar is the step's mistake, not a reason to panic.
        self.total_loss = total.f_double_value(&[]).map_err(|_| {
            Error::mismatch("the step's losses", "scalar tensors", format!("a total of shape {:?}", total.size()))
        })?;
        self.losses = weighted;
        if !self.total_loss.is_finite() {
            let parts: Vec<String> = self.losses().iter().map(|(loss, v)| format!("{} = {v}", loss.name())).collect();
            return Err(Error::NonFinite(format!(
                "the total loss is {} ({}); the parameters are those of the previous iteration",
                self.total_loss,
                parts.join(", ")
            )));
        }
        if total.requires_grad() {
            match self.settings.precision.as_ref().and_then(MixedPrecision::scaler) {
                Some(scaler) => scaler.scale_loss(&total)?.f_backward()?,
                None => total.f_backward()?,
            }
        }
        Ok(())
    }

    fn step_schedulers(&mut self, step_type: StepType, metric: Option<f64>) {
        for slot in &mut self.slots {
            slot.step_schedulers(step_type, metric);
        }
    }

    /// Train mode for every key that trains now: not frozen, not left out of the phase, and not
    /// the trunk when its batch norm is frozen (the trunk is the role the declaration gives).
    pub fn set_to_train(&mut self) {
        let frozen_trunk = if self.settings.freeze_trunk_batchnorm { T::trunk() } else { None };
        for slot in &self.slots {
            let training = slot.stepping && !slot.frozen && frozen_trunk != Some(slot.key);
            if let Some(component) = self.keys.component_mut(slot.key) {
                component.set_training(training);
            }
        }
    }

    /// Eval mode for every key (dropout off, batch norm on running statistics).
    pub fn set_to_eval(&mut self) {
        for key in self.keys.parameter_keys() {
            if let Some(component) = self.keys.component_mut(key) {
                component.set_training(false);
            }
        }
    }

    /// Embeddings of `data` in eval mode, without gradients, in chunks of `batch_size` rows;
    /// the keys return to training mode afterwards (PML leaves them in eval until the next
    /// epoch).
    ///
    /// # Errors
    /// When a model cannot process the data: [`Error::Model`] with the model's key.
    pub fn embed(&mut self, data: &Tensor, batch_size: usize) -> Result<Tensor> {
        self.set_to_eval();
        let rows = data.size().first().copied().unwrap_or(0);
        let chunk = batch_size.max(1) as i64;
        let result = tch::no_grad(|| {
            let mut parts = Vec::new();
            let mut start = 0;
            while start < rows {
                let size = chunk.min(rows - start);
                let mut part = data.f_narrow(0, start, size)?.f_to_device(self.settings.device)?;
                if let Some(kind) = self.settings.dtype {
                    part = part.f_to_kind(kind)?;
                }
                let keys = &self.keys;
                parts.push(crate::guard::run(|| keys.embed(&part))?);
                start += size;
            }
            Ok::<_, Error>(Tensor::f_cat(&parts, 0)?)
        });
        self.set_to_train();
        result
    }

    /// Steps every `_scheduler_by_plateau` with a validation metric.
    pub fn step_plateau_schedulers(&mut self, metric: f64) {
        self.step_schedulers(StepType::Plateau, Some(metric));
    }

}

/// What hooks and programs read and adjust, for any declaration.
impl<T: TrainerKeys> Trainer<T> {
    /// Asks for this epoch's checkpoint to be kept as the best (a validation hook calls it when
    /// its metric improves); honoured when checkpoints are on.
    pub fn request_best_checkpoint(&mut self) {
        self.best_requested = true;
    }

    /// The run's folder, when the builder was given one.
    pub fn run_folder(&self) -> Option<&Path> {
        self.settings.run_folder.as_deref()
    }

    /// This process's rank in a data-parallel run (`.distributed(...)`); 0 when it runs alone.
    pub fn rank(&self) -> usize {
        self.settings.data_parallel.as_ref().map_or(0, DataParallel::rank)
    }

    /// How many processes train together; 1 when this one runs alone.
    pub fn world_size(&self) -> usize {
        self.settings.data_parallel.as_ref().map_or(1, DataParallel::world_size)
    }

    /// The run's seed: the builder's, or the one drawn at build time.
    pub fn seed(&self) -> u64 {
        self.settings.seed
    }

    /// Each key with an optimizer and its current learning rate, by PML key name.
    pub fn learning_rates(&self) -> Vec<(String, f64)> {
        self.slots.iter().filter_map(|slot| slot.optimizer.as_ref().map(|o| (slot.key.name(), o.learning_rate()))).collect()
    }

    /// Whether the current epoch's end has run (false in the middle of an epoch).
    pub fn epoch_done(&self) -> bool {
        self.epoch_done
    }

    /// The loss scale now, when the run has a [`GradScaler`](crate::precision::GradScaler).
    pub fn grad_scale(&self) -> Option<f64> {
        self.settings.precision.as_ref().and_then(MixedPrecision::scaler).map(|s| s.scale())
    }

    /// Optimizer steps skipped so far for a non-finite gradient (a loss scale that was too high).
    pub fn skipped_steps(&self) -> u64 {
        self.settings.precision.as_ref().and_then(MixedPrecision::scaler).map_or(0, |s| s.skipped_steps())
    }

    /// The float kind batches are cast to (`dtype`), when one was set.
    pub fn dtype(&self) -> Option<Kind> {
        self.settings.dtype
    }

    /// The keys: models, losses, miners and parameters, as declared.
    pub fn keys(&self) -> &T {
        &self.keys
    }

    /// The keys, mutably (to load weights, or to swap a loss between runs).
    pub fn keys_mut(&mut self) -> &mut T {
        &mut self.keys
    }

    /// The current 1-based epoch (0 before training).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The current 0-based iteration within the epoch.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// Iterations per epoch.
    pub fn iterations_per_epoch(&self) -> usize {
        self.settings.iterations_per_epoch
    }

    /// Iterations completed in the whole run (across epochs).
    pub(crate) fn global_iterations_done(&self) -> usize {
        self.iterations_done + self.settings.iterations_per_epoch * self.epoch.saturating_sub(1)
    }

    /// `iteration + iterations_per_epoch * (epoch - 1)`, as PML counts it.
    pub fn global_iteration(&self) -> usize {
        self.iteration + self.settings.iterations_per_epoch * self.epoch.saturating_sub(1)
    }

    /// The last iteration's losses, weighted, as numbers. Unlike PML, the epoch hook sees the
    /// epoch's last iteration here, not zeros.
    pub fn losses(&self) -> Vec<(T::Loss, f64)> {
        // Each is a scalar (the engine checked the total); NaN rather than a panic otherwise.
        self.losses.iter().map(|(loss, value)| (*loss, value.f_double_value(&[]).unwrap_or(f64::NAN))).collect()
    }

    /// The last iteration's total loss.
    pub fn total_loss(&self) -> f64 {
        self.total_loss
    }

    /// A loss's weight now.
    pub fn loss_weight(&self, loss: T::Loss) -> f64 {
        self.loss_weights.get(&loss).copied().unwrap_or_else(|| T::default_loss_weight(loss))
    }

    /// Changes a loss's weight for the following iterations.
    pub fn set_loss_weight(&mut self, loss: T::Loss, weight: f64) {
        self.loss_weights.insert(loss, weight);
    }

    /// The learning rate of a key's optimizer; `None` when it has none.
    pub fn learning_rate(&self, key: T::Key) -> Option<f64> {
        self.slots.iter().find(|s| s.key == key)?.optimizer.as_ref().map(|o| o.learning_rate())
    }

    /// Hyper-parameters and statistics of every loss and miner, by key (PML's `record_these`).
    pub fn records(&self) -> Vec<(String, Vec<Record>)> {
        self.keys.recorders().into_iter().map(|(name, c)| (name, c.records())).filter(|(_, r)| !r.is_empty()).collect()
    }

    /// Where batches are put.
    pub fn data_device(&self) -> Device {
        self.settings.device
    }

    /// Time spent in iterations since the trainer was built, and how much of it went to
    /// waiting for data.
    pub fn iteration_times(&self) -> IterationTimes {
        self.times
    }
}
