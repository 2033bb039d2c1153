//! Mixed precision: the models under autocast in bf16, the losses in f32 outside it, training
//! close to f32's; the loss scale's skipped steps, backoff and checkpointed state; and the
//! precisions a device cannot compute are errors at build time.

use metric_learning::component::Component;
use metric_learning::data::{InMemoryDataset, Labels};
use rand::{Rng, SeedableRng};
use metric_learning::indices::Tuples;
use metric_learning::losses::Reference;
use metric_learning::precision::{bf16_supported, GradScaler, MixedPrecision};
use metric_learning::prelude::*;
use metric_learning_tests::{one_thread, snapshot};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// A triplet loss that records the kind of the embeddings it is given.
struct KindSeen {
    loss: TripletMarginLoss,
    seen: Arc<AtomicU8>,
}

impl Component for KindSeen {}

impl MetricLoss for KindSeen {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> metric_learning::Result<Tensor> {
        self.seen.store(if embeddings.kind() == Kind::Float { 1 } else { 2 }, Ordering::SeqCst);
        self.loss.compute_with_reference(embeddings, labels, indices, reference)
    }
}

/// Values from Rust's generator seeded with `seed`, uniform in ±`bound`: libtorch's generator
/// is one per process, and tests on other threads reseed it meanwhile.
fn uniform(count: usize, bound: f64, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count).map(|_| rng.gen_range(-bound..bound) as f32).collect()
}

/// 128 points of 8 classes in 8 dimensions, the same in every call.
fn points() -> InMemoryDataset {
    let labels: Vec<i64> = (0..128).map(|i| i % 8).collect();
    let centres = uniform(64, 3.0, 1);
    let noise = uniform(128 * 8, 1.0, 2);
    let values: Vec<f32> = (0..128 * 8).map(|i| centres[(labels[i / 8] * 8) as usize + i % 8] + noise[i]).collect();
    InMemoryDataset::new(Tensor::from_slice(&values).reshape([128, 8]), Labels::int(labels)).unwrap()
}

/// A trunk 8-32-ReLU-16 with the same weights in every call, whose output kind is stored in
/// `seen` (1 for f32, 2 for bf16).
fn trunk(seen: Arc<AtomicU8>) -> Model {
    let model = Model::build(Device::Cpu, move |p| {
        nn::seq_t()
            .add(nn::linear(p / "fc1", 8, 32, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(p / "fc2", 32, 16, Default::default()))
            .add_fn(move |x| {
                seen.store(if x.kind() == Kind::BFloat16 { 2 } else { 1 }, Ordering::SeqCst);
                x.shallow_clone()
            })
    });
    if let Some(vs) = model.var_store() {
        let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (seed, (_, mut var)) in named.into_iter().enumerate() {
                var.copy_(&Tensor::from_slice(&uniform(var.numel(), 0.3, 10 + seed as u64)).reshape(var.size()));
            }
        });
    }
    model
}

/// MetricLossOnly with epochs of `iterations` on 8 clusters, in `precision`, trained for one
/// epoch when `train`; the trunk's parameters after, the kinds the trunk produced and the loss
/// received, and the trainer.
fn run(precision: Option<MixedPrecision>, iterations: usize, train: bool) -> (Vec<Tensor>, u8, u8, Trainer<MetricLossOnly>) {
    one_thread();
    let dataset = points();
    let (produced, received) = (Arc::new(AtomicU8::new(0)), Arc::new(AtomicU8::new(0)));
    let builder = MetricLossOnly::builder()
        .trunk(trunk(produced.clone()))
        .metric_loss(KindSeen { loss: TripletMarginLoss::new().margin(0.2), seen: received.clone() })
        .tuple_miner(MultiSimilarityMiner::new(0.1))
        .trunk_optimizer(Sgd::new(0.05))
        .iterations_per_epoch(iterations)
        .data_device(Device::Cpu)
        .progress_bar(false)
        .seed(2)
        .dataset(dataset)
        .batch_size(32);
    let builder = match precision {
        Some(precision) => builder.mixed_precision(precision),
        None => builder,
    };
    let mut trainer = builder.build().unwrap();
    if train {
        trainer.train(1).unwrap();
    }
    let parameters = snapshot(&trainer.keys().trunk);
    (parameters, produced.load(Ordering::SeqCst), received.load(Ordering::SeqCst), trainer)
}

