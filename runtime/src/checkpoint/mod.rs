//! Checkpoints that hold a whole run: every key's parameters and buffers, every optimizer's and
//! scheduler's state, the loss weights, the loader's position, the run's seed (from which every
//! random stream derives), the epoch and iteration, and the hooks' state, with a manifest of the
//! library version, the trainer and its keys. A resumed run is the same run: its parameters end
//! bitwise equal to an uninterrupted one's (on the CPU).
//!
//! Files are written atomically (a temporary file, fsync, rename), so a kill during a save
//! leaves the previous checkpoint whole; reading checks the format, the version and a checksum.
//! `Trainer::save_checkpoint`, `Trainer::resume` and the builder's `.checkpoints(...)` and
//! `.resume_from(...)` use them.

pub(crate) mod format;

use crate::{Error, Result};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// When a trainer writes checkpoints, and how many it keeps (the builder's `.checkpoints(...)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoints {
    every_epochs: Option<usize>,
    every_iterations: Option<usize>,
    keep_last: usize,
    folder: Option<PathBuf>,
}

impl Default for Checkpoints {
    /// At every epoch's end, keeping the last 3, in `<run folder>/checkpoints`.
    fn default() -> Self {
        Checkpoints { every_epochs: Some(1), every_iterations: None, keep_last: 3, folder: None }
    }
}

impl Checkpoints {
    /// At every epoch's end, keeping the last 3, in `<run folder>/checkpoints`.
    pub fn new() -> Checkpoints {
        Checkpoints::default()
    }

    /// At the end of every `n`-th epoch (`None`-like with 0: never at epoch ends).
    pub fn every_epochs(mut self, n: usize) -> Self {
        self.every_epochs = (n > 0).then_some(n);
        self
    }

    /// After every `n`-th iteration of the run (counted across epochs; 0: never).
    pub fn every_iterations(mut self, n: usize) -> Self {
        self.every_iterations = (n > 0).then_some(n);
        self
    }

    /// How many of the latest checkpoints to keep (at least 1); the best one, when a hook asks
    /// for it, is kept apart as `best.safetensors`.
    pub fn keep_last(mut self, k: usize) -> Self {
        self.keep_last = k.max(1);
        self
    }

    /// Where they go, instead of `<run folder>/checkpoints`.
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.folder = Some(folder.into());
        self
    }
}

/// The engine's side: the policy, the folder, and the checkpoints written so far.
pub(crate) struct Checkpointer {
    policy: Checkpoints,
    folder: PathBuf,
    /// Written and kept, oldest first.
    kept: VecDeque<PathBuf>,
    /// The next checkpoint's sequence number (continues across a resume).
    pub(crate) next_sequence: u64,
}

impl Checkpointer {
    pub(crate) fn new(policy: Checkpoints, run_folder: Option<&Path>) -> Result<Checkpointer> {
        let folder = match (&policy.folder, run_folder) {
            (Some(folder), _) => folder.clone(),
            (None, Some(run)) => run.join("checkpoints"),
            (None, None) => {
                return Err(Error::config("checkpoints need a folder: give the builder a `run_folder(...)` or `Checkpoints::folder(...)`"))
            }
        };
        std::fs::create_dir_all(&folder).map_err(|e| Error::File { path: folder.clone(), reason: format!("cannot create the checkpoint folder: {e}") })?;
        let kept: VecDeque<PathBuf> = sequence_files(&folder)?.into_iter().map(|(_, path)| path).collect();
        let next_sequence = sequence_files(&folder)?.last().map_or(0, |(n, _)| n + 1);
        Ok(Checkpointer { policy, folder, kept, next_sequence })
    }

    /// Whether a checkpoint is due after an iteration (`global_iterations` done in the run) or
    /// at the end of `epoch`.
    pub(crate) fn due(&self, at_epoch_end: bool, epoch: usize, global_iterations: usize) -> bool {
        if at_epoch_end {
            self.policy.every_epochs.is_some_and(|n| epoch % n == 0)
        } else {
            self.policy.every_iterations.is_some_and(|n| global_iterations % n == 0)
        }
    }

    /// The path of the next checkpoint: after an iteration, or at the epoch's end (after its
    /// schedulers and hooks, a later state than after its last iteration).
    pub(crate) fn next_path(&self, epoch: usize, iterations_done: usize, at_epoch_end: bool) -> PathBuf {
        let position = if at_epoch_end { "end".to_string() } else { format!("iteration{iterations_done}") };
        self.folder.join(format!("ckpt-{:06}-epoch{epoch}-{position}.safetensors", self.next_sequence))
    }

    /// The best checkpoint's path.
    pub(crate) fn best_path(&self) -> PathBuf {
        self.folder.join("best.safetensors")
    }

    /// Records a written checkpoint and deletes those beyond `keep_last`.
    pub(crate) fn written(&mut self, path: PathBuf) {
        self.next_sequence += 1;
        self.kept.push_back(path);
        while self.kept.len() > self.policy.keep_last {
            if let Some(old) = self.kept.pop_front() {
                let _ = std::fs::remove_file(old);
            }
        }
    }
}

/// The checkpoints in `folder` that a trainer wrote, by sequence number (temporary files of an
/// interrupted save are not among them).
fn sequence_files(folder: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::File { path: folder.to_path_buf(), reason: e.to_string() })?;
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let sequence = name.strip_prefix("ckpt-")?.split('-').next()?.parse::<u64>().ok()?;
            name.ends_with(".safetensors").then(|| (sequence, entry.path()))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The latest checkpoint a trainer wrote into `folder` (a run folder's `checkpoints`), if any:
/// what `--resume` continues from.
///
/// # Errors
/// [`Error::File`] when the folder cannot be read.
pub fn latest(folder: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    Ok(sequence_files(folder.as_ref())?.pop().map(|(_, path)| path))
}
