//! Turns a dataset and a sampling order into batches, forever: passes over the data follow one
//! another without a seam, so epochs (counted in iterations) and passes are independent, as
//! with PML's persistent iterator. With workers, batches are fetched on threads ahead of use
//! and delivered in order.
//!
//! Pass `p` is drawn from a generator seeded with the run's seed and `p`, so the loader's whole
//! state is the number of batches it has delivered: a resumed run redraws the pass it stopped
//! in and skips what was delivered, whatever was prefetched when it stopped.

use super::{Batch, Dataset};
use crate::samplers::Sampler;
use crate::transforms::Transform;
use tch::Tensor;
use crate::Result;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Maps each sample list to a batch in place of the default collate (PML's `collate_fn`).
pub type CollateFn = dyn Fn(Vec<super::Sample>) -> Result<Batch> + Send + Sync;

/// Batches prepared ahead, per worker.
const PREFETCH_PER_WORKER: usize = 2;

pub(crate) struct Loader {
    fetch: Fetch,
    sampler: Option<Box<dyn Sampler>>,
    batch_size: usize,
    seed: u64,
    /// Passes drawn so far (the next one drawn is number `passes`).
    passes: u64,
    /// Batches handed to the trainer so far.
    delivered: u64,
    /// Index lists drawn so far (ahead of `delivered` when workers prefetch): the next batch's
    /// number.
    requested: u64,
    /// What is left of the current pass.
    pending: VecDeque<usize>,
    worker_count: usize,
    workers: Option<WorkerPool>,
}

/// How one list of indices becomes a batch; shared with the workers.
#[derive(Clone)]
struct Fetch {
    dataset: Arc<dyn Dataset>,
    collate: Option<Arc<CollateFn>>,
    augmentation: Option<Arc<dyn Transform>>,
    seed: u64,
}

impl Fetch {
    /// Batch number `number` of the run, from `indices`: read, collated, and augmented with a
    /// generator seeded by the run's seed and the batch's number, so that the same batch comes
    /// out whichever worker (or none) makes it, and in a resumed run.
    fn batch(&self, number: u64, indices: &[usize]) -> Result<Batch> {
        let mut batch = match &self.collate {
            None => self.dataset.get_batch(indices)?,
            Some(collate_fn) => {
                let samples = indices.iter().map(|&i| self.dataset.get(i)).collect::<Result<Vec<_>>>()?;
                collate_fn(samples)?
            }
        };
        if let Some(augmentation) = &self.augmentation {
            let mut rng = StdRng::seed_from_u64(crate::seeds::mix(self.seed, crate::seeds::Stream::Augment, number));
            let data = &batch.data;
            let rows = data.size().first().copied().unwrap_or(0);
            let augmented = crate::guard::run(|| {
                let images: Vec<Tensor> = (0..rows).map(|i| augmentation.apply(&data.get(i), &mut rng)).collect();
                Ok(Tensor::f_stack(&images, 0)?)
            })
            .map_err(|e| crate::Error::data(format!("the loader's augmentation failed on a batch of shape {:?}: {e}", data.size())))?;
            batch.data = augmented;
        }
        Ok(batch)
    }
}

impl Loader {
    pub fn new(
        dataset: Arc<dyn Dataset>,
        sampler: Option<Box<dyn Sampler>>,
        batch_size: usize,
        workers: usize,
        collate: Option<Arc<CollateFn>>,
        augmentation: Option<Arc<dyn Transform>>,
        seed: u64,
    ) -> Loader {
        let fetch = Fetch { dataset, collate, augmentation, seed };
        let pool = (workers > 0).then(|| WorkerPool::new(workers, &fetch));
        Loader { fetch, sampler, batch_size, seed, passes: 0, delivered: 0, requested: 0, pending: VecDeque::new(), worker_count: workers, workers: pool }
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
        let skipped = (offset as usize * self.batch_size).min(self.pending.len());
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

    /// Full batches in one pass (the last, incomplete one is dropped, as PML's loader does).
    pub fn batches_per_pass(&self) -> usize {
        self.pass_len() / self.batch_size
    }

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

    /// The next batch's number and indices.
    fn next_indices(&mut self) -> (u64, Vec<usize>) {
        if self.pending.len() < self.batch_size {
            self.pending = self.new_pass().into();
        }
        let number = self.requested;
        self.requested += 1;
        (number, self.pending.drain(..self.batch_size).collect())
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
