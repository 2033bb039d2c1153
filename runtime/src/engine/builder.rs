//! The engine's options (PML's `BaseTrainer` arguments), gathered by the generated builder and
//! checked in `build()`.

use super::data_parallel::DataParallel;
use super::labels::LabelProcessor;
use super::slot::KeySlot;
use super::trainer::{BatchGetter as Getter, EpochHook, Hooks, IterationHook, Settings, Trainer};
use crate::checkpoint::{Checkpointer, Checkpoints};
use crate::hooks::{EpochClosure, Hook, IterationClosure, ProgressBar};
use std::path::PathBuf;
use crate::data::{Dataset, Labels, Loader, LoaderBuilder};
use crate::error::When;
use crate::optim::{GradClipper, LrScheduler, Optimizer, StepType};
use crate::precision::MixedPrecision;
use crate::samplers::Sampler;
use crate::trainer::{KeyName, Step, TrainerKeys};
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// Everything but the keys; the generated builder forwards to it.
#[doc(hidden)]
pub struct EngineBuilder<T: TrainerKeys> {
    optimizers: Vec<(T::Key, Box<dyn Optimizer>)>,
    schedulers: Vec<(T::Key, StepType, Box<dyn LrScheduler>)>,
    clippers: Vec<(T::Key, Box<dyn GradClipper>)>,
    frozen: Vec<T::Key>,
    loss_weights: HashMap<T::Loss, f64>,
    sampler: Option<Box<dyn Sampler>>,
    iterations_per_epoch: Option<usize>,
    data_device: Option<Device>,
    dtype: Option<Kind>,
    collate: Option<Arc<crate::data::CollateFn>>,
    data_and_label_getter: Option<Getter>,
    label_hierarchy_level: usize,
    dataset_labels: Option<Labels>,
    set_min_label_to_zero: bool,
    num_workers: usize,
    augmentation: Option<Arc<dyn crate::transforms::Transform>>,
    freeze_trunk_batchnorm: bool,
    hooks: Vec<Box<dyn Hook<T>>>,
    seed: Option<u64>,
    progress_bar: bool,
    run_folder: Option<PathBuf>,
    checkpoints: Option<Checkpoints>,
    resume_from: Option<PathBuf>,
    data_parallel: Option<DataParallel>,
    precision: Option<MixedPrecision>,
}

impl<T: TrainerKeys> Default for EngineBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TrainerKeys> EngineBuilder<T> {
    pub fn new() -> Self {
        EngineBuilder {
            optimizers: Vec::new(),
            schedulers: Vec::new(),
            clippers: Vec::new(),
            frozen: Vec::new(),
            loss_weights: HashMap::new(),
            sampler: None,
            iterations_per_epoch: None,
            data_device: None,
            dtype: None,
            collate: None,
            data_and_label_getter: None,
            label_hierarchy_level: 0,
            dataset_labels: None,
            set_min_label_to_zero: false,
            num_workers: 0,
            augmentation: None,
            freeze_trunk_batchnorm: false,
            hooks: Vec::new(),
            seed: None,
            progress_bar: true,
            run_folder: None,
            checkpoints: None,
            resume_from: None,
            data_parallel: None,
            precision: None,
        }
    }

