//! The progress bar: one bar per epoch, the last total loss beside it; hidden when stderr is not
//! a terminal.

use super::Hook;
use crate::engine::Trainer;
use crate::trainer::TrainerKeys;
use crate::Result;
use indicatif::{ProgressBar as Bar, ProgressDrawTarget, ProgressStyle};
use std::ops::ControlFlow;

/// One bar per epoch (on by default; the builder's `progress_bar(false)` leaves it out).
#[derive(Default)]
pub struct ProgressBar {
    bar: Option<Bar>,
}

impl ProgressBar {
    /// A bar drawn on stderr when it is a terminal.
    pub fn new() -> ProgressBar {
        ProgressBar::default()
    }

    fn bar<T: TrainerKeys>(&mut self, trainer: &Trainer<T>) -> &Bar {
        self.bar.get_or_insert_with(|| {
            let bar = Bar::with_draw_target(Some(trainer.iterations_per_epoch() as u64), ProgressDrawTarget::stderr());
            let template = format!("{} epoch {} {{bar:30}} {{pos}}/{{len}} {{elapsed}} {{msg}}", T::NAME, trainer.epoch());
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_position(trainer.iteration() as u64);
            bar
        })
    }
}

impl<T: TrainerKeys> Hook<T> for ProgressBar {
    fn name(&self) -> String {
        "progress_bar".into()
    }

    fn on_iteration_end(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        let bar = self.bar(trainer);
        bar.set_message(format!("total_loss={:.5}", trainer.total_loss()));
        bar.inc(1);
        Ok(())
    }

    fn on_epoch_end(&mut self, _trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        Ok(ControlFlow::Continue(()))
    }
}
