//! Turns a dataset and a sampling order into batches, forever: passes over the data follow one
//! another without a seam, so epochs (counted in iterations) and passes are independent, as
//! with PML's persistent iterator. With workers, batches are read, decoded, augmented and (for
//! a GPU) pinned and copied on threads ahead of use, and delivered in order.
//!
//! Pass `p` is drawn from a generator seeded with the run's seed and `p`, and batch `b` is
//! augmented from one seeded with the run's seed and `b`, so the loader's whole state is the
//! number of batches it has delivered: the same batches come out with any number of workers,
//! and a resumed run redraws the pass it stopped in and skips what was delivered, whatever was
//! prefetched when it stopped.
//!
//! In a data-parallel run every process draws the same global batches (the same seed, the same
//! order) and keeps its own share of each ([`LoaderBuilder::shard`]): rank `r` of `w` takes rows
//! `r * batch_size .. (r + 1) * batch_size` of a global batch of `w * batch_size`, so that the
//! ranks' shares, in rank order, are the batch one process would draw with the global size.

use super::{Batch, Dataset};
use crate::samplers::Sampler;
use crate::transforms::Transform;
use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use tch::{Device, Tensor};

/// Maps each sample list to a batch in place of the default collate (PML's `collate_fn`).
pub type CollateFn = dyn Fn(Vec<super::Sample>) -> Result<Batch> + Send + Sync;

/// Batches prepared ahead, per worker.
const PREFETCH_PER_WORKER: usize = 2;

/// Batches of a dataset, one after another without end (PyTorch's `DataLoader` with a
/// persistent iterator): the trainers' loader, usable on its own.
///
/// ```no_run
/// # use metric_learning::data::{ImageFolder, ImageOptions, Loader};
/// # use metric_learning::transforms::HorizontalFlip;
/// # fn main() -> metric_learning::Result<()> {
/// let folder = ImageFolder::open("photos", ImageOptions::new(64, 64))?;
/// let mut loader = Loader::builder(folder).batch_size(32).workers(2).augmentation(HorizontalFlip::new(0.5)).seed(7).build()?;
/// let pass = loader.batches_per_pass();
/// for batch in loader.by_ref().take(pass) {
///     let batch = batch?;
///     println!("{:?}", batch.data.size());
/// }
/// # Ok(()) }
/// ```
pub struct Loader {
    fetch: Fetch,
    sampler: Option<Box<dyn Sampler>>,
    batch_size: usize,
    shard: Shard,
    seed: u64,
    /// Passes drawn so far (the next one drawn is number `passes`).
    passes: u64,
    /// Batches handed out so far.
    delivered: u64,
    /// Index lists drawn so far (ahead of `delivered` when workers prefetch): the next batch's
    /// number.
    requested: u64,
    /// What is left of the current pass.
    pending: VecDeque<usize>,
    worker_count: usize,
    workers: Option<WorkerPool>,
}

/// A [`Loader`]'s options: batches of 1, no workers, shuffled passes, seed 0, on the CPU.
pub struct LoaderBuilder {
    dataset: Arc<dyn Dataset>,
    sampler: Option<Box<dyn Sampler>>,
    batch_size: usize,
    workers: usize,
    collate: Option<Arc<CollateFn>>,
    transforms: Vec<Arc<dyn Transform>>,
    seed: u64,
    device: Device,
    shard: Shard,
}

/// Which share of every global batch this process takes: `rank` of `world`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shard {
    rank: usize,
    world: usize,
}

impl Shard {
    const WHOLE: Shard = Shard { rank: 0, world: 1 };
}

impl LoaderBuilder {
    /// A loader of `dataset` (shared, as the trainers' builders hold it).
    pub fn new(dataset: Arc<dyn Dataset>) -> LoaderBuilder {
        LoaderBuilder { dataset, sampler: None, batch_size: 1, workers: 0, collate: None, transforms: Vec::new(), seed: 0, device: Device::Cpu, shard: Shard::WHOLE }
    }

    /// Samples per batch; a pass's incomplete last batch is dropped.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Threads that fetch batches ahead of use; 0 fetches on the calling thread.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The order of each pass, in place of a shuffle.
    pub fn sampler(mut self, sampler: Box<dyn Sampler>) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Maps each list of samples to a batch, in place of [`collate`](super::collate).
    pub fn collate(mut self, collate: Arc<CollateFn>) -> Self {
        self.collate = Some(collate);
        self
    }

    /// Transforms every sample of every batch, after the ones added before.
    pub fn augmentation(self, transform: impl Transform + 'static) -> Self {
        self.transform(Arc::new(transform))
    }

    /// [`augmentation`](Self::augmentation) with a shared transform.
    pub fn transform(mut self, transform: Arc<dyn Transform>) -> Self {
        self.transforms.push(transform);
        self
    }

