//! Exact resume: a run killed with SIGKILL in the middle of an epoch and resumed from its last
//! checkpoint ends with parameters bitwise equal to an uninterrupted run's, for MetricLossOnly
//! (tuple miner, MPerClassSampler; and CrossBatchMemory, whose queue is state), TrainWithClassifier (a scheduler by iteration) and DAML
//! across its phases (its triplet draws use libtorch's generator). Every run is a child
//! process (this test binary again, running `child_process`): libtorch's generator is one per
//! process, and the other tests of this binary, running on other threads, draw from it too.

use metric_learning::checkpoint::{self, Checkpoints};
use metric_learning::hooks::Records;
use metric_learning::prelude::*;
use metric_learning::trainer::{KeyName, TrainerKeys};
use metric_learning::trainers::{DeepAdversarialMetricLearning, DeepAdversarialMetricLearningLoss, TrainWithClassifier, UnsupervisedEmbeddingsUsingAugmentations};
use metric_learning::transforms::{Augmentations, GaussianNoise};
use metric_learning_tests::{clusters, int_labels, linear, one_thread};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set in the child's environment: `<scenario>:<run folder>`.
const CHILD: &str = "METRIC_LEARNING_RESUME_CHILD";
const EPOCHS: usize = 3;
const ITERATIONS_PER_EPOCH: usize = 6;

/// Run folder, checkpoints every 2 iterations and every epoch, and, in the child, a line per
/// iteration (the parent kills it on one) and a pause so that the kill lands mid-epoch.
struct Run<'a> {
    folder: &'a Path,
    child: bool,
}

macro_rules! with_run {
    ($builder:expr, $run:expr, $trainer:ty) => {{
        let builder = $builder;
        match $run {
            None => builder,
            Some(Run { folder, child }) => {
                let builder = builder
                    .run_folder(folder)
                    .checkpoints(Checkpoints::new().every_epochs(1).every_iterations(2).keep_last(2))
                    .hook(Records::new());
                if child {
                    builder.end_of_iteration_hook(|t: &mut Trainer<$trainer>| {
                        println!("iteration {}", t.global_iteration());
                        std::thread::sleep(std::time::Duration::from_millis(40));
                        Ok(())
                    })
                } else {
                    builder
                }
            }
        }
    }};
}

fn data() -> InMemoryDataset {
    tch::manual_seed(11);
    clusters(4, 8, 6)
}

fn metric_loss_only(run: Option<Run<'_>>) -> Trainer<MetricLossOnly> {
    let dataset = data();
    let sampler = MPerClassSampler::new(&int_labels(&dataset), 2).length_before_new_iter(32);
    let builder = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .metric_loss(TripletMarginLoss::new().margin(0.5))
        .tuple_miner(MultiSimilarityMiner::new(0.5))
        .trunk_optimizer(Adam::new(0.01))
        .embedder_optimizer(Sgd::new(0.05).momentum(0.9))
        .sampler(sampler)
        .iterations_per_epoch(ITERATIONS_PER_EPOCH)
        .progress_bar(false)
        .seed(5)
        .dataset(dataset)
        .batch_size(8);
    with_run!(builder, run, MetricLossOnly).build().unwrap()
}

/// A loss with state: the queue of CrossBatchMemory (20 entries, so that it wraps mid-batch),
/// which the checkpoints must hold for the resumed run to see the pairs the uninterrupted one did.
fn cross_batch_memory(run: Option<Run<'_>>) -> Trainer<MetricLossOnly> {
    let dataset = data();
    let sampler = MPerClassSampler::new(&int_labels(&dataset), 2).length_before_new_iter(32);
    let builder = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .metric_loss(CrossBatchMemory::new(ContrastiveLoss::new(), 4).unwrap().memory_size(20))
        .trunk_optimizer(Adam::new(0.01))
        .embedder_optimizer(Adam::new(0.01))
        .sampler(sampler)
        .iterations_per_epoch(ITERATIONS_PER_EPOCH)
        .progress_bar(false)
        .seed(6)
        .dataset(dataset)
        .batch_size(8);
    with_run!(builder, run, MetricLossOnly).build().unwrap()
}

