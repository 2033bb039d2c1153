//! Roles, not names: the engine finds the trunk (whose batch norm `freeze_trunk_batchnorm`
//! freezes) and the subset-batch miner through the roles the declaration gives, whatever the
//! keys are called.

use metric_learning::prelude::*;
use metric_learning_tests::{clusters, linear, linear_batch_norm, one_thread};
use std::sync::{Arc, Mutex};

/// A pipeline trainer whose backbone is not called `trunk`.
#[trainer(embeddings = backbone -> head)]
pub struct Renamed {
    #[model(trunk)]
    backbone: Model,
    #[model]
    head: Model,
    #[loss(on = embeddings)]
    metric_loss: Box<dyn MetricLoss>,
}

/// Variables by name.
type Named = Vec<(String, Tensor)>;

/// Batch norm's running statistics, by name.
fn running_statistics(model: &Model) -> Named {
    let mut stats: Vec<(String, Tensor)> = model
        .var_store()
        .map(|vs| vs.variables().into_iter().filter(|(name, _)| name.contains("running")).map(|(n, t)| (n, t.copy())).collect())
        .unwrap_or_default();
    stats.sort_by(|a, b| a.0.cmp(&b.0));
    stats
}

fn unchanged(before: &[(String, Tensor)], after: &[(String, Tensor)]) -> bool {
    !before.is_empty() && before.len() == after.len() && before.iter().zip(after).all(|(a, b)| a.1.equal(&b.1))
}

fn train_renamed(freeze_batchnorm: bool) -> (Named, Named) {
    let mut trainer = Renamed::builder()
        .backbone(linear_batch_norm(6, 8))
        .head(linear(8, 4))
        .metric_loss(TripletMarginLoss::new())
        .backbone_optimizer(Sgd::new(0.01))
        .freeze_trunk_batchnorm(freeze_batchnorm)
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(2, 8, 6))
        .batch_size(16)
        .build()
        .unwrap();
    let before = running_statistics(&trainer.keys().backbone);
    trainer.train(2).unwrap();
    (before, running_statistics(&trainer.keys().backbone))
}

#[test]
fn freeze_trunk_batchnorm_freezes_the_declared_trunk_whatever_its_name() {
    one_thread();
    let (before, after) = train_renamed(true);
    assert!(unchanged(&before, &after), "the backbone's batch norm moved");
    // And the check can fail: without the option, training moves the statistics.
    let (before, after) = train_renamed(false);
    assert!(!unchanged(&before, &after), "training should move unfrozen running statistics");
}

/// A hand-written trainer whose subset-batch miner is called `chooser`; the step records how
/// many samples it is given.
#[trainer]
pub struct Chooser {
    #[model]
    trunk: Model,
    #[loss]
    metric_loss: Box<dyn MetricLoss>,
    #[miner(optional, subset_batch)]
    chooser: Option<Box<dyn SubsetBatchMiner>>,
    #[param]
    seen: Arc<Mutex<Vec<i64>>>,
}

impl Step for Chooser {
    fn embed(&self, data: &Tensor) -> metric_learning::Result<Tensor> {
        self.trunk.forward(data)
    }

    fn calculate_loss(&mut self, it: &mut Iteration<'_, Self>, data: &Tensor, labels: &Tensor) -> metric_learning::Result<()> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(data.size()[0]);
        }
        let embeddings = self.embed(data)?;
        let loss = &mut self.metric_loss;
        it.compute(ChooserLoss::MetricLoss, || loss.compute(&embeddings, labels, None))
    }
}

#[test]
fn the_engine_runs_the_declared_subset_batch_miner_whatever_its_name() {
    one_thread();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut trainer = Chooser::builder()
        .trunk(linear(6, 4))
        .metric_loss(TripletMarginLoss::new())
        .chooser(MaximumLossMiner::new(TripletMarginLoss::new(), 8))
        .seen(seen.clone())
        .progress_bar(false)
        .data_device(Device::Cpu)
        .dataset(clusters(2, 16, 6))
        .batch_size(16)
        .build()
        .unwrap();
    trainer.train(1).unwrap();
    assert_eq!(*seen.lock().unwrap(), [8, 8], "each batch of 16 cut to the miner's 8");
}