    /// The seed of the passes' order and of the augmentations.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Where batches are delivered; for a GPU, they are pinned and copied on the workers.
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Takes share `rank` of `world` of every global batch of `world * batch_size` (see the
    /// module's documentation); a sampler is asked for global batches.
    ///
    /// # Errors
    /// In `build()`, when `rank` is not below `world`.
    pub fn shard(mut self, rank: usize, world: usize) -> Self {
        self.shard = Shard { rank, world };
        self
    }

    /// The loader.
    ///
    /// # Errors
    /// A batch size of 0, or a dataset (or sampler) that cannot fill one batch: the loader
    /// drops incomplete batches, so it would never deliver one.
    pub fn build(self) -> Result<Loader> {
        if self.batch_size == 0 {
            return Err(Error::mismatch("batch_size", "at least 1", "0"));
        }
        let Shard { rank, world } = self.shard;
        if rank >= world {
            return Err(Error::mismatch("the loader's shard", format!("a rank below the world size {world}"), format!("rank {rank}")));
        }
        let global = self.batch_size * world;
        let batch = if world > 1 { format!("global batch of {global} ({world} processes of {})", self.batch_size) } else { format!("batch of {global}") };
        match &self.sampler {
            Some(sampler) => sampler.check(self.dataset.len(), global).map_err(|e| e.in_key("sampler"))?,
            None if self.dataset.len() < global => {
                return Err(Error::config(format!(
                    "the dataset has {} samples, fewer than one {batch}; \
                     the loader drops incomplete batches, so no iteration could run",
                    self.dataset.len(),
                )))
            }
            None => {}
        }
        let fetch = Fetch { dataset: self.dataset, collate: self.collate, transforms: self.transforms, seed: self.seed, device: self.device };
        let workers = (self.workers > 0).then(|| WorkerPool::new(self.workers, &fetch));
        Ok(Loader {
            fetch,
            sampler: self.sampler,
            batch_size: self.batch_size,
            shard: self.shard,
            seed: self.seed,
            passes: 0,
            delivered: 0,
            requested: 0,
            pending: VecDeque::new(),
            worker_count: self.workers,
            workers,
        })
    }
}

/// How one list of indices becomes a batch; shared with the workers.
#[derive(Clone)]
struct Fetch {
    dataset: Arc<dyn Dataset>,
    collate: Option<Arc<CollateFn>>,
    transforms: Vec<Arc<dyn Transform>>,
    seed: u64,
    device: Device,
}

impl Fetch {
    /// Batch number `number` of the run, from `indices`: read, collated, each sample through
    /// the transforms with a generator seeded by the run's seed and the batch's number (so that
    /// the same batch comes out whichever worker, or none, makes it, and in a resumed run), then
    /// on the device.
    fn batch(&self, number: u64, indices: &[usize]) -> Result<Batch> {
        let mut batch = match &self.collate {
            None => self.dataset.get_batch(indices)?,
            Some(collate_fn) => {
                let samples = indices.iter().map(|&i| self.dataset.get(i)).collect::<Result<Vec<_>>>()?;
                collate_fn(samples)?
            }
        };
        if !self.transforms.is_empty() {
            let mut rng = StdRng::seed_from_u64(crate::seeds::mix(self.seed, crate::seeds::Stream::Augment, number));
            let data = &batch.data;
            let rows = data.size().first().copied().unwrap_or(0);
            let augmented = crate::guard::run(|| {
                let images: Vec<Tensor> = (0..rows)
                    .map(|i| self.transforms.iter().fold(data.get(i), |image, transform| transform.apply(&image, &mut rng)))
                    .collect();
                Ok(Tensor::f_stack(&images, 0)?)
            })
            .map_err(|e| Error::data(format!("the loader's augmentation failed on a batch of shape {:?}: {e}", data.size())))?;
            batch.data = augmented;
        }
        if self.device.is_cuda() {
            // Pinned memory makes the copy asynchronous; it runs here, off the training thread.
            batch.data = batch.data.f_pin_memory(self.device)?.f_to_device_(self.device, batch.data.kind(), true, false)?;
        }
        Ok(batch)
    }
}

impl Loader {
    /// A loader of `dataset`.
    pub fn builder(dataset: impl Dataset + 'static) -> LoaderBuilder {
        LoaderBuilder::new(Arc::new(dataset))
    }

    /// The first sample as a batch of one, through the collate and the transforms as batch 0
    /// would see it, on the device: what `build()` checks the models on.
    ///
    /// # Errors
    /// As [`next_batch`](Self::next_batch).
    pub fn sample(&self) -> Result<Batch> {
        self.fetch.batch(0, &[0])
    }

