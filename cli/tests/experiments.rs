//! The `metric-learning` command on the example experiments (each checks; the demo's trains a
//! few iterations) and on files with mistakes (each reported at its place, all at once).

use std::path::{Path, PathBuf};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_metric-learning");

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ is in the repository").to_path_buf()
}

/// Exit status, stdout and stderr of `metric-learning ARGS`, run from the repository.
fn run(args: &[&str]) -> (bool, String, String) {
    run_in(&repository(), args)
}

/// The same, run from `folder`.
fn run_in(folder: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY).args(args).current_dir(folder).env("OMP_NUM_THREADS", "1").output().expect("the binary runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A fresh temporary folder for one test.
fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("metric-learning-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// The image folders `experiments/image_folder.toml` names, small: 16 classes of a few tiny JPEGs
/// (the example `image_folder` writes the real ones).
fn small_image_folders(under: &Path) {
    // MPerClassSampler's m = 8 needs 8 of each class.
    for (split, per_class) in [("train-jpeg64-20000", 8u8), ("test-jpeg64-2000", 2)] {
        for class in 0..16u8 {
            let folder = under.join("runs/data").join(format!("fashion-mnist-{split}")).join(format!("class{class:02}"));
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..per_class {
                let image = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([class * 15, (x * 30) as u8 + i, (y * 30) as u8]));
                image.save(folder.join(format!("{i}.jpg"))).unwrap();
            }
        }
    }
}

/// `check` on a file holding `text`; its stderr.
fn mistakes(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("metric-learning-cli-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let (ok, _, stderr) = run(&["check", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert!(!ok, "{name}: check passed a file with mistakes");
    stderr
}

#[test]
fn every_example_experiment_checks() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repository().join("experiments")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    files.sort();
    let names: Vec<String> = files.iter().map(|f| f.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["demo", "train_with_classifier", "cascaded_embeddings", "deep_adversarial", "two_stream", "unsupervised", "image_folder"] {
        assert!(names.iter().any(|n| n == expected), "experiments/{expected}.toml is missing: {names:?}");
    }
    // From a folder holding small image folders where the image-folder experiment looks.
    let folder = scratch("every-example");
    small_image_folders(&folder);
    for file in files {
        let (ok, stdout, stderr) = run_in(&folder, &["check", file.to_str().unwrap()]);
        assert!(ok, "{}: {stderr}", file.display());
        assert!(stdout.starts_with("ok: "), "{stdout}");
    }
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn a_run_resumes_and_its_checkpoint_evaluates() {
    let folder = scratch("resume");
    let demo = std::fs::read_to_string(repository().join("experiments/demo.toml")).unwrap();
    let file = folder.join("demo.toml");
    std::fs::write(&file, demo.replace("seed = 0", "seed = 0\nrun_folder = \"run\"\niterations_per_epoch = 2")).unwrap();
    let (ok, stdout, stderr) = run_in(&folder, &["train", "demo.toml", "--epochs", "1"]);
    assert!(ok && stdout.contains("trained 1 epochs (2 iterations)"), "{stdout}{stderr}");
    let (ok, stdout, stderr) = run_in(&folder, &["resume", "run", "--epochs", "2"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("(epoch 1 done)") && stdout.contains("trained 1 epochs (2 iterations)"), "{stdout}");
    let (ok, stdout, stderr) = run_in(&folder, &["eval", "run", "--data", "{ type = \"FashionMNIST\", split = \"test\", take = 300 }"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("after epoch 2") && stdout.contains("on 300 samples") && stdout.contains("mean_average_precision_at_r"), "{stdout}");
    let (ok, _, stderr) = run_in(&folder, &["eval", "run", "--data", "{ type = \"FashionMNIST\", splt = \"test\" }"]);
    assert!(!ok && stderr.contains("has no parameter `splt`; did you mean `split`?"), "{stderr}");
    let (ok, _, stderr) = run_in(&folder, &["resume", "nowhere"]);
    assert!(!ok && stderr.contains("is nowhere a run folder?"), "{stderr}");
    std::fs::remove_dir_all(folder.join("run/checkpoints")).unwrap();
    let (ok, _, stderr) = run_in(&folder, &["resume", "run"]);
    assert!(!ok && stderr.contains("run/checkpoints: no checkpoint to start from"), "{stderr}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn trainer_parameters_validation_and_families_are_checked() {
    let text = "trainer = \"CascadedEmbeddings\"\nbatch_size = 8\nepochs = 1\n[dataset]\ntype = \"FashionMNIST\"\n[params]\nembeding_sizes = [4, 4]\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [784, 8]\n[losses.metric_loss_0]\ntype = \"ContrastiveLoss\"\n[losses.metric_loss_2]\ntype = \"ContrastiveLoss\"\n[validation]\nprimary = \"map\"\n";
    let stderr = mistakes("params", text);
    assert!(stderr.contains(":7:1: trainer `CascadedEmbeddings` has no parameter `embeding_sizes`; did you mean `embedding_sizes`?"), "{stderr}");
    assert!(stderr.contains("`metric_loss_2` is given without `metric_loss_1`"), "{stderr}");
    assert!(stderr.contains("is missing its required parameter `embedding_sizes` (give it under [params] embedding_sizes = ...)"), "{stderr}");
    assert!(stderr.contains(":16:11: `validation.primary`: invalid configuration: unknown metric `map`: metrics must be one or more of"), "{stderr}");
    let text = "trainer = \"DeepAdversarialMetricLearning\"\nbatch_size = 8\nepochs = 1\n[dataset]\ntype = \"FashionMNIST\"\n[params]\ng_alone_epochs = -1\n[losses.g_adv_loss]\ntype = \"ContrastiveLoss\"\n";
    let stderr = mistakes("param-type", text);
    assert!(stderr.contains(":9:8: `g_adv_loss` of `DeepAdversarialMetricLearning` takes a TripletMarginLoss (it is declared so), and `ContrastiveLoss` is another loss"), "{stderr}");
    assert!(stderr.contains(":7:18: `params.g_alone_epochs` must be a whole number, 0 or more (it is declared `usize`), found integer `-1`"), "{stderr}");
}

#[test]
fn the_demo_experiment_trains() {
    let (ok, stdout, stderr) = run(&["train", "experiments/demo.toml", "--epochs", "1", "--iterations-per-epoch", "5"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("trained 1 epochs (5 iterations)"), "{stdout}");
    // The demo's starting scores: the file seeds the models' weights as the demo does.
    assert!(stdout.contains("MetricLossOnly: precision_at_1 0.752 -> "), "{stdout}");
}

#[test]
fn three_mistakes_are_reported_at_their_places_at_once() {
    let text = "trainer = \"MetricLossOnly\"\nbatch_size = 128\nepochs = 2\n\n[dataset]\ntype = \"FashionMNIST\"\n\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [784, 256, 128]\n\n[miners.metric_loss]\ntype = \"TripletMarginLoss\"\n\n[miners.tuple_miner]\ntype = \"MultiSimilarityMiner\"\nepsilon = \"0.1\"\n";
    let stderr = mistakes("three", text);
    assert!(stderr.contains(":13:8: `miners.metric_loss` takes a miner, and `TripletMarginLoss` is a loss"), "{stderr}");
    assert!(stderr.contains(":17:11: `miners.tuple_miner.epsilon` must be a number, found string `\"0.1\"`"), "{stderr}");
    assert!(stderr.contains(":1:11: trainer `MetricLossOnly` is missing its required loss `metric_loss`"), "{stderr}");
    assert!(stderr.contains("3 mistakes in"), "{stderr}");
}

#[test]
fn names_that_do_not_exist_get_the_closest_one() {
    let base = "batch_size = 8\nepochs = 1\n[dataset]\ntype = \"FashionMNIST\"\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [784, 8]\n";
    let stderr = mistakes("trainer", &format!("trainer = \"MetricLosOnly\"\n{base}"));
    assert!(stderr.contains(":1:11: no trainer named `MetricLosOnly`; did you mean `MetricLossOnly`?"), "{stderr}");
    let stderr = mistakes("param", &format!("trainer = \"MetricLossOnly\"\n{base}[losses.metric_loss]\ntype = \"TripletMarginLoss\"\nmargn = 0.1\n"));
    assert!(stderr.contains(":11:1: `losses.metric_loss`: TripletMarginLoss has no parameter `margn`; did you mean `margin`?"), "{stderr}");
    let stderr = mistakes("key", &format!("trainer = \"MetricLossOnly\"\nbatch_sise = 8\n{base}[losses.metric_loss]\ntype = \"TripletMarginLoss\"\n[models.embeder]\ntype = \"Identity\"\n"));
    assert!(stderr.contains(":2:1: unknown key `batch_sise`; did you mean `batch_size`?"), "{stderr}");
    assert!(stderr.contains("trainer `MetricLossOnly` has no key `embeder`; did you mean `embedder`?"), "{stderr}");
}

#[test]
fn wrong_kinds_sizes_and_malformed_files_are_errors() {
    let stderr = mistakes("malformed", "trainer = \"MetricLossOnly\"\nbatch_size = = 8\n");
    assert!(stderr.contains(":2:14: not valid TOML"), "{stderr}");
    let text = "trainer = \"TrainWithClassifier\"\nbatch_size = 0\nepochs = 1\n[dataset]\ntype = \"FashionMNIST\"\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [784, 8]\n[models.classifier]\ntype = \"MLP\"\nlayer_sizes = [8, 10]\n[losses.metric_loss]\ntype = \"CrossEntropyLoss\"\n[losses.classifier_loss]\ntype = \"CrossEntropyLoss\"\n";
    let stderr = mistakes("kinds", text);
    assert!(stderr.contains(":2:14: `batch_size` must be at least 1, found 0"), "{stderr}");
    assert!(stderr.contains("`metric_loss` of `TrainWithClassifier` takes a metric loss (Box<dyn MetricLoss>), and `CrossEntropyLoss` is a classifier loss"), "{stderr}");
    // A model that does not fit the data is build()'s error, which check reaches too.
    let text = "trainer = \"MetricLossOnly\"\nbatch_size = 8\nepochs = 1\n[dataset]\ntype = \"FashionMNIST\"\ntake = 64\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [100, 8]\n[losses.metric_loss]\ntype = \"TripletMarginLoss\"\n";
    let stderr = mistakes("shape", text);
    assert!(stderr.contains("model `trunk` cannot process input of shape [1, 784]"), "{stderr}");
}

#[test]
fn list_prints_the_declared_keys_and_the_modules() {
    let (ok, stdout, _) = run(&["list"]);
    assert!(ok);
    assert!(stdout.contains("  MetricLossOnly\n    trunk"), "{stdout}");
    assert!(stdout.contains("metric_loss                  losses     required       Box<dyn MetricLoss>"), "{stdout}");
    assert!(stdout.contains("g_triplets_per_anchor        parameter  has a default  i64 = 100"), "{stdout}");
    assert!(stdout.contains("embedder                     models     has a default  Model = Model::identity()"), "{stdout}");
    assert!(stdout.contains("TripletMarginLoss(margin = 0.05, swap = false, smooth_loss = false, triplets_per_anchor = \"all\", distance = LpDistance()"), "{stdout}");
}

#[test]
fn a_sweep_trains_each_value_and_ends_with_a_table() {
    let (ok, stdout, stderr) =
        run(&["train", "experiments/demo.toml", "--epochs", "1", "--iterations-per-epoch", "3", "--set", "losses.metric_loss.margin=0.05,0.2", "--set", "miners.tuple_miner.epsilon=0.1"]);
    assert!(ok, "{stderr}");
    let table = stdout.split("sweep of experiments/demo.toml (test set after training):").nth(1).unwrap_or_else(|| panic!("no table: {stdout}"));
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("losses.")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].starts_with("losses.metric_loss.margin=0.05 miners.tuple_miner.epsilon=0.1"), "{table}");
    assert!(rows[1].starts_with("losses.metric_loss.margin=0.2 miners.tuple_miner.epsilon=0.1"), "{table}");
    let (ok, _, stderr) = run(&["train", "experiments/demo.toml", "--set", "margin"]);
    assert!(!ok && stderr.contains("--set margin: expected PATH=VALUE[,VALUE...]"), "{stderr}");
}

#[test]
fn a_sweep_table_in_the_file_sweeps_with_validation() {
    let folder = scratch("sweep-table");
    let demo = std::fs::read_to_string(repository().join("experiments/demo.toml")).unwrap();
    let text = demo.replace("seed = 0", "seed = 0\nrun_folder = \"runs/margin\"\niterations_per_epoch = 2\n\n[sweep]\n\"losses.metric_loss.margin\" = [0.05, 0.2]\n\n[validation]\nmetrics = [\"precision_at_1\", \"mean_average_precision_at_r\"]\n");
    std::fs::write(folder.join("sweep.toml"), text).unwrap();
    let (ok, stdout, stderr) = run_in(&folder, &["train", "sweep.toml", "--epochs", "1"]);
    assert!(ok, "{stderr}");
    let best = stdout.split("best validation of each variation:").nth(1).unwrap_or_else(|| panic!("no validation table: {stdout}"));
    assert!(best.contains("precision_at_1_level0") && best.contains("mean_average_precision_at_r_level0"), "{best}");
    assert_eq!(best.lines().filter(|l| l.starts_with("losses.metric_loss.margin=")).count(), 2, "{best}");
    assert!(stdout.contains("plot of the table: runs/margin-sweep.png"), "{stdout}");
    let png = std::fs::read(folder.join("runs/margin-sweep.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    for margin in ["0.05", "0.2"] {
        let record = std::fs::read_to_string(folder.join(format!("runs/margin-losses.metric_loss.margin={margin}/experiment.toml"))).unwrap();
        assert!(record.contains(&format!("margin = {margin}")) && !record.contains("[sweep]"), "{record}");
    }
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn a_run_folder_holding_another_experiment_is_refused_without_overwrite() {
    let folder = std::env::temp_dir().join(format!("metric-learning-cli-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let demo = std::fs::read_to_string(repository().join("experiments/demo.toml")).unwrap();
    let write = |name: &str, margin: &str| {
        let path = folder.with_extension(format!("{name}.toml"));
        let text = demo.replace("margin = 0.1", &format!("margin = {margin}")).replace("seed = 0", &format!("seed = 0\nrun_folder = {:?}", folder.display().to_string()));
        std::fs::write(&path, text).unwrap();
        path
    };
    let (first, second) = (write("first", "0.1"), write("second", "0.2"));
    let train = |path: &PathBuf, extra: &[&str]| run(&[&["train", path.to_str().unwrap(), "--epochs", "1", "--iterations-per-epoch", "2"], extra].concat());
    assert!(train(&first, &[]).0, "the first run takes the folder");
    assert!(train(&first, &[]).0, "the same experiment may run again in its folder");
    let (ok, _, stderr) = train(&second, &[]);
    assert!(!ok && stderr.contains("the run folder holds another experiment"), "{stderr}");
    assert!(train(&second, &["--overwrite"]).0, "--overwrite reuses it");
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::remove_file(&first);
    let _ = std::fs::remove_file(&second);
}

/// The demo's file with `replace` applied to its text, in a scratch folder; `check` on it.
fn check_variant(name: &str, replace: &[(&str, &str)]) -> (bool, String, String) {
    let folder = scratch(name);
    let mut text = std::fs::read_to_string(repository().join("experiments/demo.toml")).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "the demo's file has no `{from}`");
        text = text.replace(from, to);
    }
    std::fs::write(folder.join("x.toml"), text).unwrap();
    let outcome = run_in(&folder, &["check", "x.toml"]);
    let _ = std::fs::remove_dir_all(&folder);
    outcome
}

#[test]
fn a_torchscript_trunk_trains_and_one_that_does_not_fit_is_refused() {
    let trunk = repository().join("cli/tests/fixtures/trunk.pt");
    let script = format!("type = \"TorchScript\"\npath = {:?}", trunk.display().to_string());
    let (ok, stdout, stderr) = check_variant("script", &[("type = \"MLP\"\nlayer_sizes = [784, 256, 128]", &script), ("layer_sizes = [128, 64]", "layer_sizes = [16, 8]")]);
    assert!(ok && stdout.starts_with("ok: "), "{stdout}{stderr}");
    // Its output is 16 wide; an embedder that takes 128 does not fit, found on one sample.
    let (ok, _, stderr) = check_variant("script-width", &[("type = \"MLP\"\nlayer_sizes = [784, 256, 128]", &script)]);
    assert!(!ok && stderr.contains("model `embedder` cannot process input of shape [1, 16]"), "{stderr}");
    let not_script = format!("type = \"TorchScript\"\npath = {:?}", repository().join("cli/tests/fixtures/make_trunk.py").display().to_string());
    let (ok, _, stderr) = check_variant("not-script", &[("type = \"MLP\"\nlayer_sizes = [784, 256, 128]", &not_script)]);
    assert!(!ok && stderr.contains("not a TorchScript module"), "{stderr}");
    let (ok, _, stderr) = check_variant("no-script", &[("type = \"MLP\"\nlayer_sizes = [784, 256, 128]", "type = \"TorchScript\"\npath = \"nowhere.pt\"")]);
    assert!(!ok && stderr.contains("nowhere.pt") && stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn mixed_precision_is_checked_against_the_machine() {
    let (ok, stdout, stderr) = check_variant("bf16", &[("seed = 0", "seed = 0\nmixed_precision = \"bf16\"")]);
    if metric_learning::precision::bf16_supported(metric_learning::tch::Device::Cpu) {
        assert!(ok && stdout.starts_with("ok: "), "{stdout}{stderr}");
    } else {
        assert!(!ok && stderr.contains("a device that computes bf16 natively"), "{stderr}");
    }
    let (ok, _, stderr) = check_variant("fp16", &[("seed = 0", "seed = 0\nmixed_precision = \"fp16\"")]);
    assert!(!ok && stderr.contains("f16 with a loss scale is for CUDA"), "{stderr}");
    let (ok, _, stderr) = check_variant("fp8", &[("seed = 0", "seed = 0\nmixed_precision = \"fp8\"")]);
    assert!(!ok && stderr.contains("`mixed_precision` must be \"bf16\", \"fp16\" or { type = \"bf16\", even_if_emulated = true }, found string `\"fp8\"`"), "{stderr}");
    // Emulated where the CPU has no bf16: slower, but it runs.
    let (ok, stdout, stderr) = check_variant("bf16-emulated", &[("seed = 0", "seed = 0\nmixed_precision = { type = \"bf16\", even_if_emulated = true }")]);
    assert!(ok && stdout.starts_with("ok: "), "{stdout}{stderr}");
}

#[test]
fn samplers_clippers_freezing_and_schedulers_from_a_file_train() {
    let folder = scratch("extras");
    let text = std::fs::read_to_string(repository().join("experiments/demo.toml")).unwrap().replace("m = 8\nlength_before_new_iter = 60000", "replacement = true\nnum_samples = 1024").replace("type = \"MPerClassSampler\"", "type = \"RandomSampler\"")
        + "\nfreeze = []\n[grad_clippers.trunk]\ntype = \"ClipGradNorm\"\nmax_norm = 1.0\n\n[schedulers.trunk]\ntype = \"StepLR\"\nstep_size = 1\ngamma = 0.5\n";
    // `freeze` is a top-level key: it must come before the tables.
    let text = text.replace("\nfreeze = []\n", "\n").replacen("seed = 0", "seed = 0\nfreeze = [\"embedder\"]", 1);
    std::fs::write(folder.join("x.toml"), &text).unwrap();
    let (ok, stdout, stderr) = run_in(&folder, &["train", "x.toml", "--epochs", "1", "--iterations-per-epoch", "3"]);
    assert!(ok && stdout.contains("trained 1 epochs (3 iterations)"), "{stdout}{stderr}");
    std::fs::write(folder.join("y.toml"), text.replace("freeze = [\"embedder\"]", "freeze = [\"embeder\"]").replace("max_norm = 1.0", "max_norm = -1.0")).unwrap();
    let (ok, _, stderr) = run_in(&folder, &["check", "y.toml"]);
    assert!(!ok && stderr.contains("`freeze` names `embeder`, which is not a model or loss of `MetricLossOnly`; did you mean `embedder`?"), "{stderr}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn multiple_losses_by_name_with_weights_and_miners() {
    let loss = "[losses.metric_loss]\ntype = \"TripletMarginLoss\"\nmargin = 0.1";
    let multiple = "[losses.metric_loss]\ntype = \"MultipleLosses\"\n\n[losses.metric_loss.losses.triplet]\ntype = \"TripletMarginLoss\"\nmargin = 0.1\n\n[losses.metric_loss.losses.contrastive]\ntype = \"ContrastiveLoss\"\n\n[losses.metric_loss.miners.triplet]\ntype = \"TripletMarginMiner\"\nmargin = 0.1\n\n[losses.metric_loss.weights]\ncontrastive = 0.5";
    let (ok, stdout, stderr) = check_variant("multiple", &[(loss, multiple)]);
    assert!(ok && stdout.starts_with("ok: "), "{stdout}{stderr}");
    let (ok, _, stderr) = check_variant("multiple-weight", &[(loss, &multiple.replace("contrastive = 0.5", "contrastve = 0.5"))]);
    assert!(!ok && stderr.contains("MultipleLosses: `contrastve` has a miner or weight but no loss; its losses are triplet, contrastive"), "{stderr}");
    let (ok, _, stderr) = check_variant("multiple-typo", &[(loss, &multiple.replace("type = \"ContrastiveLoss\"", "type = \"ContrastivLoss\""))]);
    assert!(!ok && stderr.contains("`losses.metric_loss.losses.contrastive`: no loss named `ContrastivLoss`; did you mean `ContrastiveLoss`?"), "{stderr}");
}

#[test]
fn features_with_two_label_levels_train_with_the_hierarchical_sampler() {
    use metric_learning::tch::{Device, Kind, Tensor};
    let folder = scratch("hierarchical");
    // 64 samples of 8 classes, classes 0-3 in super-class 0 and 4-7 in super-class 1.
    let classes = Tensor::arange(64, (Kind::Int64, Device::Cpu)).remainder(8);
    let labels = Tensor::stack(&[classes.shallow_clone(), classes.divide_scalar_mode(4, "floor")], 1);
    let data = Tensor::randn([64, 16], (Kind::Float, Device::Cpu));
    Tensor::write_safetensors(&[("data", &data), ("labels", &labels)], folder.join("features.safetensors")).unwrap();
    let text = "trainer = \"MetricLossOnly\"\nbatch_size = 16\nepochs = 1\niterations_per_epoch = 2\nseed = 0\n\n[dataset]\ntype = \"Features\"\npath = \"features.safetensors\"\n\n[sampler]\ntype = \"HierarchicalSampler\"\nbatch_size = 16\nsamples_per_class = 4\n\n[models.trunk]\ntype = \"MLP\"\nlayer_sizes = [16, 8]\n\n[losses.metric_loss]\ntype = \"ContrastiveLoss\"\n";
    std::fs::write(folder.join("x.toml"), text).unwrap();
    let (ok, stdout, stderr) = run_in(&folder, &["train", "x.toml"]);
    assert!(ok && stdout.contains("trained 1 epochs (2 iterations)"), "{stdout}{stderr}");
    // Labels of one level have no super-class to sample by.
    Tensor::write_safetensors(&[("data", &data), ("labels", &classes)], folder.join("features.safetensors")).unwrap();
    let (ok, _, stderr) = run_in(&folder, &["check", "x.toml"]);
    assert!(!ok && stderr.contains("HierarchicalSampler") && stderr.contains("outer_label = 1") && stderr.contains("row 0 of 1 labels"), "{stderr}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn any_metric_loss_takes_regularizers() {
    let folder = scratch("regularizers");
    let text = std::fs::read_to_string(repository().join("experiments/demo.toml"))
        .unwrap()
        .replace("margin = 0.1\n", "margin = 0.1\nembedding_reg_weight = 0.5\n\n[losses.metric_loss.embedding_regularizer]\ntype = \"LpRegularizer\"\n");
    std::fs::write(folder.join("x.toml"), &text).unwrap();
    let (ok, stdout, stderr) = run_in(&folder, &["train", "x.toml", "--epochs", "1", "--iterations-per-epoch", "2"]);
    assert!(ok && stdout.contains("trained 1 epochs (2 iterations)"), "{stdout}{stderr}");
    std::fs::write(folder.join("y.toml"), text.replace("embedding_reg_weight", "embedding_reg_wieght")).unwrap();
    let (ok, _, stderr) = run_in(&folder, &["check", "y.toml"]);
    assert!(!ok && stderr.contains("TripletMarginLoss has no parameter `embedding_reg_wieght`; did you mean `embedding_reg_weight`?"), "{stderr}");
    let _ = std::fs::remove_dir_all(&folder);
}
