//! One process of the distributed tests (`it/distributed.rs` starts several, with torchrun's
//! variables): `distributed-worker SCENARIO TIMEOUT_MS [RUN_FOLDER]`. Prints `ok` and exits 0 when the
//! scenario's results are right; prints `error: ...` and exits 1 on any error. The training
//! scenarios print the trainer's losses and final parameters first (`losses ...`, `params ...`).

use metric_learning::data::{Batch, InMemoryDataset};
use metric_learning::indices::Tuples;
use metric_learning::distributed::{DistributedLossWrapper, DistributedMinerWrapper, ProcessGroup, BUCKET_BYTES};
use metric_learning::prelude::*;
use metric_learning::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map(String::as_str).unwrap_or("");
    let timeout = Duration::from_millis(args.get(2).and_then(|t| t.parse().ok()).unwrap_or(10_000));
    let folder = args.get(3).map(std::path::PathBuf::from);
    tch::set_num_threads(1);
    let outcome = match scenario {
        // The reference: one process with the whole global batch, no group, no wrappers.
        "train-alone" => train(None, GLOBAL_BATCH, Wrap::No, Run::Whole),
        // The same, from the latest checkpoint in the folder, to the end of epoch 2.
        "train-alone-resumed" => train(None, GLOBAL_BATCH, Wrap::No, Run::Resume(folder.clone())),
        _ => ProcessGroup::from_env(timeout).and_then(|group| match scenario {
            "collectives" => collectives(&group),
            // Rank 1 leaves right after connecting; rank 0's collective must fail, not hang.
            "peer-dies" if group.rank() == 1 => std::process::exit(0),
            "peer-dies" => group.all_reduce_sum(&mut Tensor::ones([4], (Kind::Float, Device::Cpu))),
            "connect" => group.barrier(),
            "wrappers" => wrappers(Arc::new(group)),
            "train" => {
                let share = GLOBAL_BATCH / group.world_size();
                train(Some(Arc::new(group)), share, Wrap::Yes, Run::Whole)
            }
            // The first epoch, checkpointed into the folder.
            "train-first-epoch" => {
                let share = GLOBAL_BATCH / group.world_size();
                train(Some(Arc::new(group)), share, Wrap::Yes, Run::FirstEpoch(folder.clone()))
            }
            // Each rank's loss and miner on its own share only: not what one process computes.
            "train-unwrapped" => {
                let share = GLOBAL_BATCH / group.world_size();
                train(Some(Arc::new(group)), share, Wrap::No, Run::Whole)
            }
            // Rank 1 leaves in the middle of training: rank 0's next collective must fail.
            "train-peer-dies" => {
                let share = GLOBAL_BATCH / group.world_size();
                let wrap = if group.rank() == 1 { Wrap::LeaveAfter(3) } else { Wrap::Yes };
                train(Some(Arc::new(group)), share, wrap, Run::Whole)
            }
            other => panic!("unknown scenario {other:?}"),
        }),
    };
    match outcome {
        Ok(()) => println!("ok"),
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}

const GLOBAL_BATCH: usize = 32;

/// Whether a rank's loss and miner see the global batch, and whether it leaves (exits) once it
/// has fetched that many batches.
#[derive(Clone, Copy, PartialEq)]
enum Wrap {
    Yes,
    No,
    LeaveAfter(usize),
}

/// Which part of the two epochs runs.
enum Run {
    Whole,
    /// Epoch 1, with a checkpoint at its end in the folder.
    FirstEpoch(Option<std::path::PathBuf>),
    /// From the folder's latest checkpoint to the end of epoch 2.
    Resume(Option<std::path::PathBuf>),
}

