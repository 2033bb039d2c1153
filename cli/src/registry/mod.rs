//! The modules an experiment file can name, by PML's names, with their parameters (PML's
//! names too) and defaults; `metric-learning list` prints them. One file per kind of module.
//! The trainers and their keys are not listed here: they come from the declarations
//! (`metric_learning::declared::Declared`).

pub mod datasets;
pub mod losses;
pub mod miners;
pub mod models;
pub mod optimizers;
pub mod samplers;

use metric_learning::Result;
use std::collections::BTreeMap;

/// The type of a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Float,
    Int,
    Bool,
    Text,
    IntList,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Float => "a number",
            Kind::Int => "a whole number",
            Kind::Bool => "true or false",
            Kind::Text => "a string",
            Kind::IntList => "a list of whole numbers",
        }
    }
}

/// A parameter's value when the file leaves it out.
#[derive(Clone, Copy, Debug)]
pub enum Default {
    /// The file must give it.
    Required,
    /// The module goes without it.
    Absent,
    Float(f64),
    Bool(bool),
    Text(&'static str),
}

impl Default {
    pub fn describe(self) -> String {
        match self {
            Default::Required => "required".into(),
            Default::Absent => "not set".into(),
            Default::Float(v) => format!("{v}"),
            Default::Bool(v) => format!("{v}"),
            Default::Text(v) => format!("{v:?}"),
        }
    }
}

pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
}

pub const fn param(name: &'static str, kind: Kind, default: Default) -> Param {
    Param { name, kind, default }
}

/// One value read from the file, checked against its parameter's kind.
#[derive(Clone, Debug)]
pub enum Value {
    Float(f64),
    Int(i64),
    Bool(bool),
    Text(String),
    IntList(Vec<i64>),
}

/// A module's parameters, given or defaulted.
#[derive(Default)]
pub struct Params {
    values: BTreeMap<&'static str, Value>,
}

impl Params {
    pub fn set(&mut self, name: &'static str, value: Value) {
        self.values.insert(name, value);
    }

    /// With the defaults of `params` where nothing was given.
    pub fn with_defaults(mut self, params: &[Param]) -> Params {
        for p in params {
            if self.values.contains_key(p.name) {
                continue;
            }
            let value = match p.default {
                Default::Float(v) => Value::Float(v),
                Default::Bool(v) => Value::Bool(v),
                Default::Text(v) => Value::Text(v.to_string()),
                Default::Required | Default::Absent => continue,
            };
            self.values.insert(p.name, value);
        }
        self
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Value::Float(v)) => *v,
            Some(Value::Int(v)) => *v as f64,
            _ => f64::NAN,
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Value::Bool(true)))
    }

    pub fn text(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(Value::Text(v)) => v,
            _ => "",
        }
    }

    pub fn int_list(&self, name: &str) -> Vec<i64> {
        match self.values.get(name) {
            Some(Value::IntList(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// Which kind of module `name` is ("loss", "miner", ...), whichever family holds it.
pub fn kind_of(name: &str) -> Option<&'static str> {
    let families: [(&'static str, Vec<&'static str>); 6] = [
        (models::MODELS.word, models::MODELS.names().collect()),
        (losses::LOSSES.word, losses::LOSSES.names().collect()),
        (miners::MINERS.word, miners::MINERS.names().collect()),
        (optimizers::OPTIMIZERS.word, optimizers::OPTIMIZERS.names().collect()),
        (samplers::SAMPLERS.word, samplers::SAMPLERS.names().collect()),
        (datasets::DATASETS.word, datasets::DATASETS.names().collect()),
    ];
    families.into_iter().find(|(_, names)| names.contains(&name)).map(|(word, _)| word)
}

/// What a module's constructor may need besides its parameters.
pub struct Context<'a> {
    /// The training set's labels (samplers).
    pub labels: &'a [i64],
}

/// One module: its name, its parameters, and how to make it.
pub struct Module<T> {
    pub name: &'static str,
    pub params: &'static [Param],
    pub make: fn(&Params, &Context) -> Result<T>,
}

/// Every module of one kind, for `list` and the file's checks.
pub struct Family<T: 'static> {
    /// "loss", "miner": how errors and `list` name the kind.
    pub word: &'static str,
    pub modules: &'static [Module<T>],
}

impl<T> Family<T> {
    pub fn find(&self, name: &str) -> Option<&Module<T>> {
        self.modules.iter().find(|m| m.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.modules.iter().map(|m| m.name)
    }
}
