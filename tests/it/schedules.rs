//! Learning rates follow each scheduler step by step, as PyTorch's schedulers would set them.
//! Expected values are PyTorch's, computed by hand from its documented formulas.

use metric_learning::optim::{CosineAnnealingLr, ExponentialLr, LinearLr, LrScheduler, MultiStepLr, PlateauMode, ReduceLrOnPlateau, StepLr};
use metric_learning::prelude::*;
use metric_learning::trainers::MetricLossOnlyKey;
use metric_learning_tests::{clusters, linear, one_thread};
use std::sync::{Arc, Mutex};

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-9, "{actual:?} vs {expected:?}");
    }
}

/// The rate after each of `steps` steps of `scheduler` alone on a base rate of 0.1.
fn rates(mut scheduler: impl LrScheduler, steps: usize) -> Vec<f64> {
    let initial = 0.1;
    let mut lr = scheduler.start(initial);
    let mut out = vec![lr];
    for _ in 0..steps {
        lr = scheduler.step(lr, initial, None);
        out.push(lr);
    }
    out
}

#[test]
fn step_multi_step_exponential_cosine_and_linear_schedules_match_pytorch() {
    assert_close(&rates(StepLr::new(2, 0.5), 6), &[0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]);
    assert_close(&rates(MultiStepLr::new([2, 5], 0.1), 6), &[0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001]);
    assert_close(&rates(ExponentialLr::new(0.5), 3), &[0.1, 0.05, 0.025, 0.0125]);
    assert_close(&rates(CosineAnnealingLr::new(4, 0.0), 4), &[0.1, 0.085355339059327, 0.05, 0.014644660940673, 0.0]);
    assert_close(&rates(LinearLr::new(0.25, 1.0, 4), 6), &[0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1]);
}

#[test]
fn plateau_schedule_reduces_after_patience_runs_out() {
    let mut scheduler = ReduceLrOnPlateau::new(PlateauMode::Min).factor(0.5).patience(2);
    let mut lr = 0.1;
    let mut out = Vec::new();
    for metric in [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5] {
        lr = scheduler.step(lr, 0.1, Some(metric));
        out.push(lr);
    }
    assert_close(&out, &[0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025]);
}

#[test]
fn the_trainer_steps_schedulers_by_iteration_by_epoch_and_by_plateau() {
    one_thread();
    let rates = Arc::new(Mutex::new(Vec::new()));
    let sink = rates.clone();
    let plateau = Arc::new(Mutex::new(Vec::new()));
    let plateau_sink = plateau.clone();
    let mut trainer = MetricLossOnly::builder()
        .trunk(linear(4, 8))
        .embedder(linear(8, 4))
        .metric_loss(TripletMarginLoss::new())
        .trunk_optimizer(Sgd::new(0.1))
        .trunk_scheduler_by_iteration(StepLr::new(2, 0.5))
        .embedder_optimizer(Sgd::new(0.1))
        .embedder_scheduler_by_epoch(ExponentialLr::new(0.1))
        .embedder_scheduler_by_plateau(ReduceLrOnPlateau::new(PlateauMode::Max).factor(0.5).patience(0))
        .iterations_per_epoch(3)
        .end_of_iteration_hook(move |t| {
            let trunk = t.learning_rate(MetricLossOnlyKey::Trunk).unwrap();
            let embedder = t.learning_rate(MetricLossOnlyKey::Embedder).unwrap();
            sink.lock().unwrap().push((trunk, embedder));
            Ok(())
        })
        .end_of_epoch_hook(move |t| {
            // A validation metric that never improves after the first epoch.
            t.step_plateau_schedulers(1.0);
            plateau_sink.lock().unwrap().push(t.learning_rate(MetricLossOnlyKey::Embedder).unwrap());
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .data_device(Device::Cpu)
        .progress_bar(false)
        .dataset(clusters(2, 8, 4))
        .batch_size(8)
        .build()
        .unwrap();
    trainer.train(3).unwrap();
    let rates = rates.lock().unwrap();
    let trunk: Vec<f64> = rates.iter().map(|r| r.0).collect();
    let embedder: Vec<f64> = rates.iter().map(|r| r.1).collect();
    // The iteration hook runs before that iteration's scheduler step.
    assert_close(&trunk, &[0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625]);
    // Epoch 1 at 0.1; after it, x0.1 (epoch schedule) and no plateau cut (first metric is the best);
    // after epoch 2, x0.1 and x0.5 (no improvement, patience 0).
    assert_close(&embedder, &[0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.0005, 0.0005, 0.0005]);
    assert_close(&plateau.lock().unwrap(), &[0.01, 0.0005, 0.000025]);
}
