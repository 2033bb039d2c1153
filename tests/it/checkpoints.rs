//! Checkpoints on bad input: truncated, from another trainer, with a missing or extra key or a
//! shape that differs, from a newer format version, not a checkpoint at all, a run folder that
//! cannot be written; each a clear error naming the file and what was expected, never a panic,
//! and the previous checkpoint stays loadable. A property test feeds the reader random
//! truncations, bit flips and random bytes of a real checkpoint.

use metric_learning::checkpoint::{self, Checkpoints};
use metric_learning::prelude::*;
use metric_learning::data::Labels;
use metric_learning::trainers::TrainWithClassifier;
use metric_learning::Error;
use metric_learning_tests::{bitwise_equal, clusters, linear, one_thread, snapshot};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("metric-learning-checkpoints-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// 3 classes x 8 samples of width 6, from Rust's generator: the same in every call, whatever
/// other tests draw from libtorch's meanwhile.
fn data() -> InMemoryDataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let values: Vec<f32> = (0..24 * 6).map(|i| (i / 48) as f32 + rng.gen_range(-0.5..0.5)).collect();
    let labels: Vec<i64> = (0..24).map(|i| i / 8).collect();
    InMemoryDataset::new(Tensor::from_slice(&values).reshape([24, 6]), Labels::int(labels)).unwrap()
}

fn trainer(trunk_width: i64, embedder: Option<Model>) -> Trainer<MetricLossOnly> {
    let builder = MetricLossOnly::builder()
        .trunk(linear(6, trunk_width))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Adam::new(0.01))
        .progress_bar(false)
        .seed(1)
        .dataset(data())
        .batch_size(8);
    match embedder {
        Some(embedder) => builder.embedder(embedder).build().unwrap(),
        None => builder.build().unwrap(),
    }
}

/// A checkpoint of a MetricLossOnly with a 6-8 trunk and an 8-4 embedder, after one epoch.
fn saved(folder: &Path) -> (PathBuf, Trainer<MetricLossOnly>) {
    let mut trained = trainer(8, Some(linear(8, 4)));
    trained.train(1).unwrap();
    let path = folder.join("checkpoint.safetensors");
    trained.save_checkpoint(&path).unwrap();
    (path, trained)
}

fn file_error(result: metric_learning::Result<()>, path: &Path) -> String {
    match result {
        Err(Error::File { path: named, reason }) => {
            assert_eq!(named, path, "the error names the checkpoint");
            reason
        }
        other => panic!("expected Error::File for {}, found {other:?}", path.display()),
    }
}

