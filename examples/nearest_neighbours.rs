//! A trained model as a search engine (PML's InferenceModel): MetricLossOnly trained for one
//! epoch on the first 10,000 Fashion-MNIST training images (the quick-start configuration), the
//! training images' embeddings made into a labelled nearest-neighbour index, saved to a file
//! and loaded back, then searched with test images.
//!
//! Expect, after five queries with their neighbours' labels and distances, a last line like
//! `fashion-mnist nearest_neighbours: the nearest training image has the label of 0.805 of 1000 test images`.

use metric_learning::evaluation::{KnnDistance, NearestNeighbourIndex};
use metric_learning::prelude::*;
use std::time::Instant;

const TRAIN_IMAGES: usize = 10_000;
const TEST_IMAGES: usize = 1000;
const SHOWN: usize = 5;
const NEIGHBOURS: i64 = 5;

/// Fashion-MNIST's class names, by label.
const CLASSES: [&str; 10] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn class(label: i64) -> &'static str {
    CLASSES.get(label as usize).copied().unwrap_or("?")
}

fn run() -> metric_learning::Result<()> {
    metric_learning::tch::manual_seed(0);
    let device = Device::cuda_if_available();
    let train = FashionMnist::load(Split::Train)?.take(TRAIN_IMAGES);
    let test = FashionMnist::load(Split::Test)?.take(TEST_IMAGES);
    let train_labels = train.all_labels().int_column(0).unwrap_or_default();
    let test_labels = test.all_labels().int_column(0).unwrap_or_default();
    // The trainer takes the dataset; the images stay at hand for the index.
    let train_images = train.data().shallow_clone();

    let trunk = Model::build(device, |p| {
        nn::seq_t().add(nn::linear(p / "fc1", 784, 256, Default::default())).add_fn(|x| x.relu()).add(nn::linear(
            p / "fc2",
            256,
            128,
            Default::default(),
        ))
    });
    let embedder = Model::build(device, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
    let sampler = MPerClassSampler::new(&train_labels, 8).length_before_new_iter(train.len());
    let mut trainer = MetricLossOnly::builder()
        .trunk(trunk)
        .embedder(embedder)
        .metric_loss(TripletMarginLoss::new().margin(0.1))
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .trunk_optimizer(Adam::new(1e-3))
        .embedder_optimizer(Adam::new(1e-3))
        .sampler(sampler)
        .data_device(device)
        .seed(0)
        .dataset(train)
        .batch_size(128)
        .build()?;
    let started = Instant::now();
    trainer.train(1)?;
    println!("trained 1 epoch ({} iterations) on {TRAIN_IMAGES} images in {:.1} s", trainer.iterations_per_epoch(), started.elapsed().as_secs_f64());

    // The index, through a file and back, as a program that serves a trained model would have it.
    let references = trainer.embed(&train_images, 1000)?;
    let index = NearestNeighbourIndex::new(&references, KnnDistance::Euclidean)?.with_labels(train_labels)?;
    let path = std::env::temp_dir().join(format!("fashion-mnist-index-{}.safetensors", std::process::id()));
    index.save(&path)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let loaded = NearestNeighbourIndex::load(&path, device);
    // Removed before the load's result is looked at, so that a failed load leaves no file.
    let _ = std::fs::remove_file(&path);
    let index = loaded?;
    println!("index of {} training images ({:.1} MB) saved to {} and loaded back", index.len(), bytes as f64 / 1e6, path.display());

    let queries = trainer.embed(test.data(), 1000)?;
    let matches = index.search(&queries, NEIGHBOURS)?;
    let neighbour_labels = matches.labels.as_ref().ok_or_else(|| Error::data("the loaded index has no labels"))?;
    for q in 0..SHOWN.min(test_labels.len()) {
        let labels: Vec<String> = neighbour_labels[q].iter().map(|&l| format!("{l} ({})", class(l))).collect();
        let distances: Vec<String> = matches.distances[q].iter().map(|d| format!("{d:.3}")).collect();
        println!(
            "test image {q}, label {} ({}): nearest training images' labels {}; L2 distances {}",
            test_labels[q],
            class(test_labels[q]),
            labels.join(", "),
            distances.join(", ")
        );
    }
    let agreeing = neighbour_labels.iter().zip(&test_labels).filter(|(neighbours, label)| neighbours.first() == Some(label)).count();
    println!(
        "fashion-mnist nearest_neighbours: the nearest training image has the label of {:.3} of {} test images",
        agreeing as f64 / test_labels.len().max(1) as f64,
        test_labels.len()
    );
    Ok(())
}
