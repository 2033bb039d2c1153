use super::input::check_embeddings;
use super::self_supervised::check_supported;
use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::{all_pairs, without_self_comparisons, Tuples};
use crate::miners::TupleMiner;
use crate::reducers::zero_loss;
use crate::{Error, Result};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The losses PML's `CrossBatchMemory` accepts that this crate has.
const SUPPORTED: &[&str] = &[
    "CircleLoss",
    "ContrastiveLoss",
    "GeneralizedLiftedStructureLoss",
    "LiftedStructureLoss",
    "MarginLoss",
    "MultiSimilarityLoss",
    "NCALoss",
    "NTXentLoss",
    "SupConLoss",
    "TripletMarginLoss",
];

/// A pair or triplet loss of each batch against a queue of the last `memory_size` embeddings
/// and labels of earlier batches and this one (Wang et al., 2020; PML's `CrossBatchMemory`).
/// Each call enqueues the batch (detached), overwriting the oldest entries, then computes the
/// loss of the batch against the queue on every pair (or the miner's tuples), less each sample
/// paired with its own queue entry. With an `enqueue_mask`, the rows it marks go into the queue
/// only and the others are the queries (then no entry is a query's own).
///
/// The queue is the wrapper's state: checkpoints hold it, so a resumed run continues with the
/// queue the interrupted one had.
pub struct CrossBatchMemory {
    loss: Box<dyn MetricLoss>,
    miner: Option<Box<dyn TupleMiner>>,
    embedding_size: i64,
    memory_size: i64,
    embedding_memory: Tensor,
    label_memory: Tensor,
    queue_idx: i64,
    has_been_filled: bool,
}

impl std::fmt::Debug for CrossBatchMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossBatchMemory")
            .field("embedding_size", &self.embedding_size)
            .field("memory_size", &self.memory_size)
            .field("queue_idx", &self.queue_idx)
            .field("has_been_filled", &self.has_been_filled)
            .field("mined", &self.miner.is_some())
            .finish_non_exhaustive()
    }
}

impl CrossBatchMemory {
    /// Whether it can wrap the loss of this name (PML's class name): a program that makes the
    /// loss from a name (an experiment file) asks before boxing it, since `new` can only check
    /// a concrete type.
    pub fn supports(loss: &str) -> bool {
        SUPPORTED.contains(&loss)
    }

