//! Learning-rate schedules with PyTorch's semantics, in its chainable form: each step reads the
//! optimizer's current rate, so two schedulers on one key compose as they do in PyTorch.

/// When the engine steps a scheduler (PML's key suffixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepType {
    /// After every iteration, after the iteration hook (`_scheduler_by_iteration`).
    Iteration,
    /// After the last iteration of an epoch, before the epoch hook (`_scheduler_by_epoch`).
    Epoch,
    /// Only by `Trainer::step_plateau_schedulers(metric)` (`_scheduler_by_plateau`).
    Plateau,
}

/// A learning-rate schedule for one optimizer.
pub trait LrScheduler: Send {
    /// The rate to start from, given the optimizer's; called once by `build()`.
    /// Most schedules keep it; a warm-up starts lower (PyTorch sets it at construction).
    fn start(&mut self, initial: f64) -> f64 {
        initial
    }
    /// One step: the new rate from the current one, the initial one and, for plateau
    /// schedules, the metric.
    fn step(&mut self, current: f64, initial: f64, metric: Option<f64>) -> f64;
    /// The counters a resumed run needs (steps taken, best metric, ...), as numbers.
    fn state(&self) -> Vec<f64>;
    /// Restores what [`state`](LrScheduler::state) returned.
    ///
    /// # Errors
    /// When it has another length.
    fn load_state(&mut self, state: &[f64]) -> crate::Result<()>;
}

/// `state` as `N` numbers, or an error naming the scheduler.
fn numbers<const N: usize>(scheduler: &str, state: &[f64]) -> crate::Result<[f64; N]> {
    state.try_into().map_err(|_| crate::Error::data(format!("{scheduler} state: expected {N} numbers, found {}", state.len())))
}

/// A scheduler whose only state is its step count.
macro_rules! counted {
    ($ty:ty) => {
        fn state(&self) -> Vec<f64> {
            vec![self.steps as f64]
        }
        fn load_state(&mut self, state: &[f64]) -> crate::Result<()> {
            let [steps] = numbers::<1>(stringify!($ty), state)?;
            self.steps = steps as usize;
            Ok(())
        }
    };
}

/// Multiplies the rate by `gamma` every `step_size` steps (PyTorch's `StepLR`).
#[derive(Clone, Debug)]
pub struct StepLr {
    step_size: usize,
    gamma: f64,
    steps: usize,
}

impl StepLr {
    /// Decay by `gamma` every `step_size` steps.
    pub fn new(step_size: usize, gamma: f64) -> StepLr {
        StepLr { step_size: step_size.max(1), gamma, steps: 0 }
    }
}

impl LrScheduler for StepLr {
    counted!(StepLr);

    fn step(&mut self, current: f64, _initial: f64, _metric: Option<f64>) -> f64 {
        self.steps += 1;
        if self.steps.is_multiple_of(self.step_size) { current * self.gamma } else { current }
    }
}

/// Multiplies the rate by `gamma` at each milestone (PyTorch's `MultiStepLR`).
#[derive(Clone, Debug)]
pub struct MultiStepLr {
    milestones: Vec<usize>,
    gamma: f64,
    steps: usize,
}

impl MultiStepLr {
    /// Decay by `gamma` when the step count reaches each milestone.
    pub fn new(milestones: impl Into<Vec<usize>>, gamma: f64) -> MultiStepLr {
        MultiStepLr { milestones: milestones.into(), gamma, steps: 0 }
    }
}

impl LrScheduler for MultiStepLr {
    counted!(MultiStepLr);

    fn step(&mut self, current: f64, _initial: f64, _metric: Option<f64>) -> f64 {
        self.steps += 1;
        let hits = self.milestones.iter().filter(|&&m| m == self.steps).count();
        current * self.gamma.powi(hits as i32)
    }
}

/// Multiplies the rate by `gamma` every step (PyTorch's `ExponentialLR`).
#[derive(Clone, Debug)]
pub struct ExponentialLr {
    gamma: f64,
}

impl ExponentialLr {
    /// Decay by `gamma` per step.
    pub fn new(gamma: f64) -> ExponentialLr {
        ExponentialLr { gamma }
    }
}

impl LrScheduler for ExponentialLr {
    fn state(&self) -> Vec<f64> {
        Vec::new()
    }
    fn load_state(&mut self, state: &[f64]) -> crate::Result<()> {
        numbers::<0>("ExponentialLr", state).map(|_| ())
    }

    fn step(&mut self, current: f64, _initial: f64, _metric: Option<f64>) -> f64 {
        current * self.gamma
    }
}

