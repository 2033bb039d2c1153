//! A declaration's keys at run time, for programs that assemble a trainer from names rather
//! than from Rust code (an experiment file): what keys a trainer has ([`Declared::KEYS`]), and
//! the keys' struct made from values given by name ([`Declared::from_values`]). `#[trainer]`
//! generates both from the declaration, so they can never disagree with the typed builder.

use crate::trainer::TrainerKeys;
use crate::{Error, Result};
use std::any::Any;
use std::collections::BTreeMap;

/// What kind of value a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A model (`#[model]`).
    Model,
    /// A loss (`#[loss]`).
    Loss,
    /// A miner (`#[miner]`).
    Miner,
    /// A hyper-parameter of the trainer (`#[param]`).
    Parameter,
}

impl KeyKind {
    /// "model", "loss", "miner", "parameter".
    pub fn word(self) -> &'static str {
        match self {
            KeyKind::Model => "model",
            KeyKind::Loss => "loss",
            KeyKind::Miner => "miner",
            KeyKind::Parameter => "parameter",
        }
    }
}

/// Whether a key must be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// It must be given.
    Required,
    /// It may be left out (the trainer then goes without).
    Optional,
    /// It may be left out (the declaration's default then stands).
    Defaulted,
}

/// One key of a declaration.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    /// As PML spells it: `trunk`, `metric_loss`; an indexed family's prefix (`embedder` for
    /// `embedder_0`, `embedder_1`, ...).
    pub name: &'static str,
    /// What it holds.
    pub kind: KeyKind,
    /// Whether it must be given.
    pub presence: Presence,
    /// A family of keys `name_0`, `name_1`, ...
    pub indexed: bool,
    /// Computed inside the step, with no value to give (DAML's `g_hard_loss`).
    pub inline: bool,
    /// The Rust type of one value, as declared (`Box<dyn MetricLoss>`, `Model`, `f64`).
    pub value_type: &'static str,
    /// The declaration's default, as written (`0`, `Model::identity()`), when it has one.
    pub default: Option<&'static str>,
}

/// Values for a declaration's keys, by name: what [`Declared::from_values`] builds the keys'
/// struct from. An indexed family takes its values in order.
#[derive(Default)]
pub struct KeyValues {
    values: BTreeMap<String, Vec<Box<dyn Any>>>,
}

impl KeyValues {
    /// No values.
    pub fn new() -> KeyValues {
        KeyValues::default()
    }

    /// Gives `key` a value (another one, for an indexed family). The value's type must be the
    /// key's declared type exactly (`Box<dyn MetricLoss>`, not a concrete loss).
    pub fn insert<V: Any>(&mut self, key: impl Into<String>, value: V) {
        self.values.entry(key.into()).or_default().push(Box::new(value));
    }

    /// The names given, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The single value of `key`, taken out; `None` when none was given.
    ///
    /// # Errors
    /// When more than one value, or a value of another type, was given.
    #[doc(hidden)]
    pub fn take_one<V: Any>(&mut self, trainer: &str, spec: &KeySpec) -> Result<Option<V>> {
        let Some(mut given) = self.values.remove(spec.name) else { return Ok(None) };
        if given.len() != 1 {
            return Err(Error::config(format!("trainer `{trainer}`: {} `{}` takes one value, found {}", spec.kind.word(), spec.name, given.len())));
        }
        downcast(given.remove(0), trainer, spec).map(Some)
    }

    /// Every value of an indexed `key`, in order, taken out.
    ///
    /// # Errors
    /// When a value of another type was given.
    #[doc(hidden)]
    pub fn take_all<V: Any>(&mut self, trainer: &str, spec: &KeySpec) -> Result<Vec<V>> {
        self.values.remove(spec.name).unwrap_or_default().into_iter().map(|value| downcast(value, trainer, spec)).collect()
    }

    /// An error for a required key left out, worded as the compile-time one.
    #[doc(hidden)]
    pub fn missing(trainer: &str, spec: &KeySpec, requirements: &str) -> Error {
        Error::config(format!(
            "trainer `{trainer}` is missing its required {} `{}` ({trainer} requires {requirements})",
            spec.kind.word(),
            spec.name
        ))
    }

    /// An error for values given to keys the trainer does not have; `Ok` when there are none.
    #[doc(hidden)]
    pub fn none_left(&self, trainer: &str, specs: &[KeySpec]) -> Result<()> {
        let Some(name) = self.values.keys().next() else { return Ok(()) };
        let names: Vec<&str> = specs.iter().filter(|s| !s.inline).map(|s| s.name).collect();
        Err(Error::config(format!("trainer `{trainer}` has no key `{name}`; its keys are {}", names.join(", "))))
    }
}

fn downcast<V: Any>(value: Box<dyn Any>, trainer: &str, spec: &KeySpec) -> Result<V> {
    value.downcast::<V>().map(|v| *v).map_err(|_| {
        Error::config(format!("trainer `{trainer}`: {} `{}` holds a `{}`, and was given a value of another type", spec.kind.word(), spec.name, spec.value_type))
    })
}

/// A declaration's keys, by name; generated by `#[trainer]`.
pub trait Declared: TrainerKeys {
    /// Every key as declared, in declaration order.
    const KEYS: &'static [KeySpec];

    /// The keys' struct from `values`: required keys must be there, optional ones may be, and
    /// defaulted ones take the declaration's default when absent.
    ///
    /// # Errors
    /// A required key missing (worded as the compile-time error), a value of the wrong type, a
    /// value for a key the trainer does not have.
    fn from_values(values: KeyValues) -> Result<Self>;

    /// The model or loss module key named `name` (`trunk`, `embedder_1`), for optimizers,
    /// schedulers, clippers and freezing.
    fn key_named(name: &str) -> Option<Self::Key>;

    /// The loss named `name`, for its weight.
    fn loss_named(name: &str) -> Option<Self::Loss>;
}

/// The index of `name` in the family `prefix`: 1 for `embedder_1` in `embedder`.
#[doc(hidden)]
pub fn family_member(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()
}