    /// Wraps `loss` for embeddings of width `embedding_size`, with PML's queue of 1024 and
    /// every pair (no miner).
    ///
    /// # Errors
    /// For a loss PML's wrapper does not support (one with learned class weights, `FastAPLoss`);
    /// a boxed loss is not checked.
    pub fn new<L: MetricLoss + 'static>(loss: L, embedding_size: i64) -> Result<CrossBatchMemory> {
        check_supported::<L>("CrossBatchMemory", SUPPORTED)?;
        let mut memory = CrossBatchMemory {
            loss: Box::new(loss),
            miner: None,
            embedding_size,
            memory_size: 1024,
            embedding_memory: Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)),
            label_memory: Tensor::zeros([0], (Kind::Int64, tch::Device::Cpu)),
            queue_idx: 0,
            has_been_filled: false,
        };
        memory.reset_queue();
        Ok(memory)
    }

    /// How many embeddings the queue holds (emptying it).
    pub fn memory_size(mut self, memory_size: i64) -> Self {
        self.memory_size = memory_size;
        self.reset_queue();
        self
    }

    /// Chooses the tuples between each batch and the queue.
    pub fn miner(mut self, miner: impl TupleMiner + 'static) -> Self {
        self.miner = Some(Box::new(miner));
        self
    }

    /// Empties the queue.
    pub fn reset_queue(&mut self) {
        let size = self.memory_size.max(0);
        self.embedding_memory = Tensor::zeros([size, self.embedding_size.max(0)], (Kind::Float, tch::Device::Cpu));
        self.label_memory = Tensor::zeros([size], (Kind::Int64, tch::Device::Cpu));
        self.queue_idx = 0;
        self.has_been_filled = false;
    }

    /// Where the next batch goes in the queue.
    pub fn queue_idx(&self) -> i64 {
        self.queue_idx
    }

    /// The queue's valid entries: embeddings and labels.
    pub fn queue(&self) -> (Tensor, Tensor) {
        let valid = if self.has_been_filled { self.memory_size } else { self.queue_idx };
        (self.embedding_memory.narrow(0, 0, valid), self.label_memory.narrow(0, 0, valid))
    }

    /// The loss of the rows `enqueue_mask` leaves out against the queue, after the rows it marks
    /// are enqueued (PML's `enqueue_mask`).
    ///
    /// # Errors
    /// As [`MetricLoss::compute`], and when the mask is not one boolean per row, or marks more
    /// rows than the queue holds.
    pub fn compute_with_mask(&mut self, embeddings: &Tensor, labels: &Tensor, enqueue_mask: &Tensor) -> Result<Tensor> {
        self.forward(embeddings, labels, None, Some(enqueue_mask))
    }

    fn forward(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, enqueue_mask: Option<&Tensor>) -> Result<Tensor> {
        const NAME: &str = "CrossBatchMemory";
        check_embeddings(NAME, embeddings, labels)?;
        let (rows, width) = (embeddings.size()[0], embeddings.size()[1]);
        if width != self.embedding_size {
            return Err(Error::data(format!("{NAME}: embeddings of width {width}, but its embedding_size is {}", self.embedding_size)));
        }
        if indices.is_some() && enqueue_mask.is_some() {
            return Err(Error::data(format!("{NAME}: tuples and an enqueue_mask are mutually exclusive")));
        }
        let device = embeddings.device();
        let labels = labels.to_device(device).to_kind(Kind::Int64);
        let (queries, query_labels, enqueued, enqueued_labels) = match enqueue_mask {
            Some(mask) => {
                if mask.size() != [rows] || mask.kind() != Kind::Bool {
                    return Err(Error::data(format!(
                        "{NAME}: the enqueue_mask must be booleans of shape [{rows}] (one per embedding), found {:?} of shape {:?}",
                        mask.kind(),
                        mask.size()
                    )));
                }
                let mask = mask.to_device(device);
                let keep = mask.logical_not();
                let select = |x: &Tensor, m: &Tensor| x.index_select(0, &m.nonzero().select(1, 0));
                (select(embeddings, &keep), select(&labels, &keep), select(embeddings, &mask), select(&labels, &mask))
            }
            None => (embeddings.shallow_clone(), labels.shallow_clone(), embeddings.shallow_clone(), labels.shallow_clone()),
        };
        let batch = enqueued.size()[0];
        if batch > self.memory_size {
            return Err(Error::data(format!(
                "{NAME}: {batch} embeddings to enqueue, but the queue holds {} (memory_size must be at least one batch)",
                self.memory_size
            )));
        }
        let start = self.enqueue(&enqueued, &enqueued_labels);
        let (memory, memory_labels) = self.queue();
        if queries.size()[0] == 0 || memory.size()[0] == 0 {
            return Ok(zero_loss(embeddings));
        }
        let reference = Reference { embeddings: &memory, labels: &memory_labels };
        let mut tuples = match self.miner.as_mut() {
            Some(miner) => miner.mine_with_reference(&queries, &query_labels, Some(reference))?,
            None => all_pairs(&query_labels, Some(&memory_labels)),
        };
        if enqueue_mask.is_none() {
            tuples = without_self_comparisons(tuples, start, self.memory_size);
        }
        if let Some(given) = indices {
            tuples = concatenate(tuples, given, queries.size()[0], memory.size()[0]);
        }
        self.loss.compute_with_reference(&queries, &query_labels, Some(&tuples), Some(reference))
    }

    /// Writes the rows into the queue after the last ones, wrapping around; where they start.
    fn enqueue(&mut self, embeddings: &Tensor, labels: &Tensor) -> i64 {
        let batch = embeddings.size()[0];
        let start = self.queue_idx;
        self.embedding_memory = self.embedding_memory.to_device(embeddings.device()).to_kind(embeddings.kind());
        self.label_memory = self.label_memory.to_device(labels.device());
        if batch == 0 {
            return start;
        }
        let slots = Tensor::arange_start(start, start + batch, (Kind::Int64, embeddings.device())).remainder(self.memory_size);
        // Out of place: a loss of an earlier call may still hold the old queue for its backward pass.
        self.embedding_memory = self.embedding_memory.index_copy(0, &slots, &embeddings.detach());
        self.label_memory = self.label_memory.index_copy(0, &slots, &labels.detach());
        self.queue_idx = (start + batch) % self.memory_size;
        if self.queue_idx <= start {
            self.has_been_filled = true;
        }
        start
    }
}