    pub fn optimizer(mut self, key: T::Key, optimizer: Box<dyn Optimizer>) -> Self {
        self.optimizers.push((key, optimizer));
        self
    }
    pub fn scheduler(mut self, key: T::Key, step: StepType, scheduler: Box<dyn LrScheduler>) -> Self {
        self.schedulers.push((key, step, scheduler));
        self
    }
    pub fn grad_clipper(mut self, key: T::Key, clipper: Box<dyn GradClipper>) -> Self {
        self.clippers.push((key, clipper));
        self
    }
    pub fn freeze(mut self, keys: impl IntoIterator<Item = T::Key>) -> Self {
        self.frozen.extend(keys);
        self
    }
    pub fn loss_weight(mut self, loss: T::Loss, weight: f64) -> Self {
        self.loss_weights.insert(loss, weight);
        self
    }
    pub fn sampler(mut self, sampler: Box<dyn Sampler>) -> Self {
        self.sampler = Some(sampler);
        self
    }
    pub fn iterations_per_epoch(mut self, iterations: usize) -> Self {
        self.iterations_per_epoch = Some(iterations);
        self
    }
    pub fn data_device(mut self, device: Device) -> Self {
        self.data_device = Some(device);
        self
    }
    pub fn dtype(mut self, dtype: Kind) -> Self {
        self.dtype = Some(dtype);
        self
    }
    pub fn collate(mut self, collate: Arc<crate::data::CollateFn>) -> Self {
        self.collate = Some(collate);
        self
    }
    pub fn data_and_label_getter(mut self, getter: Getter) -> Self {
        self.data_and_label_getter = Some(getter);
        self
    }
    pub fn label_hierarchy_level(mut self, level: usize) -> Self {
        self.label_hierarchy_level = level;
        self
    }
    pub fn dataset_labels(mut self, labels: Labels) -> Self {
        self.dataset_labels = Some(labels);
        self
    }
    pub fn set_min_label_to_zero(mut self, on: bool) -> Self {
        self.set_min_label_to_zero = on;
        self
    }
    pub fn dataloader_num_workers(mut self, workers: usize) -> Self {
        self.num_workers = workers;
        self
    }
    pub fn augmentation(mut self, augmentation: Arc<dyn crate::transforms::Transform>) -> Self {
        self.augmentation = Some(augmentation);
        self
    }
    pub fn freeze_trunk_batchnorm(mut self, on: bool) -> Self {
        self.freeze_trunk_batchnorm = on;
        self
    }
    pub fn end_of_iteration_hook(mut self, hook: IterationHook<T>) -> Self {
        self.hooks.push(Box::new(IterationClosure(hook)));
        self
    }
    pub fn end_of_epoch_hook(mut self, hook: EpochHook<T>) -> Self {
        self.hooks.push(Box::new(EpochClosure(hook)));
        self
    }
    pub fn hook(mut self, hook: Box<dyn Hook<T>>) -> Self {
        self.hooks.push(hook);
        self
    }
    pub fn run_folder(mut self, folder: PathBuf) -> Self {
        self.run_folder = Some(folder);
        self
    }
    pub fn checkpoints(mut self, checkpoints: Checkpoints) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }
    pub fn resume_from(mut self, checkpoint: PathBuf) -> Self {
        self.resume_from = Some(checkpoint);
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    pub fn progress_bar(mut self, on: bool) -> Self {
        self.progress_bar = on;
        self
    }
    pub fn mixed_precision(mut self, precision: MixedPrecision) -> Self {
        self.precision = Some(precision);
        self
    }
    #[cfg(feature = "distributed")]
    pub fn distributed(mut self, group: Arc<crate::distributed::ProcessGroup>) -> Self {
        self.data_parallel = Some(DataParallel::new(group));
        self
    }

}

// Building needs the step; the options above need only the keys, so that a declaration whose
// step is missing fails once, at `.build()`, and not at every option.
impl<T: Step> EngineBuilder<T> {
    /// Checks everything that can be checked before training and assembles the trainer; an
    /// error is placed in `build()` and names the key it is about.
    pub fn build(self, keys: T, dataset: Arc<dyn Dataset>, batch_size: usize) -> Result<Trainer<T>> {
        self.assemble(keys, dataset, batch_size).map_err(|e| e.in_trainer(T::NAME, When::Build))
    }

