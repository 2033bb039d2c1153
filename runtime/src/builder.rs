//! What the builders `#[trainer]` generates are made of: the state markers a member's type
//! takes ([`Set`], [`Unset`]) and the traits that refuse a miner a trainer does not declare.
//! Generated code names them; a program has no reason to. Their names are plain words because
//! rustc prints them in its help lines.

/// A builder member that has been given its value.
#[derive(Debug)]
pub struct Set;

/// A builder member not given yet.
#[derive(Debug)]
pub struct Unset;

/// The one implementor of the refusal traits: it keeps rustc from adding "this trait has no
/// implementations" to their errors, and nobody can pass it.
#[derive(Debug)]
pub struct Refused(());

/// The value of a member the type-state proves was set.
pub fn set_value<T>(value: Option<T>) -> T {
    match value {
        Some(value) => value,
        None => unreachable!("the builder's type-state guarantees that a required member is set before build()"),
    }
}

/// Bounds `.tuple_miner(...)` on a trainer that declares no `tuple_miner`.
#[diagnostic::on_unimplemented(
    message = "trainer `{T}` does not accept a `tuple_miner`",
    label = "`{T}` declares no `tuple_miner`",
    note = "remove this call, or use a trainer that declares `#[miner] tuple_miner`"
)]
pub trait AcceptedAsTupleMinerBy<T> {}

#[diagnostic::do_not_recommend]
impl<T> AcceptedAsTupleMinerBy<T> for Refused {}

/// Bounds `.subset_batch_miner(...)` on a trainer that declares no subset-batch miner.
#[diagnostic::on_unimplemented(
    message = "trainer `{T}` does not accept a `subset_batch_miner`",
    label = "`{T}` declares no subset-batch miner",
    note = "remove this call, or use a trainer that declares `#[miner(subset_batch)]`"
)]
pub trait AcceptedAsSubsetBatchMinerBy<T> {}

#[diagnostic::do_not_recommend]
impl<T> AcceptedAsSubsetBatchMinerBy<T> for Refused {}

/// Bounds a generated `build()`: the trainer has a step (written, or generated for a pipeline).
/// Its lifetime is only there so that the bound is not a "trivial" one, which rustc would check
/// at the declaration: checked where `.build()` is called, it says "trainer `X` has no step"
/// there, once.
#[diagnostic::on_unimplemented(
    message = "trainer `{Self}` has no step",
    label = "`{Self}` needs a step to build",
    note = "write `impl Step for {Self}`, or declare its pipeline with `#[trainer(embeddings = trunk -> embedder)]` and `#[loss(on = ...)]`"
)]
pub trait Stepped<'a>: crate::trainer::TrainerKeys {
    /// What `build()` does once the keys are assembled.
    ///
    /// # Errors
    /// As the engine's checks in `build()`.
    fn build_trainer(
        engine: crate::engine::EngineBuilder<Self>,
        keys: Self,
        dataset: std::sync::Arc<dyn crate::data::Dataset>,
        batch_size: usize,
    ) -> crate::Result<crate::engine::Trainer<Self>>;
}

#[diagnostic::do_not_recommend]
impl<T: crate::Step> Stepped<'_> for T {
    fn build_trainer(
        engine: crate::engine::EngineBuilder<T>,
        keys: T,
        dataset: std::sync::Arc<dyn crate::data::Dataset>,
        batch_size: usize,
    ) -> crate::Result<crate::engine::Trainer<T>> {
        engine.build(keys, dataset, batch_size)
    }
}