/// The caller's tuples after the mined ones, converted to their form (PML's
/// `concatenate_indices_tuples`).
fn concatenate(mined: Tuples, given: &Tuples, rows: i64, columns: i64) -> Tuples {
    let cat = |x: Tensor, y: Tensor| {
        let y = y.to_device(x.device());
        Tensor::cat(&[x, y], 0)
    };
    match mined {
        Tuples::Pairs { a1, p, a2, n } => {
            let (ga1, gp, ga2, gn) = given.to_pairs();
            Tuples::Pairs { a1: cat(a1, ga1), p: cat(p, gp), a2: cat(a2, ga2), n: cat(n, gn) }
        }
        Tuples::Triplets { a, p, n } => {
            let (ga, gp, gn) = given.to_triplets(rows, columns);
            Tuples::Triplets { a: cat(a, ga), p: cat(p, gp), n: cat(n, gn) }
        }
    }
}

impl Component for CrossBatchMemory {
    fn var_store(&self) -> Option<&VarStore> {
        self.loss.var_store()
    }
    fn set_training(&mut self, training: bool) {
        self.loss.set_training(training)
    }
    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "embedding_size", value: self.embedding_size as f64 },
            Record { name: "memory_size", value: self.memory_size as f64 },
            Record { name: "queue_idx", value: self.queue_idx as f64 },
        ];
        records.extend(self.loss.records());
        if let Some(miner) = &self.miner {
            records.extend(miner.records());
        }
        records
    }
    fn bind_key(&mut self, key: &str) {
        self.loss.bind_key(key)
    }
    /// The queue: its embeddings and labels, where the next batch goes, and whether it has
    /// wrapped around (then every entry is valid).
    fn state(&self) -> Vec<(String, Tensor)> {
        vec![
            ("embedding_memory".to_string(), self.embedding_memory.shallow_clone()),
            ("label_memory".to_string(), self.label_memory.shallow_clone()),
            ("queue_idx".to_string(), Tensor::from(self.queue_idx)),
            ("has_been_filled".to_string(), Tensor::from(i64::from(self.has_been_filled))),
        ]
    }
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> std::result::Result<(), String> {
        if state.is_empty() {
            return Ok(());
        }
        let find = |name: &str| state.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| format!("CrossBatchMemory: the checkpoint's queue has no `{name}`"));
        let (embeddings, labels) = (find("embedding_memory")?, find("label_memory")?);
        let scalar = |name: &str| -> std::result::Result<i64, String> { find(name)?.f_int64_value(&[]).map_err(|e| format!("CrossBatchMemory: `{name}` is not a number: {e}")) };
        let (queue_idx, filled) = (scalar("queue_idx")?, scalar("has_been_filled")?);
        let size = self.memory_size;
        if embeddings.size() != [size, self.embedding_size] || labels.size() != [size] || labels.kind() != Kind::Int64 {
            return Err(format!(
                "CrossBatchMemory: a queue of {size} embeddings of width {} expected, the checkpoint holds embeddings of shape {:?} and {:?} labels of shape {:?}",
                self.embedding_size,
                embeddings.size(),
                labels.kind(),
                labels.size()
            ));
        }
        if !(0..size).contains(&queue_idx) || !(0..=1).contains(&filled) {
            return Err(format!("CrossBatchMemory: queue_idx {queue_idx} (of {size}) and has_been_filled {filled} do not describe a queue"));
        }
        if let Some((name, _)) = state.iter().find(|(n, _)| !["embedding_memory", "label_memory", "queue_idx", "has_been_filled"].contains(&n.as_str())) {
            return Err(format!("CrossBatchMemory: the checkpoint's queue holds `{name}`, which it does not keep"));
        }
        self.embedding_memory = embeddings.copy();
        self.label_memory = labels.copy();
        self.queue_idx = queue_idx;
        self.has_been_filled = filled == 1;
        Ok(())
    }
}

impl MetricLoss for CrossBatchMemory {
    /// The loss of the batch against the queue, after enqueuing it; `indices` are added to the
    /// tuples between the batch and the queue.
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if reference.is_some() {
            return Err(Error::data("CrossBatchMemory: its references are its queue; reference embeddings are not accepted"));
        }
        self.forward(embeddings, labels, indices, None)
    }
}
