// The words of the DSL, in one place so that parsing and "did you mean" agree on them.

/// Key kinds: the attribute that makes a field a key.
pub const MODEL: &str = "model";
pub const LOSS: &str = "loss";
pub const MINER: &str = "miner";
pub const PARAM: &str = "param";
pub const KEY_KINDS: &[&str] = &[MODEL, LOSS, MINER, PARAM];

/// Options inside a key attribute, e.g. `#[loss(weight = 0.5)]`.
pub const OPTIONAL: &str = "optional";
pub const INDEXED: &str = "indexed";
pub const WEIGHT: &str = "weight";
pub const INLINE: &str = "inline";
pub const DEFAULT: &str = "default";
/// The setter takes `impl Into<T>` instead of exactly `T`.
pub const INTO: &str = "into";
/// A pipeline loss's input: `on = embeddings`, or `on = classifier` (a model applied to them).
pub const ON: &str = "on";
/// The miner whose tuples a pipeline loss sees: `miner = tuple_miner`.
pub const MINER_OPTION: &str = "miner";
/// Roles: the model whose batch norm `freeze_trunk_batchnorm` freezes, and the miner the engine
/// runs on the whole batch before the step.
pub const TRUNK: &str = "trunk";
pub const SUBSET_BATCH: &str = "subset_batch";

/// What a pipeline loss can take besides a model's output.
pub const EMBEDDINGS: &str = "embeddings";

/// Options of the container attribute, e.g. `#[trainer(crate = my::path)]`.
pub const CRATE: &str = "crate";
pub const CONTAINER_OPTIONS: &[&str] = &[EMBEDDINGS, CRATE];

/// Miner setters every builder has: a trainer that declares no key of that name gets a method
/// that refuses it at compile time, rather than "no method named ...".
pub const TUPLE_MINER: &str = "tuple_miner";
pub const SUBSET_BATCH_MINER: &str = "subset_batch_miner";
pub const ENGINE_MINER_SLOTS: &[&str] = &[TUPLE_MINER, SUBSET_BATCH_MINER];
