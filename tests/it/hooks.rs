//! The ready-made hooks: Records' CSV logs (and their continuation after a resume), Plots' PNG
//! curves, Validation's log, best checkpoint and early stopping.

use metric_learning::checkpoint::Checkpoints;
use metric_learning::data::InMemoryDataset;
use metric_learning::evaluation::{AccuracyCalculator, GlobalEmbeddingSpaceTester, Metric};
use metric_learning::hooks::{Better, Plots, Records, Validation};
use metric_learning::prelude::*;
use metric_learning_tests::{clusters, linear, one_thread};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A new empty folder under the system's temporary folder.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("ml-hooks-{name}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The same samples in a new dataset (a resumed program loads its data again).
fn copy(dataset: &InMemoryDataset) -> InMemoryDataset {
    InMemoryDataset::new(dataset.data().copy(), dataset.all_labels().clone()).unwrap()
}

/// A MetricLossOnly builder on `dataset` (16 samples in batches of 8: two iterations per epoch),
/// the same seed each time; a macro, as each option changes the builder's type.
macro_rules! builder {
    ($dataset:expr, $learning_rate:expr) => {
        MetricLossOnly::builder()
            .trunk(linear(3, 4))
            .metric_loss(TripletMarginLoss::new())
            .tuple_miner(MultiSimilarityMiner::new(0.1))
            .trunk_optimizer(Sgd::new($learning_rate))
            .data_device(Device::Cpu)
            .progress_bar(false)
            .seed(11)
            .dataset($dataset)
            .batch_size(8)
    };
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).lines().map(String::from).collect()
}

#[test]
fn records_writes_one_row_per_iteration_with_stable_headers() {
    one_thread();
    let run = temp_dir("records");
    let mut trainer = builder!(clusters(2, 8, 3), 0.1).run_folder(&run).hook(Records::new()).build().unwrap();
    assert_eq!(trainer.iterations_per_epoch(), 2);
    trainer.train(2).unwrap();

    let logs = run.join("logs");
    let losses = lines(&logs.join("losses.csv"));
    assert_eq!(losses[0], "epoch,iteration,global_iteration,total_loss,metric_loss");
    assert_eq!(losses.len(), 1 + 4, "a header and one row per iteration: {losses:?}");
    for (i, row) in losses[1..].iter().enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[..3], [(1 + i / 2).to_string(), (i % 2).to_string(), i.to_string()], "{row}");
        let (total, metric): (f64, f64) = (cells[3].parse().unwrap(), cells[4].parse().unwrap());
        assert_eq!(total, metric, "one loss of weight 1: the total is that loss");
    }
    let rates = lines(&logs.join("learning_rates.csv"));
    assert_eq!(rates[0], "epoch,iteration,global_iteration,trunk");
    assert_eq!(rates.len(), 5);
    assert!(rates[1..].iter().all(|row| row.ends_with(",0.1")), "{rates:?}");
    // Statistics one per row: the same ones at every iteration here.
    let miner = lines(&logs.join("tuple_miner.csv"));
    assert_eq!(miner[0], "epoch,iteration,global_iteration,statistic,value");
    let per_iteration = miner[1..].iter().filter(|row| row.starts_with("1,0,0,")).count();
    assert!(per_iteration >= 2 && miner[1..].iter().any(|row| row.contains(",num_pos_pairs,")), "{miner:?}");
    assert_eq!(miner.len(), 1 + 4 * per_iteration);
    assert!(miner.iter().all(|row| row.split(',').count() == 5), "every row has the header's columns: {miner:?}");
    assert!(lines(&logs.join("metric_loss.csv")).len() > 4);
    std::fs::remove_dir_all(&run).unwrap();
}

#[test]
fn records_without_a_folder_says_to_give_a_run_folder() {
    one_thread();
    let mut trainer = builder!(clusters(2, 8, 3), 0.1).hook(Records::new()).build().unwrap();
    let text = trainer.train(1).unwrap_err().to_string();
    assert!(text.contains("run_folder"), "{text}");
}

#[test]
fn records_continue_after_a_resume_without_duplicated_or_missing_rows() {
    one_thread();
    let run = temp_dir("records-resume");
    let dataset = clusters(2, 8, 3);
    let mut trainer = builder!(copy(&dataset), 0.1).run_folder(&run).checkpoints(Checkpoints::new()).hook(Records::new()).build().unwrap();
    trainer.train(2).unwrap();
    drop(trainer);
    let logs = run.join("logs");
    let files = ["losses.csv", "learning_rates.csv", "tuple_miner.csv", "metric_loss.csv"];
    let uninterrupted: Vec<Vec<String>> = files.iter().map(|f| lines(&logs.join(f))).collect();

    // Continue from the end of epoch 1: the rows of epoch 2 are cut, then written again.
    let first = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("-epoch1-"))
        .expect("a checkpoint at the end of epoch 1");
    let mut resumed =
        builder!(copy(&dataset), 0.1).run_folder(&run).checkpoints(Checkpoints::new()).hook(Records::new()).resume_from(&first).build().unwrap();
    resumed.train_to(1).unwrap();
    for (file, rows) in files.iter().zip(&uninterrupted) {
        // Epoch 1's rows: those before the first row of epoch 2.
        let kept = rows.iter().position(|row| row.starts_with("2,")).unwrap_or(rows.len());
        assert!(kept > 1, "{file}: {rows:?}");
        assert_eq!(lines(&logs.join(file)), rows[..kept], "{file} is cut back to epoch 1's rows");
    }
    resumed.train_to(2).unwrap();
    for (file, rows) in files.iter().zip(&uninterrupted) {
        assert_eq!(&lines(&logs.join(file)), rows, "{file} reads as the uninterrupted run");
    }
    std::fs::remove_dir_all(&run).unwrap();
}