fn train_with_classifier(run: Option<Run<'_>>) -> Trainer<TrainWithClassifier> {
    // The models' initial weights come from libtorch's generator: the same in every process.
    tch::manual_seed(3);
    let builder = TrainWithClassifier::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .classifier(linear(4, 4))
        .metric_loss(ContrastiveLoss::new())
        .classifier_loss(CrossEntropyLoss::new())
        .trunk_optimizer(Adam::new(0.01))
        .embedder_optimizer(Adam::new(0.01))
        .classifier_optimizer(Sgd::new(0.1))
        .trunk_scheduler_by_iteration(StepLr::new(3, 0.5))
        .iterations_per_epoch(ITERATIONS_PER_EPOCH)
        .progress_bar(false)
        .seed(6)
        .dataset(data())
        .batch_size(8);
    with_run!(builder, run, TrainWithClassifier).build().unwrap()
}

fn daml(run: Option<Run<'_>>) -> Trainer<DeepAdversarialMetricLearning> {
    tch::manual_seed(4);
    let builder = DeepAdversarialMetricLearning::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .generator(linear(24, 8))
        .metric_loss(TripletMarginLoss::new().margin(1.0))
        .synth_loss(TripletMarginLoss::new().margin(0.1))
        .g_adv_loss(TripletMarginLoss::new().margin(0.1))
        .tuple_miner(MultiSimilarityMiner::new(1.0))
        .metric_alone_epochs(1)
        .g_alone_epochs(1)
        .g_triplets_per_anchor(3)
        .trunk_optimizer(Adam::new(0.01))
        .embedder_optimizer(Adam::new(0.01))
        .generator_optimizer(Adam::new(0.01))
        .loss_weight(DeepAdversarialMetricLearningLoss::GAdvLoss, 0.1)
        .iterations_per_epoch(ITERATIONS_PER_EPOCH)
        .progress_bar(false)
        .seed(7)
        .dataset(data())
        .batch_size(8);
    with_run!(builder, run, DeepAdversarialMetricLearning).build().unwrap()
}

fn unsupervised(run: Option<Run<'_>>) -> Trainer<UnsupervisedEmbeddingsUsingAugmentations> {
    tch::manual_seed(5);
    let views = Augmentations::new(vec![Box::new(GaussianNoise::new(0.1)), Box::new(GaussianNoise::new(0.3))]);
    let builder = UnsupervisedEmbeddingsUsingAugmentations::builder()
        .trunk(linear(6, 8))
        .embedder(linear(8, 4))
        .metric_loss(NTXentLoss::new(0.1))
        .transforms(views)
        .trunk_optimizer(Adam::new(0.01))
        // The views are made on the workers: a resumed run must see the same ones.
        .dataloader_num_workers(2)
        .iterations_per_epoch(ITERATIONS_PER_EPOCH)
        .progress_bar(false)
        .seed(8)
        .dataset(data())
        .batch_size(8);
    with_run!(builder, run, UnsupervisedEmbeddingsUsingAugmentations).build().unwrap()
}