/// MetricLossOnly with a triplet loss on a semi-hard triplet miner, in f64, for two epochs: as
/// one rank of `group` with `batch_size` rows of each global batch, or alone. Every rank starts
/// from other weights (the engine must broadcast rank 0's); rank 0's are those of the process
/// alone.
fn train(group: Option<Arc<ProcessGroup>>, batch_size: usize, wrap: Wrap, run: Run) -> Result<()> {
    let rank = group.as_ref().map_or(0, |g| g.rank());
    tch::manual_seed(7);
    let dataset = metric_learning_tests::clusters(8, 16, 6);
    let dataset = InMemoryDataset::new(dataset.data().to_kind(Kind::Double), dataset.all_labels().clone())?;
    tch::manual_seed(100 + rank as i64);
    let mut trunk = Model::build(Device::Cpu, |p| {
        nn::seq_t().add(nn::linear(p / "fc1", 6, 16, Default::default())).add_fn(|x| x.relu()).add(nn::linear(p / "fc2", 16, 8, Default::default()))
    });
    if let Some(vs) = trunk.var_store_mut() {
        vs.double();
    }
    let loss = TripletMarginLoss::new().margin(0.3);
    let miner = TripletMarginMiner::new(0.3, TripletType::Semihard);
    let mut fetched = 0;
    let leave = move |batch: Batch| {
        fetched += 1;
        if matches!(wrap, Wrap::LeaveAfter(n) if fetched > n) {
            std::process::exit(0);
        }
        Ok(batch)
    };
    let builder = MetricLossOnly::builder().trunk(trunk).trunk_optimizer(Sgd::new(0.2).momentum(0.9));
    let builder = match &group {
        Some(group) if wrap == Wrap::No => builder.metric_loss(loss).tuple_miner(miner).distributed(group.clone()),
        Some(group) => builder
            .metric_loss(DistributedLossWrapper::new(loss, group.clone()))
            .tuple_miner(DistributedMinerWrapper::new(miner, group.clone()))
            .distributed(group.clone()),
        None => builder.metric_loss(loss).tuple_miner(miner),
    };
    let losses = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let recorded = losses.clone();
    let no_folder = || Error::config("this scenario needs a RUN_FOLDER argument");
    let builder = match &run {
        Run::Whole => builder,
        Run::FirstEpoch(folder) => builder.run_folder(folder.clone().ok_or_else(no_folder)?).checkpoints(metric_learning::checkpoint::Checkpoints::new().every_epochs(1)),
        Run::Resume(folder) => {
            let checkpoints = folder.clone().ok_or_else(no_folder)?.join("checkpoints");
            builder.resume_from(metric_learning::checkpoint::latest(&checkpoints)?.ok_or_else(|| Error::config("no checkpoint to resume from"))?)
        }
    };
    let mut trainer = builder
        .dtype(Kind::Double)
        .data_device(Device::Cpu)
        .data_and_label_getter(leave)
        .end_of_iteration_hook(move |t| {
            recorded.borrow_mut().push(t.total_loss());
            Ok(())
        })
        .seed(11)
        .progress_bar(false)
        .dataset(dataset)
        .batch_size(batch_size)
        .build()?;
    trainer.train_to(if matches!(run, Run::FirstEpoch(_)) { 1 } else { 2 })?;
    let parameters = metric_learning_tests::all_variables(&trainer.keys().trunk);
    let values: Vec<String> = parameters.iter().flat_map(|p| Vec::<f64>::try_from(p.flatten(0, -1)).unwrap_or_default()).map(|v| format!("{v:e}")).collect();
    let losses: Vec<String> = losses.borrow().iter().map(|v| format!("{v:e}")).collect();
    println!("losses {}", losses.join(" "));
    println!("params {}", values.join(" "));
    Ok(())
}

/// What a wrapped loss was given, once.
struct Seen {
    embeddings: Tensor,
    labels: Tensor,
    tuples: Option<(Tensor, Tensor, Tensor, Tensor)>,
    reference: Option<(Tensor, Tensor)>,
}

/// A loss that keeps what it is given and returns the sum of its embeddings.
struct Recording(Arc<std::sync::Mutex<Vec<Seen>>>);

impl metric_learning::component::Component for Recording {}

impl MetricLoss for Recording {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<metric_learning::losses::Reference<'_>>) -> Result<Tensor> {
        self.0.lock().map_err(|_| Error::Data("a poisoned record".into()))?.push(Seen {
            embeddings: embeddings.detach().copy(),
            labels: labels.copy(),
            tuples: indices.map(Tuples::to_pairs),
            reference: reference.map(|r| (r.embeddings.detach().copy(), r.labels.copy())),
        });
        Ok(embeddings.sum(Kind::Double))
    }
}

