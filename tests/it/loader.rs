//! The loader's augmentation: every sample of every batch transformed on the loader's workers,
//! each batch from a generator seeded by the run's seed and the batch's number, so that the
//! trainer sees the same batches with 0, 1 or 4 workers.

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
    for workers in [1, 4] {
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

/// The loader on its own: a pass of batches, cropped on the workers, the same with 0 or 2
/// workers and in sampling order; every sample seen once per pass.
#[test]
fn a_standalone_loader_delivers_passes_in_order_with_any_number_of_workers() {
    use metric_learning::data::Loader;
    use metric_learning::transforms::RandomCrop;
    let pass = |workers: usize| -> Vec<Batch> {
        let mut loader = Loader::builder(images()).batch_size(5).workers(workers).augmentation(RandomCrop::new(3, 2)).seed(9).build().unwrap();
        assert_eq!(loader.batches_per_pass(), 4, "24 samples in batches of 5, the last incomplete one dropped");
        loader.by_ref().take(4).map(Result::unwrap).collect()
    };
    let (inline, threaded) = (pass(0), pass(2));
    for (a, b) in inline.iter().zip(&threaded) {
        assert_eq!(a.data.size(), [5, 1, 3, 2]);
        assert!(a.data.equal(&b.data));
        assert_eq!(a.labels.int_column(0), b.labels.int_column(0));
    }
    // A shuffled pass visits 20 distinct samples of the 24 (the class of sample i is i % 3).
    let labels: Vec<i64> = inline.iter().flat_map(|b| b.labels.int_column(0).unwrap()).collect();
    assert_eq!(labels.len(), 20);
    let counts = (0..3).map(|c| labels.iter().filter(|&&l| l == c).count()).collect::<Vec<_>>();
    assert!(counts.iter().all(|&n| (4..=8).contains(&n)), "{counts:?}: at most 8 of each class");
}

#[test]
fn a_loader_that_cannot_fill_a_batch_or_a_crop_larger_than_the_image_is_an_error() {
    use metric_learning::data::Loader;
    use metric_learning::transforms::RandomCrop;
    let error = Loader::builder(images()).batch_size(25).build().err().expect("24 samples cannot fill a batch of 25").to_string();
    assert!(error.contains("fewer than one batch of 25"), "{error}");
    let mut loader = Loader::builder(images()).batch_size(4).workers(1).augmentation(RandomCrop::new(5, 5)).build().unwrap();
    let error = loader.next_batch().err().expect("a 5x5 crop of a 4x4 image").to_string();
    assert!(error.contains("5x5 crop of an image of 4x4"), "{error}");
}

#[test]
fn a_trainer_reports_how_much_of_its_time_went_to_waiting_for_data() {
    one_thread();
    let trunk = Model::build(Device::Cpu, |p| nn::seq_t().add_fn(|x| x.flatten(1, -1)).add(nn::linear(p / "fc", 16, 4, Default::default())));
    let mut trainer = MetricLossOnly::builder()
        .trunk(trunk)
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.01))
        // A slow batch: the wait must show.
        .data_and_label_getter(|batch: Batch| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(batch)
        })
        .progress_bar(false)
        .dataset(images())
        .batch_size(6)
        .build()
        .unwrap();
    assert_eq!(trainer.iteration_times().fraction_waiting(), 0.0);
    trainer.train(1).unwrap();
    let times = trainer.iteration_times();
    assert!(times.waiting_for_data >= std::time::Duration::from_millis(80), "{times:?}");
    assert!(times.total >= times.waiting_for_data);
    assert!(times.fraction_waiting() > 0.5 && times.fraction_waiting() <= 1.0, "{times:?}");
}

/// The shares of a data-parallel run: every rank's, in rank order, make the batch one process
/// draws with the global size, pass after pass; a resumed share continues where it stopped.
#[test]
fn the_ranks_shares_in_rank_order_are_the_global_batch() {
    one_thread();
    let loader = |rank: usize, world: usize| metric_learning::data::Loader::builder(images()).batch_size(12 / world).shard(rank, world).seed(9).build().unwrap();
    let mut whole = loader(0, 1);
    let mut shares = [loader(0, 2), loader(1, 2)];
    assert_eq!(shares[0].batches_per_pass(), whole.batches_per_pass());
    for _ in 0..5 {
        let expected = whole.next_batch().unwrap().data;
        let parts: Vec<Tensor> = shares.iter_mut().map(|share| share.next_batch().unwrap().data).collect();
        assert!(Tensor::cat(&parts, 0).equal(&expected));
    }
    let mut resumed = loader(1, 2);
    resumed.restore_seeded(9, 5);
    assert!(resumed.next_batch().unwrap().data.equal(&shares[1].next_batch().unwrap().data));
    let refused = metric_learning::data::Loader::builder(images()).batch_size(4).shard(2, 2).build();
    assert!(refused.err().is_some_and(|e| e.to_string().contains("a rank below the world size 2")));
}