/// Every key's variables, by name.
fn parameters<T: TrainerKeys>(trainer: &Trainer<T>) -> Vec<(String, Tensor)> {
    let mut all = Vec::new();
    for key in trainer.keys().parameter_keys() {
        if let Some(vs) = trainer.keys().component(key).and_then(|c| c.var_store()) {
            for (name, var) in vs.variables() {
                all.push((format!("{}.{name}", key.name()), var.copy()));
            }
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn assert_bitwise(a: &[(String, Tensor)], b: &[(String, Tensor)], scenario: &str) {
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(x.equal(y), "{scenario}: `{name}` differs after the resume (max |diff| {})", (x - y).abs().max().double_value(&[]));
    }
}

fn temp_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("metric-learning-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

/// Not a test of its own: a run in a child process, when the parent starts this binary with
/// `CHILD` set to `<mode>:<scenario>:<folder>`. Modes: `whole` trains uninterrupted and saves
/// `final.safetensors`; `killed` checkpoints and reports each iteration until the parent kills
/// it; `resumed` continues from the latest checkpoint and saves `final.safetensors`.
#[test]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    one_thread();
    let mut parts = spec.splitn(3, ':');
    let (mode, scenario, folder) = (parts.next().unwrap(), parts.next().unwrap(), PathBuf::from(parts.next().unwrap()));
    macro_rules! run {
        ($build:ident) => {{
            let mut trainer = match mode {
                "whole" => $build(Some(Run { folder: &folder, child: false })),
                "killed" => $build(Some(Run { folder: &folder, child: true })),
                _ => {
                    let mut trainer = $build(Some(Run { folder: &folder, child: false }));
                    let latest = checkpoint::latest(folder.join("checkpoints")).unwrap().expect("a checkpoint to resume from");
                    trainer.resume(&latest).unwrap();
                    // The checkpoint is mid-epoch: epoch 2 is not done.
                    assert_eq!((trainer.epoch(), trainer.epoch_done()), (2, false), "{}", latest.display());
                    println!("resumed from {}", latest.display());
                    trainer
                }
            };
            trainer.train_to(EPOCHS).unwrap();
            assert_eq!(trainer.epoch(), EPOCHS);
            trainer.save_checkpoint(folder.join("final.safetensors")).unwrap();
        }};
    }
    match scenario {
        "metric_loss_only" => run!(metric_loss_only),
        "cross_batch_memory" => run!(cross_batch_memory),
        "train_with_classifier" => run!(train_with_classifier),
        "daml" => run!(daml),
        "unsupervised" => run!(unsupervised),
        other => panic!("unknown scenario {other}"),
    }
}

fn child(mode: &str, scenario: &str, folder: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "resume::child_process", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{mode}:{scenario}:{}", folder.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a child to its end; its output on failure.
fn run_child(mode: &str, scenario: &str, folder: &Path) -> String {
    let output = child(mode, scenario, folder).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{mode} {scenario} failed:\n{text}");
    text
}

/// Starts the child on `scenario` and kills it (SIGKILL) once it reports global iteration
/// `kill_after`.
fn kill_child(scenario: &str, folder: &Path, kill_after: usize) {
    let mut command = child("killed", scenario, folder);
    let mut child = command.stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reached = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("iteration ").and_then(|n| n.trim().parse::<usize>().ok()) {
            if n >= kill_after {
                reached = Some(n);
                break;
            }
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(reached.is_some() && !status.success(), "{scenario}: the child ended before it could be killed ({status})");
    println!("{scenario}: killed with SIGKILL after global iteration {}", reached.unwrap_or(0));
}

macro_rules! kill_and_resume {
    ($test:ident, $scenario:literal, $build:ident) => {
        #[test]
        fn $test() {
            let (whole, broken) = (temp_folder(concat!($scenario, "-whole")), temp_folder(concat!($scenario, "-killed")));
            std::fs::create_dir_all(&whole).unwrap();
            run_child("whole", $scenario, &whole);
            // Epoch 2, iteration 3 of 6 (0-based global iteration 8): mid-epoch.
            kill_child($scenario, &broken, 8);
            let resumed = run_child("resumed", $scenario, &broken);
            let from = resumed.lines().find_map(|l| l.find("resumed from").map(|i| &l[i..])).unwrap_or("?");
            println!("{}: {from}", $scenario);
            // Both final states, loaded into fresh trainers (with the same hooks), compared bit
            // for bit.
            let scratch = temp_folder(concat!($scenario, "-scratch"));
            let mut a = $build(Some(Run { folder: &scratch, child: false }));
            a.resume(whole.join("final.safetensors")).unwrap();
            let mut b = $build(Some(Run { folder: &scratch, child: false }));
            b.resume(broken.join("final.safetensors")).unwrap();
            assert_bitwise(&parameters(&a), &parameters(&b), $scenario);
            // The logs continue where the checkpoint left them: no row duplicated or missing,
            // every value the uninterrupted run's.
            for log in ["losses.csv", "learning_rates.csv"] {
                let (x, y) = (std::fs::read_to_string(whole.join("logs").join(log)).unwrap(), std::fs::read_to_string(broken.join("logs").join(log)).unwrap());
                assert_eq!(x.lines().count(), EPOCHS * ITERATIONS_PER_EPOCH + 1, "{log}");
                assert!(x == y, "{}: {log} differs after the resume", $scenario);
            }
            println!("{}: {} tensors bitwise equal to the uninterrupted run's", $scenario, parameters(&a).len());
            for folder in [&whole, &broken, &scratch] {
                std::fs::remove_dir_all(folder).unwrap();
            }
        }
    };
}

kill_and_resume!(metric_loss_only_resumes_bitwise_after_a_kill, "metric_loss_only", metric_loss_only);
kill_and_resume!(cross_batch_memory_resumes_bitwise_with_its_queue_after_a_kill, "cross_batch_memory", cross_batch_memory);
kill_and_resume!(train_with_classifier_resumes_bitwise_after_a_kill, "train_with_classifier", train_with_classifier);
kill_and_resume!(daml_resumes_bitwise_after_a_kill_across_its_phases, "daml", daml);
kill_and_resume!(unsupervised_augmentations_resume_bitwise_after_a_kill, "unsupervised", unsupervised);