#[test]
fn a_checkpoint_restores_parameters_optimizer_state_and_position() {
    one_thread();
    let folder = folder("round-trip");
    let (path, trained) = saved(&folder);
    let mut restored = trainer(8, Some(linear(8, 4)));
    restored.resume(&path).unwrap();
    assert!(bitwise_equal(&snapshot(&trained.keys().trunk), &snapshot(&restored.keys().trunk)));
    assert!(bitwise_equal(&snapshot(&trained.keys().embedder), &snapshot(&restored.keys().embedder)));
    assert_eq!((restored.epoch(), restored.epoch_done(), restored.seed()), (1, true, 1));
    // Saved again, the restored run is the same file, byte for byte.
    let again = folder.join("again.safetensors");
    restored.save_checkpoint(&again).unwrap();
    let header = |b: &[u8]| {
        let length = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&b[8..8 + length]).unwrap();
        (header, b[8 + length..].to_vec())
    };
    assert_eq!(header(&std::fs::read(&path).unwrap()), header(&std::fs::read(&again).unwrap()));
    // Adam's moments came back: one more epoch on each gives the same parameters.
    let mut trained = trained;
    trained.train(1).unwrap();
    restored.train(1).unwrap();
    let (a, b) = (snapshot(&trained.keys().trunk), snapshot(&restored.keys().trunk));
    let diffs: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x - y).abs().max().double_value(&[])).collect();
    assert!(bitwise_equal(&a, &b), "{diffs:?} lr {:?} {:?}", trained.learning_rates(), restored.learning_rates());
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn bad_checkpoints_are_clear_errors_and_the_previous_one_stays_loadable() {
    one_thread();
    let folder = folder("bad");
    let (path, mut trained) = saved(&folder);
    let bytes = std::fs::read(&path).unwrap();
    let write = |name: &str, contents: &[u8]| {
        let p = folder.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    };

    let truncated = write("truncated.safetensors", &bytes[..bytes.len() / 2]);
    let reason = file_error(trainer(8, Some(linear(8, 4))).resume(&truncated), &truncated);
    assert!(reason.contains("not a whole safetensors file"), "{reason}");

    let text = write("notes.txt", b"not a checkpoint at all");
    let reason = file_error(trainer(8, Some(linear(8, 4))).resume(&text), &text);
    assert!(reason.starts_with("not a checkpoint"), "{reason}");

    let missing = folder.join("missing.safetensors");
    let reason = file_error(trainer(8, Some(linear(8, 4))).resume(&missing), &missing);
    assert!(reason.contains("No such file"), "{reason}");

    // The manifest's version, rewritten in place (same length): refused before the checksum.
    let manifest_version = b"\\\"version\\\":1";
    let at = bytes.windows(manifest_version.len()).position(|w| w == manifest_version).expect("the version in the header");
    let mut newer = bytes.clone();
    newer[at + manifest_version.len() - 1] = b'2';
    let newer = write("newer.safetensors", &newer);
    let reason = file_error(trainer(8, Some(linear(8, 4))).resume(&newer), &newer);
    assert!(reason.contains("newer version of metric-learning (format version 2); this one reads up to 1"), "{reason}");

    let mut other = TrainWithClassifier::builder()
        .trunk(linear(6, 8))
        .classifier(linear(8, 3))
        .metric_loss(TripletMarginLoss::new())
        .classifier_loss(CrossEntropyLoss::new())
        .progress_bar(false)
        .dataset(clusters(3, 8, 6))
        .batch_size(8)
        .build()
        .unwrap();
    let reason = file_error(other.resume(&path), &path);
    assert!(reason.contains("a checkpoint of trainer `MetricLossOnly`, not of `TrainWithClassifier`"), "{reason}");

    // Another trunk width, and no embedder: every difference is listed.
    let reason = file_error(trainer(9, None).resume(&path), &path);
    assert!(reason.contains("`trunk.fc.weight` is Float of shape [8, 6] in the checkpoint, Float of shape [9, 6] in the trainer"), "{reason}");
    assert!(reason.contains("the checkpoint holds [\"embedder.fc.bias\", \"embedder.fc.weight\""), "{reason}");
    let mut no_embedder = trainer(8, None);
    no_embedder.train(1).unwrap();
    let without = folder.join("without-embedder.safetensors");
    no_embedder.save_checkpoint(&without).unwrap();
    let reason = file_error(trainer(8, Some(linear(8, 4))).resume(&without), &without);
    assert!(reason.contains("`embedder.fc.weight` is missing"), "{reason}");

    // A save that cannot happen leaves the previous checkpoint whole and loadable.
    let unwritable = folder.join("no-such-folder").join("checkpoint.safetensors");
    let reason = file_error(trained.save_checkpoint(&unwritable), &unwritable);
    assert!(reason.contains("cannot write"), "{reason}");
    let before = snapshot(&trained.keys().trunk);
    let mut again = trainer(8, Some(linear(8, 4)));
    again.resume(&path).unwrap();
    assert!(bitwise_equal(&before, &snapshot(&again.keys().trunk)));
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_run_folder_that_cannot_be_written_and_checkpoints_without_a_folder() {
    one_thread();
    let result = MetricLossOnly::builder()
        .trunk(linear(6, 4))
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .run_folder("/proc/metric-learning-run")
        .dataset(clusters(3, 8, 6))
        .batch_size(8)
        .build();
    match result.as_ref().map_err(Error::root) {
        Err(Error::File { path, reason }) => {
            assert_eq!(path, Path::new("/proc/metric-learning-run"));
            assert!(reason.contains("cannot create the run folder"), "{reason}");
        }
        other => panic!("expected a file error, found {:?}", other.map(|_| ())),
    }
    let result = MetricLossOnly::builder()
        .trunk(linear(6, 4))
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .checkpoints(Checkpoints::new())
        .dataset(clusters(3, 8, 6))
        .batch_size(8)
        .build();
    let message = result.map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("checkpoints need a folder"), "{message}");
}

/// Thousands of damaged copies of a real checkpoint: every one an error, none a panic.
#[test]
fn random_truncations_bit_flips_and_bytes_are_errors_never_panics() {
    one_thread();
    let folder = folder("fuzz");
    let (path, _) = saved(&folder);
    let bytes = std::fs::read(&path).unwrap();
    let damaged = folder.join("damaged.safetensors");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut target = trainer(8, Some(linear(8, 4)));
    for case in 0..3000 {
        let copy: Vec<u8> = match case % 3 {
            0 => bytes[..rng.gen_range(0..bytes.len())].to_vec(),
            1 => {
                let mut copy = bytes.clone();
                let at = rng.gen_range(0..copy.len());
                copy[at] ^= 1 << rng.gen_range(0..8);
                copy
            }
            _ => (0..rng.gen_range(0..4096)).map(|_| rng.gen()).collect(),
        };
        std::fs::write(&damaged, &copy).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target.resume(&damaged)));
        match result {
            Ok(Err(Error::File { .. })) => {}
            Ok(Err(other)) => panic!("case {case}: expected a file error, found {other}"),
            Ok(Ok(())) => panic!("case {case}: a damaged checkpoint was accepted"),
            Err(_) => panic!("case {case}: reading a damaged checkpoint panicked"),
        }
    }
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn checkpoints_every_n_iterations_and_epochs_keep_the_last_k() {
    one_thread();
    let run = folder("retention");
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(6, 4))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.01))
        .progress_bar(false)
        .seed(2)
        .dataset(data())
        .batch_size(8)
        .run_folder(&run)
        .checkpoints(Checkpoints::new().every_epochs(2).every_iterations(2).keep_last(3))
        .build()
        .unwrap();
    trainer.train(3).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(run.join("checkpoints")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    // 3 epochs of 3 iterations: after global iterations 2, 4, 6 and 8, and at the end of epoch
    // 2 (a later state than after its last iteration); the last 3 are kept.
    assert_eq!(names, ["ckpt-000002-epoch2-iteration3.safetensors", "ckpt-000003-epoch2-end.safetensors", "ckpt-000004-epoch3-iteration2.safetensors"]);
    assert_eq!(checkpoint::latest(run.join("checkpoints")).unwrap().unwrap().file_name().unwrap(), "ckpt-000004-epoch3-iteration2.safetensors");
    std::fs::remove_dir_all(&run).unwrap();
}
