//! The type-state markers of generated builders: a required key's type parameter is [`Unset`]
//! until its setter runs, then [`Set`] holding the value.

/// A required key that has been given its value.
#[derive(Debug)]
pub struct Set<T>(pub T);

/// A required key not given yet; `build()` does not compile while one is left.
#[derive(Debug, Default)]
pub struct Unset;