    fn assemble(mut self, mut keys: T, dataset: Arc<dyn Dataset>, batch_size: usize) -> Result<Trainer<T>> {
        self.check_dataset_labels(dataset.as_ref())?;
        let device = self.data_device.unwrap_or_else(Device::cuda_if_available);
        check_device(device)?;
        if let Some(precision) = &self.precision {
            precision.check(device)?;
        }
        for key in keys.parameter_keys() {
            if let Some(component) = keys.component_mut(key) {
                component.bind_key(&key.name());
            }
        }
        self.check_parameters(&keys, device)?;
        let labels = self.label_processor(dataset.as_ref())?;
        // Every random stream of the run derives from this seed; an unseeded run draws one, and
        // its checkpoints record it, so that even it resumes exactly.
        let mut seed = self.seed.unwrap_or_else(rand::random);
        let (mut rank, mut world) = (0, 1);
        if let Some(data_parallel) = &self.data_parallel {
            seed = data_parallel.agree_on_seed(seed)?;
            (rank, world) = (data_parallel.rank(), data_parallel.world_size());
        }
        let mut loader = LoaderBuilder::new(dataset)
            .batch_size(batch_size)
            .shard(rank, world)
            .workers(self.num_workers)
            .seed(seed)
            .device(device);
        if let Some(sampler) = self.sampler.take() {
            loader = loader.sampler(sampler);
        }
        if let Some(collate) = self.collate.take() {
            loader = loader.collate(collate);
        }
        for transform in self.augmentation.take().into_iter().chain(keys.loader_transform()) {
            loader = loader.transform(transform);
        }
        let loader = loader.build()?;
        let sample = self.sample(&loader, device)?;
        set_training(&mut keys, false);
        // The models on one sample, without gradients: a trunk whose output does not fit the
        // embedder fails here, naming the key, and not an hour into the run.
        let checked = crate::guard::run(|| tch::no_grad(|| keys.setup(&sample)));
        set_training(&mut keys, true);
        checked?;
        let slots = self.slots(&keys)?;
        let iterations_per_epoch = match self.iterations_per_epoch {
            Some(0) => return Err(Error::mismatch("iterations_per_epoch", "at least 1", "0")),
            Some(n) => n,
            None => loader.batches_per_pass(),
        };
        let run_folder = match self.run_folder.take() {
            Some(folder) => Some(writable_folder(folder)?),
            None => None,
        };
        // Only rank 0 writes checkpoints and runs hooks (logs, plots, validation, the bar).
        let checkpoints = match self.checkpoints.take() {
            Some(policy) if rank == 0 => Some(Checkpointer::new(policy, run_folder.as_deref())?),
            _ => None,
        };
        let settings = Settings {
            device,
            dtype: self.dtype,
            iterations_per_epoch,
            freeze_trunk_batchnorm: self.freeze_trunk_batchnorm,
            seed,
            run_folder,
            data_parallel: self.data_parallel.take(),
            precision: self.precision.take(),
        };
        let mut list: Vec<Box<dyn Hook<T>>> = Vec::new();
        if rank == 0 {
            if self.progress_bar {
                list.push(Box::new(ProgressBar::new()));
            }
            list.append(&mut self.hooks);
        }
        let hooks = Hooks { list, data_and_label_getter: self.data_and_label_getter.take() };
        let mut trainer = Trainer::assemble(keys, slots, self.loss_weights, loader, labels, settings, hooks);
        trainer.checkpoints = checkpoints;
        if let Some(path) = self.resume_from.take() {
            trainer.resume(&path)?;
        }
        if let Some(data_parallel) = &trainer.settings.data_parallel {
            data_parallel.broadcast_state(&trainer.keys)?;
            data_parallel.define_gradients(&trainer.all_parameters())?;
        }
        Ok(trainer)
    }

    /// The dataset's first sample as a batch of one, where and as the trainer will see data
    /// (through the loader's collate and transforms).
    fn sample(&self, loader: &Loader, device: Device) -> Result<Tensor> {
        let mut sample = loader.sample()?.data.f_to_device(device)?;
        if let Some(kind) = self.dtype {
            sample = sample.f_to_kind(kind)?;
        }
        Ok(sample)
    }