/// The wrappers' view of a global batch of 8 rows, 4 per rank: the default mode hands the loss
/// the whole batch in rank order and this rank's rows their gradient, times the world size;
/// the efficient mode hands it this rank's rows against the whole batch, with every pair but
/// each row's with itself.
fn wrappers(group: Arc<ProcessGroup>) -> Result<()> {
    let (rank, world) = (group.rank() as i64, group.world_size() as i64);
    let rows = 4;
    let global = Tensor::arange(rows * world * 3, (Kind::Double, Device::Cpu)).reshape([rows * world, 3]) / 10.0;
    let global_labels = Tensor::from_slice(&[0i64, 0, 1, 1, 0, 1, 2, 2]).narrow(0, 0, rows * world);
    let local = global.narrow(0, rank * rows, rows).copy().set_requires_grad(true);
    let labels = global_labels.narrow(0, rank * rows, rows).copy();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));

    let mut wrapped = DistributedLossWrapper::new(Recording(seen.clone()), group.clone());
    let value = wrapped.compute(&local, &labels, None)?;
    same(&value, &global.sum(Kind::Double), "the loss's value, not scaled")?;
    value.backward();
    same(&local.grad(), &Tensor::full([rows, 3], world as f64, (Kind::Double, Device::Cpu)), "this rank's gradient, times the world size")?;
    {
        let seen = seen.lock().map_err(|_| Error::Data("a poisoned record".into()))?;
        same(&seen[0].embeddings, &global, "the global batch in rank order")?;
        same(&seen[0].labels.to_kind(Kind::Double), &global_labels.to_kind(Kind::Double), "its labels")?;
    }

    let mut efficient = DistributedLossWrapper::efficient(Recording(seen.clone()), group.clone())?;
    let _ = efficient.compute(&local.detach(), &labels, None)?;
    let seen = seen.lock().map_err(|_| Error::Data("a poisoned record".into()))?;
    let last = &seen[1];
    same(&last.embeddings, &local.detach(), "efficient: this rank's rows are the queries")?;
    let (reference, _) = last.reference.as_ref().ok_or_else(|| Error::Data("efficient: no reference".into()))?;
    same(reference, &global, "efficient: the global batch is the reference")?;
    let (a1, p, a2, n) = last.tuples.as_ref().ok_or_else(|| Error::Data("efficient: no tuples".into()))?;
    let label_of = |i: i64| global_labels.int64_value(&[i]);
    let mut expected_positive = Vec::new();
    let mut expected_negative = Vec::new();
    for q in 0..rows {
        for r in 0..rows * world {
            if label_of(rank * rows + q) == label_of(r) {
                if r != rank * rows + q {
                    expected_positive.push((q, r));
                }
            } else {
                expected_negative.push((q, r));
            }
        }
    }
    let pairs = |x: &Tensor, y: &Tensor| Vec::<i64>::try_from(x).unwrap_or_default().into_iter().zip(Vec::<i64>::try_from(y).unwrap_or_default()).collect::<Vec<_>>();
    if pairs(a1, p) != expected_positive || pairs(a2, n) != expected_negative {
        return Err(Error::Data(format!("efficient pairs: positive {:?}, negative {:?}", pairs(a1, p), pairs(a2, n))));
    }
    Ok(())
}

fn same(found: &Tensor, expected: &Tensor, what: &str) -> Result<()> {
    if found.size() == expected.size() && found.allclose(expected, 1e-6, 1e-6, false) {
        return Ok(());
    }
    Err(Error::Data(format!("{what}: found {:?}, expected {:?}", Vec::<f64>::try_from(found.to_kind(Kind::Double).flatten(0, -1)), Vec::<f64>::try_from(expected.to_kind(Kind::Double).flatten(0, -1)))))
}

/// Every collective, with values that differ by rank so that a wrong rank's data shows.
fn collectives(group: &ProcessGroup) -> Result<()> {
    let (rank, world) = (group.rank() as f64, group.world_size() as i64);
    let cpu = (Kind::Float, Device::Cpu);
    // Sum of 1..=world, and of each rank's arange shifted by its rank.
    let mut sum = Tensor::arange(6, cpu) + rank;
    group.all_reduce_sum(&mut sum)?;
    same(&sum, &(Tensor::arange(6, cpu) * world as f64 + (world * (world - 1) / 2) as f64), "all_reduce_sum")?;
    // Rank 1's values everywhere.
    let mut broadcast = Tensor::full([2, 3], rank, cpu);
    group.broadcast(&mut broadcast, 1)?;
    same(&broadcast, &Tensor::full([2, 3], 1.0, cpu), "broadcast")?;
    // Rows in rank order.
    let gathered = group.all_gather(&Tensor::full([2, 2], rank, cpu))?;
    let expected = Tensor::arange(world, cpu).repeat_interleave_self_int(4, None, None).view([world * 2, 2]);
    same(&gathered, &expected, "all_gather")?;
    // Means of tensors of two kinds, in buckets small enough to split them (and in one), and
    // rank 0's tensors everywhere the same way.
    for bytes in [16, BUCKET_BYTES] {
        let tensors = [Tensor::full([3], rank, cpu), Tensor::full([2, 2], 2.0 * rank, (Kind::Double, Device::Cpu)), Tensor::full([5], -rank, cpu)];
        group.all_reduce_mean(&tensors, bytes)?;
        let mean = (world - 1) as f64 / 2.0;
        same(&tensors[0], &Tensor::full([3], mean, cpu), "all_reduce_mean")?;
        same(&tensors[1], &Tensor::full([2, 2], 2.0 * mean, (Kind::Double, Device::Cpu)), "all_reduce_mean (f64)")?;
        same(&tensors[2], &Tensor::full([5], -mean, cpu), "all_reduce_mean")?;
        let tensors = [Tensor::full([3], rank + 1.0, cpu), Tensor::full([2], -rank, (Kind::Double, Device::Cpu))];
        group.broadcast_all(&tensors, 0, bytes)?;
        same(&tensors[0], &Tensor::full([3], 1.0, cpu), "broadcast_all")?;
        same(&tensors[1], &Tensor::full([2], 0.0, (Kind::Double, Device::Cpu)), "broadcast_all (f64)")?;
    }
    group.barrier()
}
