//! One error type for everything a user can get wrong or the data can break.

/// What went wrong, with what was expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The trainer's configuration cannot work (found in `build()` or before the first iteration).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The data does not fit what the trainer expects (shapes, lengths, labels).
    #[error("invalid data: {0}")]
    Data(String),
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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::Config(message.into())
    }

    pub(crate) fn data(message: impl Into<String>) -> Error {
        Error::Data(message.into())
    }
}
