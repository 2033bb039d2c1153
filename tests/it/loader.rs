//! The loader's augmentation: every sample of every batch transformed on the loader's workers,
//! each batch from a generator seeded by the run's seed and the batch's number, so that the
//! trainer sees the same batches with 0, 1 or 3 workers.

use metric_learning::data::{Batch, InMemoryDataset, Labels};
use metric_learning::prelude::*;
use metric_learning::transforms::{Compose, GaussianNoise, HorizontalFlip};
use metric_learning_tests::one_thread;
use std::sync::{Arc, Mutex};

/// 24 grey 4x4 images of 3 classes, the same in every call.
fn images() -> InMemoryDataset {
    let values: Vec<f32> = (0..24 * 16).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
    InMemoryDataset::new(Tensor::from_slice(&values).reshape([24, 1, 4, 4]), Labels::int((0..24).map(|i| i % 3).collect::<Vec<i64>>())).unwrap()
}

/// The batches a trainer is fed over two epochs.
fn batches(workers: usize, augment: bool) -> Vec<Tensor> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let trunk = Model::build(Device::Cpu, |p| nn::seq_t().add_fn(|x| x.flatten(1, -1)).add(nn::linear(p / "fc", 16, 4, Default::default())));
    let builder = MetricLossOnly::builder()
        .trunk(trunk)
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.01))
        .data_and_label_getter(move |batch: Batch| {
            sink.lock().unwrap().push(batch.data.copy());
            Ok(batch)
        })
        .dataloader_num_workers(workers)
        .progress_bar(false)
        .seed(4)
        .dataset(images())
        .batch_size(6);
    let builder = if augment {
        builder.augmentation(Compose(vec![Box::new(HorizontalFlip::new(0.5)), Box::new(GaussianNoise::new(0.1))]))
    } else {
        builder
    };
    builder.build().unwrap().train(2).unwrap();
    let seen = seen.lock().unwrap();
    seen.iter().map(Tensor::copy).collect()
}

#[test]
fn the_same_augmented_batches_with_any_number_of_workers() {
    one_thread();
    let inline = batches(0, true);
    assert_eq!(inline.len(), 8, "4 batches per epoch, 2 epochs");
    for workers in [1, 3] {
        let threaded = batches(workers, true);
        assert_eq!(threaded.len(), inline.len());
        for (i, (a, b)) in inline.iter().zip(&threaded).enumerate() {
            assert!(a.equal(b), "batch {i} differs with {workers} workers");
        }
    }
    // The augmentation did change the images, and differently in each epoch.
    let plain = batches(0, false);
    assert!(inline.iter().zip(&plain).all(|(a, b)| !a.equal(b)));
    assert_eq!(inline[0].size(), [6, 1, 4, 4]);
}
