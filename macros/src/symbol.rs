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

/// Options of the container attribute, e.g. `#[trainer(crate = my::path)]`.
pub const CRATE: &str = "crate";

/// Miner slots that the engine itself drives. A trainer that does not declare one of them gets
/// a builder method that refuses it at compile time.
pub const TUPLE_MINER: &str = "tuple_miner";
pub const SUBSET_BATCH_MINER: &str = "subset_batch_miner";
pub const ENGINE_MINER_SLOTS: &[&str] = &[TUPLE_MINER, SUBSET_BATCH_MINER];
