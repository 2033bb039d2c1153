//! No panics on user data or user models: every mistake of the list is an `Err` that
//! names the trainer, the key and when, with what was expected and what was found.

use metric_learning::prelude::*;
use metric_learning_tests::{clusters, int_labels, linear, one_thread};

fn metric_loss_only(trunk: Model, embedder: Model) -> metric_learning::Result<Trainer<MetricLossOnly>> {
    MetricLossOnly::builder()
        .trunk(trunk)
        .embedder(embedder)
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
}

#[test]
fn a_trunk_that_does_not_fit_the_embedder_is_refused_by_build() {
    one_thread();
    let error = metric_loss_only(linear(6, 8), linear(5, 4)).err().expect("8 features into a 5-wide embedder");
    assert_eq!(error.when(), Some(When::Build));
    assert_eq!(error.key(), Some("embedder"));
    assert!(matches!(error.root(), Error::Model { shape, .. } if shape == &[1, 8]), "{error:?}");
    let text = error.to_string();
    assert_eq!(
        text,
        "MetricLossOnly in build(): model `embedder` cannot process input of shape [1, 8]: mat1 and mat2 shapes cannot be multiplied (1x8 and 5x4)",
        "libtorch's first line, without its C++ backtrace"
    );
}

#[test]
fn embedding_data_of_the_wrong_width_is_an_error() {
    one_thread();
    let mut trainer = metric_loss_only(linear(6, 8), Model::identity()).unwrap();
    let error = trainer.embed(&Tensor::zeros([3, 5], (Kind::Float, Device::Cpu)), 2).expect_err("5 columns, the trunk takes 6");
    assert_eq!(error.key(), Some("trunk"));
    assert!(error.to_string().contains("model `trunk` cannot process input of shape [2, 5]"), "{error}");
    // The trainer still works afterwards.
    assert_eq!(trainer.embed(&Tensor::zeros([3, 6], (Kind::Float, Device::Cpu)), 2).unwrap().size(), [3, 8]);
}

#[test]
fn an_arcface_of_another_embedding_size_names_the_loss_and_the_iteration() {
    one_thread();
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .metric_loss(ArcFaceLoss::new(2, 16).device(Device::Cpu))
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    let error = trainer.train(1).expect_err("8-wide embeddings, an ArcFace for 16");
    assert_eq!(error.when(), Some(When::Iteration { epoch: 1, iteration: 0 }));
    assert_eq!(error.key(), Some("metric_loss"));
    let text = error.to_string();
    assert!(text.contains("at epoch 1, iteration 0: `metric_loss`: invalid data: ArcFaceLoss was built with embedding_size 16, but the embeddings are 8 wide"), "{text}");
}

#[test]
fn a_cuda_device_without_cuda_is_refused_by_build() {
    if tch::Cuda::is_available() {
        return; // Nothing to refuse on a machine with a GPU.
    }
    let error = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .data_device(Device::Cuda(0))
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .err()
        .expect("no CUDA device");
    assert_eq!((error.when(), error.key()), (Some(When::Build), Some("data_device")));
    assert!(
        matches!(error.root(), Error::Mismatch { found, .. } if found == "Device::Cuda(0)"),
        "{error:?}"
    );
}

#[test]
fn a_dtype_the_models_cannot_take_is_refused_by_build() {
    one_thread();
    let error = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .metric_loss(TripletMarginLoss::new())
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dtype(Kind::Half)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .err()
        .expect("f32 parameters, half data");
    assert_eq!((error.when(), error.key()), (Some(When::Build), Some("trunk")));
    let text = error.to_string();
    assert!(text.contains("`trunk` expected parameters of kind Half") && text.contains("found parameters of kind Float"), "{text}");
}

#[test]
fn a_sampler_with_m_zero_or_other_labels_is_refused_by_build() {
    one_thread();
    let dataset = clusters(2, 8, 6);
    let labels = int_labels(&dataset);
    let build = |sampler: MPerClassSampler| {
        MetricLossOnly::builder()
            .trunk(linear(6, 8))
            .metric_loss(TripletMarginLoss::new())
            .progress_bar(false)
            .data_device(Device::Cpu)
            .sampler(sampler)
            .dataset(clusters(2, 8, 6))
            .batch_size(8)
            .build()
            .err()
            .expect("a sampler that cannot work")
    };
    let error = build(MPerClassSampler::new(&labels, 0));
    assert_eq!((error.when(), error.key()), (Some(When::Build), Some("MPerClassSampler")));
    assert!(error.to_string().contains("found m = 0"), "{error}");
    let error = build(MPerClassSampler::new(&labels[..10], 2));
    assert!(error.to_string().contains("one per sample (16), found 10 labels"), "{error}");
}

#[test]
fn errors_carry_fields_a_program_can_match_and_constructors_a_step_can_use() {
    let error = Error::mismatch("embedder", "64 features", "32").in_trainer("Mine", When::Iteration { epoch: 2, iteration: 5 });
    match &error {
        Error::Trainer { trainer, when: When::Iteration { epoch, iteration }, source } => {
            assert_eq!((*trainer, *epoch, *iteration), ("Mine", 2, 5));
            assert!(matches!(&**source, Error::Mismatch { key, expected, found } if key == "embedder" && expected == "64 features" && found == "32"));
        }
        other => panic!("not placed: {other:?}"),
    }
    assert_eq!(error.to_string(), "Mine at epoch 2, iteration 5: `embedder` expected 64 features, found 32");
    let keyed = Error::data("no positives").in_key("metric_loss").in_key("outer");
    assert_eq!(keyed.key(), Some("metric_loss"), "a key once named stays");
}

#[test]
fn an_optimizer_set_twice_is_refused_by_build() {
    one_thread();
    let error = MetricLossOnly::builder()
        .trunk(linear(6, 8))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Adam::new(1e-3))
        .trunk_optimizer(Sgd::new(0.1))
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .err()
        .expect("two optimizers for the trunk");
    assert_eq!((error.when(), error.key()), (Some(When::Build), Some("trunk_optimizer")));
    assert!(error.to_string().contains("found `.trunk_optimizer(...)` called twice"), "{error}");
}
