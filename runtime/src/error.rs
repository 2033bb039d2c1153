//! One error type for everything a user can get wrong or the data can break. A program can
//! match on it: [`Error::Trainer`] says when (in `build()`, or at which epoch and iteration),
//! [`Error::Key`] and [`Error::Model`] which key, [`Error::Mismatch`] what was expected and found.

/// What went wrong, with what was expected and what was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The data does not fit what the trainer expects (shapes, lengths, labels).
    #[error("invalid data: {0}")]
    Data(String),
    /// A key was given something other than what it needs.
    #[error("`{key}` expected {expected}, found {found}")]
    Mismatch {
        /// The key (`trunk`, `data_device`, `sampler`).
        key: String,
        /// What it needs.
        expected: String,
        /// What it was given.
        found: String,
    },
    /// A model could not process its input (libtorch refused it: shapes, dtypes, devices).
    #[error("model `{key}` cannot process input of shape {shape:?}: {message}")]
    Model {
        /// The model's key.
        key: String,
        /// The shape of the input it was given.
        shape: Vec<i64>,
        /// libtorch's message.
        message: String,
    },
    /// A data file could not be read or is not what it claims to be.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// Training produced a non-finite loss.
    #[error("{0}")]
    NonFinite(String),
    /// libtorch refused an operation.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A panic during a model's forward pass, a step or `build()`'s checks, caught and turned into
    /// this error; the message is the panic's. Most come from tch, whose methods unwrap many of
    /// libtorch's errors (shapes, dtypes, devices).
    #[error("panicked: {0}")]
    Panic(String),
    /// The processes of a distributed run could not meet or exchange tensors (a rank that never
    /// arrived, a port in use, a peer that died, a timeout).
    #[error("distributed: {0}")]
    Distributed(String),
    /// A key's module (a loss, a miner) failed; `source` says how.
    #[error("`{key}`: {source}")]
    Key {
        /// The key.
        key: String,
        /// What went wrong.
        source: Box<Error>,
    },
    /// Where a failure happened: which trainer, and in `build()` or at which iteration.
    #[error("{trainer} {when}: {source}")]
    Trainer {
        /// The trainer's name.
        trainer: &'static str,
        /// When.
        when: When,
        /// What went wrong.
        source: Box<Error>,
    },
}

/// When a trainer's error happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// In `build()`, before any training.
    Build,
    /// During training.
    Iteration {
        /// The 1-based epoch.
        epoch: usize,
        /// The 0-based iteration within it.
        iteration: usize,
    },
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            When::Build => write!(f, "in build()"),
            When::Iteration { epoch, iteration } => write!(f, "at epoch {epoch}, iteration {iteration}"),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A configuration that cannot work.
    pub fn config(message: impl Into<String>) -> Error {
        Error::Config(message.into())
    }

    /// Data that does not fit.
    pub fn data(message: impl Into<String>) -> Error {
        Error::Data(message.into())
    }

    /// A key given something other than what it needs.
    pub fn mismatch(key: impl Into<String>, expected: impl Into<String>, found: impl Into<String>) -> Error {
        Error::Mismatch { key: key.into(), expected: expected.into(), found: found.into() }
    }

    /// This error, attributed to `key` unless it already names one.
    pub fn in_key(self, key: impl Into<String>) -> Error {
        if self.key().is_some() {
            return self;
        }
        Error::Key { key: key.into(), source: Box::new(self) }
    }

    /// This error, placed in `trainer` at `when` (once: an error already placed stays as is).
    pub fn in_trainer(self, trainer: &'static str, when: When) -> Error {
        match self {
            Error::Trainer { .. } => self,
            other => Error::Trainer { trainer, when, source: Box::new(other) },
        }
    }

    /// The key the error is about, if it names one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Key { key, .. } | Error::Model { key, .. } | Error::Mismatch { key, .. } => Some(key),
            Error::Trainer { source, .. } => source.key(),
            _ => None,
        }
    }

    /// When the error happened, if a trainer placed it.
    pub fn when(&self) -> Option<When> {
        match self {
            Error::Trainer { when, .. } => Some(*when),
            _ => None,
        }
    }

    /// The innermost error: what went wrong, without where.
    pub fn root(&self) -> &Error {
        match self {
            Error::Key { source, .. } | Error::Trainer { source, .. } => source.root(),
            other => other,
        }
    }
}
