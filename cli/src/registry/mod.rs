//! The modules an experiment file can name, by PML's names, with their parameters (PML's
//! names too) and defaults; `metric-learning list` prints them. One file per kind of module.
//! The trainers and their keys are not listed here: they come from the declarations
//! (`metric_learning::declared::Declared`).

pub mod clippers;
pub mod datasets;
pub mod distances;
pub mod losses;
pub mod miners;
pub mod models;
pub mod optimizers;
pub mod reducers;
pub mod regularizers;
pub mod samplers;
pub mod schedulers;
pub mod transforms;

use metric_learning::distances::Distance;
use metric_learning::reducers::Reducer;
use metric_learning::Result;
use std::collections::BTreeMap;
use std::ops::Range;

/// A module named by `type = "..."` with its parameters, checked against its family.
#[derive(Clone, Debug)]
pub struct Spec {
    pub type_name: &'static str,
    pub type_span: Option<Range<usize>>,
    pub params: Params,
}

/// The type of a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Float,
    Int,
    Bool,
    Text,
    IntList,
    FloatList,
    /// A table naming a distance (`[losses.metric_loss.distance]`).
    Distance,
    /// A table naming a reducer.
    Reducer,
    /// A table naming a regularizer (a loss's `embedding_regularizer`).
    Regularizer,
    /// A table naming a loss (CrossBatchMemory's `loss`).
    Loss,
    /// A table naming a tuple miner (CrossBatchMemory's `miner`).
    Miner,
    /// A table of losses by name (MultipleLosses' `losses`).
    NamedLosses,
    /// A table of tuple miners by name (MultipleLosses' `miners`).
    NamedMiners,
    /// A table of numbers by name (MultipleLosses' `weights`).
    NamedNumbers,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Float => "a number",
            Kind::Int => "a whole number",
            Kind::Bool => "true or false",
            Kind::Text => "a string",
            Kind::IntList => "a list of whole numbers",
            Kind::FloatList => "a list of numbers",
            Kind::Distance => "a table naming a distance (type = \"CosineSimilarity\", ...)",
            Kind::Reducer => "a table naming a reducer (type = \"MeanReducer\", ...)",
            Kind::Regularizer => "a table naming a regularizer (type = \"LpRegularizer\", ...)",
            Kind::Loss => "a table naming a loss (type = \"ContrastiveLoss\", ...)",
            Kind::Miner => "a table naming a miner (type = \"MultiSimilarityMiner\", ...)",
            Kind::NamedLosses => "a table of losses by name ([...losses.triplet] type = \"TripletMarginLoss\")",
            Kind::NamedMiners => "a table of miners by name ([...miners.triplet] type = \"MultiSimilarityMiner\")",
            Kind::NamedNumbers => "a table of numbers by name (triplet = 0.5)",
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
    Int(i64),
    Bool(bool),
    Text(&'static str),
    /// The module's own choice, as it describes it (`LpDistance()`).
    Module(&'static str),
}

impl Default {
    pub fn describe(self) -> String {
        match self {
            Default::Required => "required".into(),
            Default::Absent => "not set".into(),
            Default::Float(v) => format!("{v}"),
            Default::Int(v) => format!("{v}"),
            Default::Bool(v) => format!("{v}"),
            Default::Text(v) => format!("{v:?}"),
            Default::Module(v) => v.to_string(),
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
    FloatList(Vec<f64>),
    Module(Box<Spec>),
    /// Modules by name, in the file's order.
    Named(Vec<(String, Spec)>),
    /// Numbers by name, in the file's order.
    Numbers(Vec<(String, f64)>),
}

/// A module's parameters, given or defaulted.
#[derive(Clone, Debug, Default)]
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
                Default::Int(v) => Value::Int(v),
                Default::Bool(v) => Value::Bool(v),
                Default::Text(v) => Value::Text(v.to_string()),
                Default::Required | Default::Absent | Default::Module(_) => continue,
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

    /// A count the module needs: the file's value, at least `least`.
    pub fn count(&self, module: &str, name: &str, least: i64) -> Result<usize> {
        match self.int(name) {
            Some(n) if n >= least => Ok(n as usize),
            found => Err(metric_learning::Error::mismatch(format!("{module}'s {name}"), format!("a whole number of at least {least}"), found.map_or("nothing".into(), |n| n.to_string()))),
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

    pub fn float_list(&self, name: &str) -> Vec<f64> {
        match self.values.get(name) {
            Some(Value::FloatList(v)) => v.clone(),
            Some(Value::IntList(v)) => v.iter().map(|&i| i as f64).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the file gave `name` (for parameters without a default).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The distance the file named for `name`, made; `None` keeps the module's own.
    pub fn distance(&self, name: &str, context: &Context) -> Result<Option<Box<dyn Distance>>> {
        self.nested(name, &distances::DISTANCES, context)
    }

    /// The reducer the file named for `name`, made; `None` keeps the module's own.
    pub fn reducer(&self, name: &str, context: &Context) -> Result<Option<Box<dyn Reducer>>> {
        self.nested(name, &reducers::REDUCERS, context)
    }

    /// The type the file named for the nested module `name` (`ContrastiveLoss`).
    pub fn module_name(&self, name: &str) -> Option<&'static str> {
        match self.values.get(name) {
            Some(Value::Module(spec)) => Some(spec.type_name),
            _ => None,
        }
    }

    /// The modules the file gave by name under `name`, unmade.
    pub fn named(&self, name: &str) -> &[(String, Spec)] {
        match self.values.get(name) {
            Some(Value::Named(modules)) => modules,
            _ => &[],
        }
    }

    /// The numbers the file gave by name under `name`.
    pub fn numbers(&self, name: &str) -> &[(String, f64)] {
        match self.values.get(name) {
            Some(Value::Numbers(numbers)) => numbers,
            _ => &[],
        }
    }

    /// The regularizer the file named for `name`, made.
    pub fn regularizer(&self, name: &str, context: &Context) -> Result<Option<Box<dyn metric_learning::regularizers::Regularizer>>> {
        self.nested(name, &regularizers::REGULARIZERS, context)
    }

    /// The loss the file named for `name`, made.
    pub fn loss(&self, name: &str, context: &Context) -> Result<Option<losses::Loss>> {
        self.nested(name, &losses::LOSSES, context)
    }

    /// The tuple miner the file named for `name`, made.
    pub fn miner(&self, name: &str, context: &Context) -> Result<Option<Box<dyn metric_learning::miners::TupleMiner>>> {
        self.nested(name, &miners::MINERS, context)
    }

    fn nested<T>(&self, name: &str, family: &Family<T>, context: &Context) -> Result<Option<T>> {
        let Some(Value::Module(spec)) = self.values.get(name) else { return Ok(None) };
        family.make(spec, context).map(Some)
    }
}

/// Which kind of module `name` is ("loss", "miner", ...), whichever family holds it.
pub fn kind_of(name: &str) -> Option<&'static str> {
    let families: [(&'static str, Vec<&'static str>); 12] = [
        (models::MODELS.word, models::MODELS.names().collect()),
        (losses::LOSSES.word, losses::LOSSES.names().collect()),
        (miners::MINERS.word, miners::MINERS.names().collect()),
        (optimizers::OPTIMIZERS.word, optimizers::OPTIMIZERS.names().collect()),
        (samplers::SAMPLERS.word, samplers::SAMPLERS.names().collect()),
        (datasets::DATASETS.word, datasets::DATASETS.names().collect()),
        (distances::DISTANCES.word, distances::DISTANCES.names().collect()),
        (reducers::REDUCERS.word, reducers::REDUCERS.names().collect()),
        (schedulers::SCHEDULERS.word, schedulers::SCHEDULERS.names().collect()),
        (transforms::TRANSFORMS.word, transforms::TRANSFORMS.names().collect()),
        (clippers::CLIPPERS.word, clippers::CLIPPERS.names().collect()),
        (regularizers::REGULARIZERS.word, regularizers::REGULARIZERS.names().collect()),
    ];
    families.into_iter().find(|(_, names)| names.contains(&name)).map(|(word, _)| word)
}

/// What a module's constructor may need besides its parameters.
pub struct Context<'a> {
    /// The training set's labels (samplers): the first level's.
    pub labels: &'a [i64],
    /// Every level of each sample's labels (HierarchicalSampler's classes and super-classes).
    pub label_rows: &'a [Vec<i64>],
}

impl Context<'static> {
    /// For modules made before the training set is known (datasets) or without it (checks).
    pub const EMPTY: Context<'static> = Context { labels: &[], label_rows: &[] };
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
    /// Parameters every module of the family takes besides its own (a loss's regularizers).
    pub common: &'static [Param],
    /// What the common parameters do to a module once made.
    pub finish: fn(T, &Params, &Context) -> Result<T>,
}

/// `finish` for a family without common parameters.
pub fn unchanged<T>(made: T, _: &Params, _: &Context) -> Result<T> {
    Ok(made)
}

impl<T> Family<T> {
    pub fn find(&self, name: &str) -> Option<&Module<T>> {
        self.modules.iter().find(|m| m.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.modules.iter().map(|m| m.name)
    }

    /// The module `spec` names, made from its parameters, then finished by the common ones.
    pub fn make(&self, spec: &Spec, context: &Context) -> Result<T> {
        let module = self.find(spec.type_name).ok_or_else(|| metric_learning::Error::config(format!("no {} named `{}`", self.word, spec.type_name)))?;
        let made = (module.make)(&spec.params, context)?;
        (self.finish)(made, &spec.params, context)
    }
}