    /// Batches delivered so far: the loader's state.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Continues as a loader of run `seed` that had delivered `delivered` batches: the pass it
    /// was in is drawn again and its delivered batches skipped; prefetched batches are dropped.
    pub fn restore_seeded(&mut self, seed: u64, delivered: u64) {
        self.seed = seed;
        self.fetch.seed = seed;
        let per_pass = self.batches_per_pass().max(1) as u64;
        let (pass, offset) = (delivered / per_pass, delivered % per_pass);
        self.passes = pass;
        self.pending = self.new_pass().into();
        let skipped = (offset as usize * self.global_batch_size()).min(self.pending.len());
        self.pending.drain(..skipped);
        self.delivered = delivered;
        self.requested = delivered;
        if self.workers.is_some() {
            self.workers = Some(WorkerPool::new(self.worker_count, &self.fetch));
        }
    }

    /// Indices in one pass: the sampler's length, or the dataset's.
    pub fn pass_len(&self) -> usize {
        self.sampler.as_ref().map_or(self.fetch.dataset.len(), |s| s.len())
    }

    /// Full batches in one pass (the last, incomplete one is dropped, as PML's loader does);
    /// global batches when the loader takes a share of each.
    pub fn batches_per_pass(&self) -> usize {
        self.pass_len() / self.global_batch_size()
    }

    /// The rows of a global batch: the batch size times the processes sharing each batch.
    fn global_batch_size(&self) -> usize {
        self.batch_size * self.shard.world
    }

    /// The next batch.
    ///
    /// # Errors
    /// When a sample cannot be read, collated or transformed, or a worker stopped.
    pub fn next_batch(&mut self) -> Result<Batch> {
        self.delivered += 1;
        match self.workers.take() {
            None => {
                let (number, indices) = self.next_indices();
                self.fetch.batch(number, &indices)
            }
            Some(mut pool) => {
                while pool.in_flight() < pool.capacity() {
                    let request = self.next_indices();
                    pool.send(request);
                }
                let batch = pool.receive();
                self.workers = Some(pool);
                batch
            }
        }
    }

    /// The next batch's number and indices: this process's share of the next global batch.
    fn next_indices(&mut self) -> (u64, Vec<usize>) {
        let global = self.global_batch_size();
        if self.pending.len() < global {
            self.pending = self.new_pass().into();
        }
        let Shard { rank, world } = self.shard;
        // Augmentation draws per batch and per share, so that the ranks' rows differ in their draws.
        let number = self.requested * world as u64 + rank as u64;
        self.requested += 1;
        let share = self.pending.drain(..global).skip(rank * self.batch_size).take(self.batch_size).collect();
        (number, share)
    }

    fn new_pass(&mut self) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(crate::seeds::mix(self.seed, crate::seeds::Stream::Pass, self.passes));
        self.passes += 1;
        match &mut self.sampler {
            Some(sampler) => sampler.indices(&mut rng),
            None => {
                let mut order: Vec<usize> = (0..self.fetch.dataset.len()).collect();
                order.shuffle(&mut rng);
                order
            }
        }
    }
}

/// Threads that each fetch the batches sent to them; batch `i` goes to worker `i % n`, and
/// batches are received in the same rotation, so they arrive in sampling order.
struct WorkerPool {
    senders: Vec<Sender<(u64, Vec<usize>)>>,
    receivers: Vec<Receiver<Result<Batch>>>,
    threads: Vec<JoinHandle<()>>,
    sent: usize,
    received: usize,
}

impl WorkerPool {
    fn new(workers: usize, fetch: &Fetch) -> WorkerPool {
        let mut pool = WorkerPool { senders: Vec::new(), receivers: Vec::new(), threads: Vec::new(), sent: 0, received: 0 };
        for _ in 0..workers {
            let (index_tx, index_rx) = channel::<(u64, Vec<usize>)>();
            let (batch_tx, batch_rx) = channel::<Result<Batch>>();
            let fetch = fetch.clone();
            pool.threads.push(std::thread::spawn(move || {
                for (number, indices) in index_rx {
                    if batch_tx.send(fetch.batch(number, &indices)).is_err() {
                        break;
                    }
                }
            }));
            pool.senders.push(index_tx);
            pool.receivers.push(batch_rx);
        }
        pool
    }

    fn capacity(&self) -> usize {
        self.senders.len() * PREFETCH_PER_WORKER
    }

    fn in_flight(&self) -> usize {
        self.sent - self.received
    }

    fn send(&mut self, indices: (u64, Vec<usize>)) {
        let worker = self.sent % self.senders.len();
        // A worker only stops when its channel closes, which happens in `drop`.
        let _ = self.senders[worker].send(indices);
        self.sent += 1;
    }

    fn receive(&mut self) -> Result<Batch> {
        let worker = self.received % self.receivers.len();
        self.received += 1;
        self.receivers[worker]
            .recv()
            .unwrap_or_else(|_| Err(crate::Error::data("a loader worker stopped (it panicked while fetching a batch)")))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.senders.clear();
        self.receivers.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Endless: each item is [`Loader::next_batch`]; take [`Loader::batches_per_pass`] for a pass.
impl Iterator for Loader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        Some(self.next_batch())
    }
}