    /// Parameters must live where the data goes, and be of the kind `.dtype(...)` casts the
    /// data to; otherwise the first forward pass fails inside libtorch.
    fn check_parameters(&self, keys: &T, device: Device) -> Result<()> {
        for key in keys.parameter_keys() {
            let Some(vs) = keys.component(key).and_then(|c| c.var_store()) else { continue };
            let Some(parameter) = vs.trainable_variables().into_iter().next() else { continue };
            if parameter.device() != device {
                return Err(Error::mismatch(
                    key.name(),
                    format!("parameters on {device:?}, where `data_device` puts the data"),
                    format!("parameters on {:?}", parameter.device()),
                ));
            }
            if let Some(kind) = self.dtype {
                if parameter.kind() != kind {
                    return Err(Error::mismatch(
                        key.name(),
                        format!("parameters of kind {kind:?}, as `.dtype({kind:?})` casts the data (convert the model, or drop `.dtype`)"),
                        format!("parameters of kind {:?}", parameter.kind()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Labels given beside the dataset must be one row per sample, or label processing would
    /// index past them. (The loader checks that the dataset and sampler fill a batch.)
    fn check_dataset_labels(&self, dataset: &dyn Dataset) -> Result<()> {
        if let Some(labels) = &self.dataset_labels {
            if labels.len() != dataset.len() {
                return Err(Error::mismatch(
                    "dataset_labels",
                    format!("one row per sample of the dataset ({})", dataset.len()),
                    format!("{} rows", labels.len()),
                ));
            }
        }
        Ok(())
    }

    /// PML fails on the first batch when `set_min_label_to_zero` has no labels to map; we take
    /// the dataset's own labels when it knows them, and fail here otherwise.
    fn label_processor(&self, dataset: &dyn Dataset) -> Result<LabelProcessor> {
        if !self.set_min_label_to_zero {
            return LabelProcessor::new(self.label_hierarchy_level, None);
        }
        let labels = match (&self.dataset_labels, dataset.labels()) {
            (Some(given), _) => given.clone(),
            (None, Some(own)) => own,
            (None, None) => {
                return Err(Error::config(
                    "set_min_label_to_zero needs every label of the dataset: pass `.dataset_labels(...)` \
                     (this dataset does not list its labels)",
                ))
            }
        };
        LabelProcessor::new(self.label_hierarchy_level, Some(&labels))
    }

    fn slots(&mut self, keys: &T) -> Result<Vec<KeySlot<T::Key>>> {
        let declared = keys.parameter_keys();
        let named = |key: &T::Key| key.name();
        for key in self.optimizers.iter().map(|(k, _)| k).chain(self.frozen.iter()).chain(self.clippers.iter().map(|(k, _)| k)) {
            if !declared.contains(key) {
                return Err(Error::config(format!(
                    "`{}` is not set on this {}: its index is past the end of the family",
                    named(key),
                    T::NAME
                )));
            }
        }
        // A second optimizer or clipper for one key is a mistake, not "the last one wins".
        for (what, keys) in [("optimizer", self.optimizers.iter().map(|(k, _)| k).collect::<Vec<_>>()), ("grad_clipper", self.clippers.iter().map(|(k, _)| k).collect())] {
            if let Some(twice) = keys.iter().enumerate().find_map(|(i, k)| keys[..i].contains(k).then_some(k)) {
                let method = format!("{}_{what}", named(twice));
                return Err(Error::mismatch(method.clone(), "one value", format!("`.{method}(...)` called twice")));
            }
        }
        let mut slots = Vec::new();
        for key in declared {
            let parameters = keys.component(key).and_then(|c| c.var_store()).map(|vs| vs.trainable_variables()).unwrap_or_default();
            let mut optimizer = self.optimizers.iter().position(|(k, _)| *k == key).map(|i| self.optimizers.remove(i).1);
            if optimizer.is_some() && parameters.is_empty() {
                return Err(Error::config(format!(
                    "`{}_optimizer` is set, but `{}` has no parameters to optimise",
                    named(&key),
                    named(&key)
                )));
            }
            let mut schedulers = Vec::new();
            while let Some(i) = self.schedulers.iter().position(|(k, _, _)| *k == key) {
                let (_, step, scheduler) = self.schedulers.remove(i);
                schedulers.push((step, scheduler));
            }
            let mut initial_lr = 0.0;
            if let Some(optimizer) = &mut optimizer {
                optimizer.attach(parameters.iter().map(|p| p.shallow_clone()).collect());
                initial_lr = optimizer.learning_rate();
                for (_, scheduler) in &mut schedulers {
                    optimizer.set_learning_rate(scheduler.start(optimizer.learning_rate()));
                }
            } else if !schedulers.is_empty() {
                return Err(Error::config(format!(
                    "`{}` has a learning-rate scheduler but no optimizer; set `.{}_optimizer(...)`",
                    named(&key),
                    named(&key)
                )));
            }
            let frozen = self.frozen.contains(&key);
            if frozen {
                for p in &parameters {
                    let _ = p.set_requires_grad(false);
                }
            }
            let clipper = self.clippers.iter().position(|(k, _)| *k == key).map(|i| self.clippers.remove(i).1);
            slots.push(KeySlot { key, parameters, optimizer, initial_lr, schedulers, clipper, frozen, stepping: true });
        }
        Ok(slots)
    }
}

/// A CUDA device on a machine without one fails at the first tensor moved there; say so now.
fn check_device(device: Device) -> Result<()> {
    let Device::Cuda(index) = device else { return Ok(()) };
    let available = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
    if index < available {
        return Ok(());
    }
    let expected = match available {
        0 => "Device::Cpu (this machine has no CUDA device libtorch can use)".to_string(),
        n => format!("Device::Cpu or Device::Cuda(0..{n})"),
    };
    Err(Error::mismatch("data_device", expected, format!("Device::Cuda({index})")))
}

fn set_training<T: TrainerKeys>(keys: &mut T, training: bool) {
    for key in keys.parameter_keys() {
        if let Some(component) = keys.component_mut(key) {
            component.set_training(training);
        }
    }
}

/// The engine's options as builder methods; expanded inside every generated builder so that the
/// list lives here, beside `EngineBuilder`, and not in the macro.
#[doc(hidden)]
#[macro_export]
macro_rules! __engine_setters {
    ($trainer:ty) => {
        /// The order in which the loader visits the dataset (PML's `sampler`); shuffled without one.
        pub fn sampler(mut self, sampler: impl $crate::samplers::Sampler + 'static) -> Self {
            self.__engine = self.__engine.sampler(::std::boxed::Box::new(sampler));
            self
        }
        /// Iterations per epoch; one pass of the loader when not set.
        pub fn iterations_per_epoch(mut self, iterations: usize) -> Self {
            self.__engine = self.__engine.iterations_per_epoch(iterations);
            self
        }
        /// Where batches go; CUDA when available, else the CPU.
        pub fn data_device(mut self, device: $crate::tch::Device) -> Self {
            self.__engine = self.__engine.data_device(device);
            self
        }
        /// Casts input batches to this kind.
        pub fn dtype(mut self, dtype: $crate::tch::Kind) -> Self {
            self.__engine = self.__engine.dtype(dtype);
            self
        }
        /// Builds batches from samples in place of the default stacking (PML's `collate_fn`);
        /// `build()` calls it once on the first sample, to check the models on what they will see.
        pub fn collate(
            mut self,
            collate: impl ::core::ops::Fn(::std::vec::Vec<$crate::data::Sample>) -> $crate::Result<$crate::data::Batch> + Send + Sync + 'static,
        ) -> Self {
            self.__engine = self.__engine.collate(::std::sync::Arc::new(collate));
            self
        }
        /// Rewrites each batch before label processing (PML's `data_and_label_getter`).
        pub fn data_and_label_getter(
            mut self,
            getter: impl ::core::ops::FnMut($crate::data::Batch) -> $crate::Result<$crate::data::Batch> + 'static,
        ) -> Self {
            self.__engine = self.__engine.data_and_label_getter(::std::boxed::Box::new(getter));
            self
        }
        /// Which column of multi-level labels the losses see.
        pub fn label_hierarchy_level(mut self, level: usize) -> Self {
            self.__engine = self.__engine.label_hierarchy_level(level);
            self
        }
        /// Every label of the dataset, for `set_min_label_to_zero`.
        pub fn dataset_labels(mut self, labels: $crate::data::Labels) -> Self {
            self.__engine = self.__engine.dataset_labels(labels);
            self
        }
        /// Maps labels to their rank among the dataset's sorted labels (strings included).
        pub fn set_min_label_to_zero(mut self, on: bool) -> Self {
            self.__engine = self.__engine.set_min_label_to_zero(on);
            self
        }
        /// Threads that fetch batches ahead of use; 0 fetches on the training thread.
        pub fn dataloader_num_workers(mut self, workers: usize) -> Self {
            self.__engine = self.__engine.dataloader_num_workers(workers);
            self
        }
        /// Augments every sample of every batch in the loader (on its workers when there are
        /// some), each batch from a generator seeded by the run's seed and the batch's number:
        /// the same batches with any number of workers, and in a resumed run.
        pub fn augmentation(mut self, augmentation: impl $crate::transforms::Transform + 'static) -> Self {
            self.__engine = self.__engine.augmentation(::std::sync::Arc::new(augmentation));
            self
        }
        /// Keys whose parameters stay unchanged: no gradient, eval mode, no optimizer step.
        pub fn freeze(mut self, keys: impl ::core::iter::IntoIterator<Item = <$trainer as $crate::trainer::TrainerKeys>::Key>) -> Self {
            self.__engine = self.__engine.freeze(keys);
            self
        }
        /// Runs the trunk in eval mode during training, so its batch-norm statistics stay fixed.
        pub fn freeze_trunk_batchnorm(mut self, on: bool) -> Self {
            self.__engine = self.__engine.freeze_trunk_batchnorm(on);
            self
        }
        /// The weight of one loss in the total (1 unless the declaration says otherwise).
        pub fn loss_weight(mut self, loss: <$trainer as $crate::trainer::TrainerKeys>::Loss, weight: f64) -> Self {
            self.__engine = self.__engine.loss_weight(loss, weight);
            self
        }
        /// Called after every iteration.
        pub fn end_of_iteration_hook(
            mut self,
            hook: impl ::core::ops::FnMut(&mut $crate::engine::Trainer<$trainer>) -> $crate::Result<()> + 'static,
        ) -> Self {
            self.__engine = self.__engine.end_of_iteration_hook(::std::boxed::Box::new(hook));
            self
        }
        /// Called after every epoch; returning `ControlFlow::Break(())` stops training.
        pub fn end_of_epoch_hook(
            mut self,
            hook: impl ::core::ops::FnMut(&mut $crate::engine::Trainer<$trainer>) -> $crate::Result<::core::ops::ControlFlow<()>> + 'static,
        ) -> Self {
            self.__engine = self.__engine.end_of_epoch_hook(::std::boxed::Box::new(hook));
            self
        }
        /// Adds a hook (see [`hooks`]($crate::hooks)): called at the training's events, after
        /// the hooks added before it.
        pub fn hook(mut self, hook: impl $crate::hooks::Hook<$trainer> + 'static) -> Self {
            self.__engine = self.__engine.hook(::std::boxed::Box::new(hook));
            self
        }
        /// The run's folder (created if missing): where hooks write logs and plots, and
        /// checkpoints go (`<folder>/checkpoints`).
        pub fn run_folder(mut self, folder: impl ::core::convert::Into<::std::path::PathBuf>) -> Self {
            self.__engine = self.__engine.run_folder(folder.into());
            self
        }
        /// When to write checkpoints and how many to keep.
        pub fn checkpoints(mut self, checkpoints: $crate::checkpoint::Checkpoints) -> Self {
            self.__engine = self.__engine.checkpoints(checkpoints);
            self
        }
        /// Continues the run a checkpoint saved (see `Trainer::resume`), once built.
        pub fn resume_from(mut self, checkpoint: impl ::core::convert::Into<::std::path::PathBuf>) -> Self {
            self.__engine = self.__engine.resume_from(checkpoint.into());
            self
        }
        /// Seeds every random stream of the run: the sampler's and the loader's shuffling, and
        /// libtorch's generator at each iteration.
        pub fn seed(mut self, seed: u64) -> Self {
            self.__engine = self.__engine.seed(seed);
            self
        }
        /// Shows a progress bar with the running loss (on by default).
        pub fn progress_bar(mut self, on: bool) -> Self {
            self.__engine = self.__engine.progress_bar(on);
            self
        }
        /// Runs each step's models under autocast in bf16 (CPU or CUDA) or f16 (CUDA, with a
        /// loss scale); losses and miners get f32 embeddings. `build()` checks that the device
        /// computes the precision natively.
        pub fn mixed_precision(mut self, precision: $crate::precision::MixedPrecision) -> Self {
            self.__engine = self.__engine.mixed_precision(precision);
            self
        }
        $crate::__distributed_setter!();
    };
}

/// `.distributed(group)`, in builders of crates that enable the `distributed` feature: decided
/// here, where the feature is known, and not in the crate that expands the builder.
#[cfg(feature = "distributed")]
#[doc(hidden)]
#[macro_export]
macro_rules! __distributed_setter {
    () => {
        /// Trains as one of the processes of `group` (data-parallel): each takes its share of
        /// every global batch (`batch_size` rows each, the ranks' shares in rank order make the
        /// global batch), all start from rank 0's parameters, gradients are averaged after every
        /// backward pass, and only rank 0 runs the hooks and writes checkpoints. Wrap losses and
        /// miners that must see the whole global batch in
        /// [`DistributedLossWrapper`]($crate::distributed::DistributedLossWrapper) and
        /// [`DistributedMinerWrapper`]($crate::distributed::DistributedMinerWrapper).
        pub fn distributed(mut self, group: ::std::sync::Arc<$crate::distributed::ProcessGroup>) -> Self {
            self.__engine = self.__engine.distributed(group);
            self
        }
    };
}

#[cfg(not(feature = "distributed"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __distributed_setter {
    () => {};
}

/// `folder`, created if missing, after checking that a file can be written in it.
fn writable_folder(folder: PathBuf) -> Result<PathBuf> {
    let unwritable = |reason: String| Error::File { path: folder.clone(), reason };
    std::fs::create_dir_all(&folder).map_err(|e| unwritable(format!("cannot create the run folder: {e}")))?;
    let probe = folder.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| unwritable(format!("the run folder is not writable: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(folder)
}
