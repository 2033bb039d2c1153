use crate::optim::{GradClipper, LrScheduler, Optimizer, StepType};
use tch::Tensor;

/// Everything the engine keeps for one model or loss key.
pub(crate) struct KeySlot<K> {
    pub key: K,
    pub parameters: Vec<Tensor>,
    pub optimizer: Option<Box<dyn Optimizer>>,
    /// The optimizer's rate after the schedulers' `start`, which closed-form schedules use.
    pub initial_lr: f64,
    pub schedulers: Vec<(StepType, Box<dyn LrScheduler>)>,
    pub clipper: Option<Box<dyn GradClipper>>,
    /// Frozen by the user: no gradient, eval mode, its optimizer never steps.
    pub frozen: bool,
    /// Whether its optimizer steps this iteration (phases switch this; frozen keys never do).
    pub stepping: bool,
}

impl<K> KeySlot<K> {
    pub fn zero_grad(&mut self) {
        for p in &mut self.parameters {
            p.zero_grad();
        }
    }

    pub fn clip(&mut self) {
        if let Some(clipper) = &mut self.clipper {
            if !self.frozen {
                clipper.clip(&self.parameters);
            }
        }
    }

    pub fn step_optimizer(&mut self) {
        if let Some(optimizer) = &mut self.optimizer {
            if self.stepping && !self.frozen {
                optimizer.step();
            }
        }
    }

    /// Steps the schedulers of one type. PML steps them for frozen keys too; so do we, so that a
    /// key unfrozen later resumes on schedule.
    pub fn step_schedulers(&mut self, step_type: StepType, metric: Option<f64>) {
        let Some(optimizer) = &mut self.optimizer else { return };
        for (kind, scheduler) in &mut self.schedulers {
            if *kind == step_type {
                let lr = scheduler.step(optimizer.learning_rate(), self.initial_lr, metric);
                optimizer.set_learning_rate(lr);
            }
        }
    }
}