/// Half a cosine from the initial rate down to `eta_min` over `t_max` steps (PyTorch's
/// `CosineAnnealingLR`, in its closed form, which its recursive form equals when used alone).
#[derive(Clone, Debug)]
pub struct CosineAnnealingLr {
    t_max: usize,
    eta_min: f64,
    steps: usize,
}

impl CosineAnnealingLr {
    /// Anneal over `t_max` steps to `eta_min`.
    pub fn new(t_max: usize, eta_min: f64) -> CosineAnnealingLr {
        CosineAnnealingLr { t_max: t_max.max(1), eta_min, steps: 0 }
    }
}

impl LrScheduler for CosineAnnealingLr {
    counted!(CosineAnnealingLr);

    fn step(&mut self, _current: f64, initial: f64, _metric: Option<f64>) -> f64 {
        self.steps += 1;
        let phase = std::f64::consts::PI * self.steps as f64 / self.t_max as f64;
        self.eta_min + (initial - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }
}

/// Linear warm-up (or decay): the rate goes from `start_factor` to `end_factor` times the
/// initial rate over `total_iters` steps, then stays (PyTorch's `LinearLR`).
#[derive(Clone, Debug)]
pub struct LinearLr {
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
    steps: usize,
}

impl LinearLr {
    /// Warm up from `start_factor` to `end_factor` of the initial rate over `total_iters` steps.
    pub fn new(start_factor: f64, end_factor: f64, total_iters: usize) -> LinearLr {
        LinearLr { start_factor, end_factor, total_iters, steps: 0 }
    }
}

impl LrScheduler for LinearLr {
    counted!(LinearLr);

    fn start(&mut self, initial: f64) -> f64 {
        initial * self.start_factor
    }

    fn step(&mut self, current: f64, _initial: f64, _metric: Option<f64>) -> f64 {
        self.steps += 1;
        if self.steps > self.total_iters {
            return current;
        }
        let span = self.end_factor - self.start_factor;
        let denominator = self.total_iters as f64 * self.start_factor + (self.steps - 1) as f64 * span;
        current * (1.0 + span / denominator)
    }
}

/// Whether a smaller or a larger metric is better, for [`ReduceLrOnPlateau`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// A loss: lower is better.
    Min,
    /// An accuracy: higher is better.
    Max,
}

/// Multiplies the rate by `factor` when the metric has not improved (by a relative `threshold`)
/// for more than `patience` steps (PyTorch's `ReduceLROnPlateau`, relative threshold mode).
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    mode: PlateauMode,
    factor: f64,
    patience: usize,
    threshold: f64,
    cooldown: usize,
    min_lr: f64,
    best: f64,
    bad_steps: usize,
    cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    /// PyTorch's defaults: factor 0.1, patience 10, threshold 1e-4, no cooldown, no floor.
    pub fn new(mode: PlateauMode) -> ReduceLrOnPlateau {
        let best = if mode == PlateauMode::Min { f64::INFINITY } else { f64::NEG_INFINITY };
        ReduceLrOnPlateau { mode, factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, min_lr: 0.0, best, bad_steps: 0, cooldown_left: 0 }
    }
    /// The multiplier applied on a plateau.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    /// Steps without improvement tolerated before reducing.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// The relative improvement that counts as one.
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
    /// Steps to wait after a reduction before counting again.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }
    /// The rate never goes below this.
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }

    fn is_better(&self, metric: f64) -> bool {
        match self.mode {
            PlateauMode::Min => metric < self.best * (1.0 - self.threshold),
            PlateauMode::Max => metric > self.best * (1.0 + self.threshold),
        }
    }
}

impl LrScheduler for ReduceLrOnPlateau {
    fn state(&self) -> Vec<f64> {
        vec![self.best, self.bad_steps as f64, self.cooldown_left as f64]
    }
    fn load_state(&mut self, state: &[f64]) -> crate::Result<()> {
        let [best, bad_steps, cooldown_left] = numbers::<3>("ReduceLrOnPlateau", state)?;
        (self.best, self.bad_steps, self.cooldown_left) = (best, bad_steps as usize, cooldown_left as usize);
        Ok(())
    }

    fn step(&mut self, current: f64, _initial: f64, metric: Option<f64>) -> f64 {
        let Some(metric) = metric else { return current };
        if self.is_better(metric) {
            self.best = metric;
            self.bad_steps = 0;
        } else {
            self.bad_steps += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_steps = 0;
        }
        if self.bad_steps > self.patience {
            self.cooldown_left = self.cooldown;
            self.bad_steps = 0;
            let reduced = (current * self.factor).max(self.min_lr);
            // PyTorch ignores reductions smaller than its eps (1e-8).
            if current - reduced > 1e-8 {
                return reduced;
            }
        }
        current
    }
}