#[test]
fn plots_draws_the_curves_after_each_epoch() {
    one_thread();
    let run = temp_dir("plots");
    let mut trainer = builder!(clusters(2, 8, 3), 0.1).run_folder(&run).hook(Plots::new()).build().unwrap();
    trainer.train(2).unwrap();
    for name in ["losses.png", "learning_rates.png"] {
        let bytes = std::fs::read(run.join("plots").join(name)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
        // IHDR: 800 x 600.
        assert_eq!((&bytes[16..20], &bytes[20..24]), (&800u32.to_be_bytes()[..], &600u32.to_be_bytes()[..]), "{name}");
    }
    let names: Vec<String> = std::fs::read_dir(run.join("plots")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    std::fs::remove_dir_all(&run).unwrap();
}

fn validation(val: InMemoryDataset) -> Validation<metric_learning::evaluation::GlobalEmbeddingSpace> {
    let tester = GlobalEmbeddingSpaceTester::new().accuracy_calculator(AccuracyCalculator::new().include([Metric::PrecisionAt1, Metric::RPrecision]));
    Validation::new(tester, vec![("val".to_string(), Arc::new(val) as Arc<dyn Dataset>)])
}

#[test]
fn validation_stops_after_its_patience_and_keeps_the_best_checkpoint() {
    one_thread();
    let run = temp_dir("validation");
    let (train, val) = (clusters(2, 8, 3), clusters(2, 5, 3));
    // A learning rate of 0: the metric never improves on the first validation's.
    let mut trainer = builder!(copy(&train), 0.0)
        .run_folder(&run)
        .checkpoints(Checkpoints::new().every_epochs(0))
        .hook(validation(copy(&val)).patience(1))
        .build()
        .unwrap();
    trainer.train(5).unwrap();
    assert_eq!(trainer.epoch(), 2, "epoch 1 is the best, epoch 2 does not improve: patience 1 stops there");
    drop(trainer);

    // The metrics' curves, redrawn at each validation.
    let curve = std::fs::read(run.join("plots").join("validation.png")).unwrap();
    assert_eq!(&curve[..8], b"\x89PNG\r\n\x1a\n");
    let log = run.join("logs").join("validation.csv");
    let rows = lines(&log);
    assert_eq!(rows[0], "epoch,split,precision_at_1_level0,r_precision_level0");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[1].starts_with("1,val,") && rows[2].starts_with("2,val,"), "{rows:?}");
    assert_eq!(rows[1][2..], rows[2][2..], "nothing trained, nothing changed");

    // The best was asked for once, at epoch 1: the only checkpoint is the best, of epoch 1.
    let checkpoints: Vec<String> = std::fs::read_dir(run.join("checkpoints")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(checkpoints, ["best.safetensors"]);
    let best = run.join("checkpoints").join("best.safetensors");
    let mut resumed = builder!(copy(&train), 0.0).run_folder(&run).hook(validation(copy(&val)).patience(1)).resume_from(&best).build().unwrap();
    assert_eq!(resumed.epoch(), 1);
    resumed.train_to(1).unwrap();
    assert_eq!(lines(&log), rows[..2], "cut back to epoch 1's row");
    resumed.train_to(5).unwrap();
    // Epoch 2 is written again, and the run stops there again: its best and patience came back.
    assert_eq!(resumed.epoch(), 2);
    assert_eq!(lines(&log), rows);
    std::fs::remove_dir_all(&run).unwrap();
}

#[test]
fn validation_names_the_keys_its_results_have() {
    one_thread();
    let run = temp_dir("validation-keys");
    let mut trainer = builder!(clusters(2, 8, 3), 0.1)
        .run_folder(&run)
        .hook(validation(clusters(2, 5, 3)).primary("val", "map_at_r_level0", Better::Higher))
        .build()
        .unwrap();
    let text = trainer.train(1).unwrap_err().to_string();
    assert!(text.contains("`map_at_r_level0`") && text.contains("precision_at_1_level0, r_precision_level0"), "{text}");
    let mut trainer = builder!(clusters(2, 8, 3), 0.1).hook(validation(clusters(2, 5, 3)).primary("test", "precision_at_1_level0", Better::Lower)).build().unwrap();
    let text = trainer.train(1).unwrap_err().to_string();
    assert!(text.contains("split `test`") && text.contains("val"), "{text}");
    std::fs::remove_dir_all(&run).unwrap();
}