#[test]
fn bf16_runs_the_models_in_bf16_the_losses_in_f32_and_trains_close_to_f32() {
    let (full, produced, received, _) = run(None, 8, true);
    assert_eq!((produced, received), (1, 1), "f32 throughout without mixed precision");
    let (mixed, produced, received, trainer) = run(Some(MixedPrecision::bf16().even_if_emulated()), 8, true);
    assert_eq!(produced, 2, "the trunk's output under autocast is bf16");
    assert_eq!(received, 1, "the loss gets its embeddings in f32");
    assert!(trainer.total_loss().is_finite());
    for (m, f) in mixed.iter().zip(&full) {
        assert_eq!(m.kind(), Kind::Float, "parameters stay in f32");
        let difference = (m - f).abs().max().double_value(&[]);
        let size = f.abs().max().double_value(&[]);
        // bf16 keeps 8 bits of mantissa: eight steps stay within a few percent of f32's.
        assert!(difference <= 0.05 * size, "bf16 parameters differ from f32's by {difference} (largest {size})");
        assert!(difference > 0.0, "bf16 computed something other than f32");
    }
}

#[test]
fn a_power_of_two_loss_scale_changes_nothing_and_an_overflowing_one_skips_steps() {
    let (unscaled, ..) = run(Some(MixedPrecision::bf16().even_if_emulated()), 4, true);
    let (scaled, _, _, trainer) = run(Some(MixedPrecision::bf16().even_if_emulated().grad_scaler(GradScaler::new().init_scale(1024.0))), 4, true);
    assert!(metric_learning_tests::bitwise_equal(&unscaled, &scaled), "a scale of 2^10 is undone exactly");
    assert_eq!((trainer.grad_scale(), trainer.skipped_steps()), (Some(1024.0), 0));

    // A scale of 1e300 makes every scaled loss infinite: each step is skipped and the scale halves.
    let (before, ..) = run(Some(MixedPrecision::bf16().even_if_emulated()), 3, false);
    let (after, _, _, mut trainer) = run(Some(MixedPrecision::bf16().even_if_emulated().grad_scaler(GradScaler::new().init_scale(1e300))), 3, true);
    assert!(metric_learning_tests::bitwise_equal(&before, &after), "no step was taken");
    assert_eq!((trainer.grad_scale(), trainer.skipped_steps()), (Some(1e300 / 8.0), 3));

    // The scale is in the checkpoint.
    let path = std::env::temp_dir().join(format!("metric-learning-grad-scale-{}.safetensors", std::process::id()));
    trainer.save_checkpoint(&path).unwrap();
    let (_, _, _, mut fresh) = run(Some(MixedPrecision::bf16().even_if_emulated().grad_scaler(GradScaler::new().init_scale(1e300))), 3, false);
    fresh.resume(&path).unwrap();
    assert_eq!((fresh.grad_scale(), fresh.skipped_steps()), (Some(1e300 / 8.0), 3));
    let (_, _, _, mut unscaled) = run(None, 3, false);
    let refused = unscaled.resume(&path).unwrap_err().to_string();
    let _ = std::fs::remove_file(&path);
    assert!(refused.contains("holds a loss scale (GradScaler), but this trainer has none"), "{refused}");
}

#[test]
fn precisions_the_device_cannot_compute_are_errors_at_build_time() {
    one_thread();
    let build = |precision: MixedPrecision| {
        MetricLossOnly::builder()
            .trunk(metric_learning_tests::linear(8, 4))
            .metric_loss(TripletMarginLoss::new())
            .data_device(Device::Cpu)
            .mixed_precision(precision)
            .progress_bar(false)
            .dataset(points())
            .batch_size(8)
            .build()
            .map(|_| ())
    };
    let fp16 = build(MixedPrecision::fp16()).unwrap_err().to_string();
    assert!(fp16.contains("MixedPrecision::bf16() on the CPU (f16 with a loss scale is for CUDA)"), "{fp16}");
    // Which branch runs depends on the CPU (AVX-512 or not): both are checked where they apply.
    match build(MixedPrecision::bf16()) {
        Ok(()) => assert!(bf16_supported(Device::Cpu), "bf16 built on a CPU said to lack it"),
        Err(e) => {
            assert!(!bf16_supported(Device::Cpu));
            assert!(e.to_string().contains("a CPU with AVX-512 or AMX; `.even_if_emulated()` runs it anyway"), "{e}");
        }
    }
    let bad = build(MixedPrecision::bf16().even_if_emulated().grad_scaler(GradScaler::new().backoff_factor(2.0))).unwrap_err().to_string();
    assert!(bad.contains("`GradScaler's backoff_factor` expected between 0 and 1, found 2"), "{bad}");
}
