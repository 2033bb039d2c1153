//! A tester's settings (PML's `BaseTester` parameters) and its `test` call.

use super::embedding::EmbeddingModel;
use super::kinds::{Scoring, TesterKind};
use super::results::{SplitAccuracies, TestResults};
use super::splits::{embed_split, SplitEmbeddings};
use crate::data::Dataset;
use crate::evaluation::AccuracyCalculator;
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use tch::{Device, Kind};

/// Which label columns to score (PML's `label_hierarchy_level`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LabelLevels {
    /// One level (PML's default, 0).
    Level(usize),
    /// Every level the labels have (PML's `"all"`).
    #[default]
    All,
    /// These levels.
    Levels(Vec<usize>),
}

/// Which splits each split is compared with, when `splits_to_eval` is not given (the
/// `reference_set` of PML's older testers).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ReferenceSet {
    /// Each split against itself (PML's default `splits_to_eval`).
    #[default]
    CompareToSelf,
    /// Each split against all splits combined (itself first).
    CompareToSetsCombined,
    /// Each split against the split of this name (PML: `"train"`).
    CompareToTrainingSet(String),
}

/// A tester: PML's `BaseTester` settings plus the kind of evaluation `K`. Build it with the
/// chained setters, then call [`test`](Self::test) (every split against its references, as
/// [`ReferenceSet`] says) or [`test_splits`](Self::test_splits) (explicit `splits_to_eval`).
#[derive(Clone, Debug)]
pub struct Tester<K: TesterKind> {
    pub(crate) kind: K,
    pub(crate) normalize_embeddings: bool,
    pub(crate) use_trunk_output: bool,
    pub(crate) batch_size: usize,
    pub(crate) data_device: Option<Device>,
    pub(crate) dtype: Option<Kind>,
    pub(crate) label_levels: LabelLevels,
    pub(crate) reference_set: ReferenceSet,
    pub(crate) accuracy_calculator: AccuracyCalculator,
    pub(crate) pca: Option<i64>,
    pub(crate) plot_folder: Option<PathBuf>,
}

impl<K: TesterKind> Default for Tester<K> {
    fn default() -> Self {
        Tester {
            kind: K::default(),
            normalize_embeddings: true,
            use_trunk_output: false,
            batch_size: 32,
            data_device: None,
            dtype: None,
            label_levels: LabelLevels::Level(0),
            reference_set: ReferenceSet::CompareToSelf,
            accuracy_calculator: AccuracyCalculator::new(),
            pca: None,
            plot_folder: None,
        }
    }
}

impl<K: TesterKind> Tester<K> {
    /// PML's defaults: normalised embeddings, batch size 32, label level 0, each split against
    /// itself, the default AccuracyCalculator, the model's data device and kind.
    pub fn new() -> Self {
        Self::default()
    }

    /// L2-normalise the embeddings before scoring (default true).
    pub fn normalize_embeddings(mut self, on: bool) -> Self {
        self.normalize_embeddings = on;
        self
    }

    /// Score the trunk's output instead of the embedder's.
    pub fn use_trunk_output(mut self, on: bool) -> Self {
        self.use_trunk_output = on;
        self
    }

    /// Samples embedded at once (default 32).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Where batches and embeddings live (default: the model's data device).
    pub fn data_device(mut self, device: Device) -> Self {
        self.data_device = Some(device);
        self
    }

    /// The float kind batches are cast to (default: the model's).
    pub fn dtype(mut self, kind: Kind) -> Self {
        self.dtype = Some(kind);
        self
    }

    /// Which label columns to score (default level 0).
    pub fn label_hierarchy_level(mut self, levels: LabelLevels) -> Self {
        self.label_levels = levels;
        self
    }

    /// Which splits each split is compared with in [`test`](Self::test).
    pub fn reference_set(mut self, reference_set: ReferenceSet) -> Self {
        self.reference_set = reference_set;
        self
    }

    /// The calculator that scores each query split (default: `AccuracyCalculator::new()`).
    pub fn accuracy_calculator(mut self, calculator: AccuracyCalculator) -> Self {
        self.accuracy_calculator = calculator;
        self
    }

    /// Reduce the embeddings to this many principal components first (after standard
    /// scaling, as PML does); the components are fitted on all embedded splits together, so
    /// that a query split and its references share one projection.
    pub fn pca(mut self, dims: i64) -> Self {
        self.pca = Some(dims);
        self
    }

    /// Save a 2-D PCA plot of each split's embeddings, coloured by label, as
    /// `<folder>/<split>_epoch<epoch>.png` (PML's visualizer hook).
    pub fn save_plots_to(mut self, folder: impl Into<PathBuf>) -> Self {
        self.plot_folder = Some(folder.into());
        self
    }

    /// Scores every split against its references as the [`ReferenceSet`] says (PML's
    /// `test(dataset_dict, epoch, trunk, embedder)` with its default `splits_to_eval`).
    ///
    /// # Errors
    /// As [`test_splits`](Self::test_splits).
    pub fn test(&self, model: &mut impl EmbeddingModel, datasets: &[(&str, &dyn Dataset)], epoch: usize) -> Result<TestResults> {
        let names: Vec<&str> = datasets.iter().map(|(name, _)| *name).collect();
        let splits: Vec<(&str, Vec<&str>)> = match &self.reference_set {
            ReferenceSet::CompareToSelf => names.iter().map(|&n| (n, vec![n])).collect(),
            ReferenceSet::CompareToSetsCombined => names.iter().map(|&n| (n, names.clone())).collect(),
            ReferenceSet::CompareToTrainingSet(train) => names.iter().map(|&n| (n, vec![train.as_str()])).collect(),
        };
        let splits: Vec<(&str, &[&str])> = splits.iter().map(|(q, r)| (*q, r.as_slice())).collect();
        self.test_splits(model, datasets, &splits, epoch)
    }

    /// Scores each `(query split, reference splits)` of `splits_to_eval` (PML's argument of
    /// that name). A query split among its references is moved to their front and left out of
    /// its own neighbours. The models are in eval mode, without gradients, while the splits are
    /// embedded, and back in training mode afterwards, error or not.
    ///
    /// # Errors
    /// [`Error::Config`] for a split named twice as a query, a split name that is not in
    /// `datasets`, or a setting the tester kind refuses; [`Error::Data`] for labels that do not
    /// have the levels asked for; a model's or the calculator's error.
    pub fn test_splits(
        &self,
        model: &mut impl EmbeddingModel,
        datasets: &[(&str, &dyn Dataset)],
        splits_to_eval: &[(&str, &[&str])],
        epoch: usize,
    ) -> Result<TestResults> {
        let plan = self.plan(datasets, splits_to_eval)?;
        model.begin_testing();
        let embedded = tch::no_grad(|| self.embed_splits(model, datasets, &plan));
        model.end_testing();
        let mut embedded = embedded?;
        self.post_process(&mut embedded, epoch)?;
        let mut results = TestResults { epoch, tester: K::NAME, splits: Vec::new() };
        for (query, references) in &plan {
            let levels = self.levels(&embedded[query])?;
            let reference_sets: Vec<&SplitEmbeddings> = references.iter().map(|r| &embedded[r]).collect();
            let query_in_references = references.first() == Some(query);
            let mut accuracies = Vec::new();
            for &level in &levels {
                let scoring = Scoring {
                    calculator: &self.accuracy_calculator,
                    query: &embedded[query],
                    references: &reference_sets,
                    query_in_references,
                    level,
                };
                let scored = self.kind.accuracies(&scoring);
                accuracies.push((level, scored.map_err(|e| in_split(e, query))?));
            }
            results.splits.push(SplitAccuracies::new(query.clone(), references.clone(), accuracies));
        }
        Ok(results)
    }

    /// Checks `splits_to_eval` and orders each reference list with its query first.
    fn plan(&self, datasets: &[(&str, &dyn Dataset)], splits_to_eval: &[(&str, &[&str])]) -> Result<Vec<(String, Vec<String>)>> {
        let known: Vec<&str> = datasets.iter().map(|(name, _)| *name).collect();
        let check = |name: &str| -> Result<()> {
            if known.contains(&name) {
                Ok(())
            } else {
                Err(Error::config(format!("split `{name}` is not among the datasets given to the tester: {}", known.join(", "))))
            }
        };
        let mut plan: Vec<(String, Vec<String>)> = Vec::new();
        for (query, references) in splits_to_eval {
            check(query)?;
            if plan.iter().any(|(q, _)| q == query) {
                return Err(Error::config(format!("split `{query}` is evaluated as a query more than once; each query split may appear once")));
            }
            if references.is_empty() {
                return Err(Error::config(format!("split `{query}` has no reference split")));
            }
            let mut ordered: Vec<String> = Vec::new();
            if references.contains(query) {
                ordered.push(query.to_string());
            }
            for reference in *references {
                check(reference)?;
                if !ordered.iter().any(|o| o == reference) {
                    ordered.push(reference.to_string());
                }
            }
            self.kind.check_references(query, &ordered)?;
            plan.push((query.to_string(), ordered));
        }
        Ok(plan)
    }

    /// Embeds every split the plan names, once each.
    fn embed_splits(
        &self,
        model: &mut impl EmbeddingModel,
        datasets: &[(&str, &dyn Dataset)],
        plan: &[(String, Vec<String>)],
    ) -> Result<HashMap<String, SplitEmbeddings>> {
        let device = self.data_device.unwrap_or_else(|| model.data_device());
        let dtype = self.dtype.or_else(|| model.dtype());
        let mut embedded = HashMap::new();
        for (name, dataset) in datasets {
            let wanted = plan.iter().any(|(q, refs)| q == name || refs.iter().any(|r| r == name));
            if wanted && !embedded.contains_key(*name) {
                let split = embed_split(model, *dataset, self.batch_size, device, dtype, self.use_trunk_output, self.kind.streams())
                    .map_err(|e| in_split(e, name))?;
                embedded.insert(name.to_string(), split);
            }
        }
        Ok(embedded)
    }

    /// PCA and normalisation (PML's `maybe_normalize`), then the plots.
    fn post_process(&self, embedded: &mut HashMap<String, SplitEmbeddings>, epoch: usize) -> Result<()> {
        if let Some(dims) = self.pca {
            super::splits::apply_pca(embedded, dims)?;
        }
        if self.normalize_embeddings {
            for split in embedded.values_mut() {
                split.normalize()?;
            }
        }
        if let Some(folder) = &self.plot_folder {
            super::splits::save_plots(embedded, folder, epoch, K::NAME)?;
        }
        Ok(())
    }

    /// The label levels to score for a split, checked against its labels.
    fn levels(&self, split: &SplitEmbeddings) -> Result<Vec<usize>> {
        let available = split.levels();
        let levels = match &self.label_levels {
            LabelLevels::Level(level) => vec![*level],
            LabelLevels::All => (0..available).collect(),
            LabelLevels::Levels(levels) => levels.clone(),
        };
        if let Some(&bad) = levels.iter().find(|&&l| l >= available) {
            return Err(Error::data(format!("label level {bad} was asked for, but the labels have {available} level(s)")));
        }
        self.kind.levels(levels, available)
    }
}

/// Names the split in an error.
fn in_split(error: Error, split: &str) -> Error {
    match error {
        Error::Data(message) => Error::Data(format!("split `{split}`: {message}")),
        Error::Config(message) => Error::Config(format!("split `{split}`: {message}")),
        other => other,
    }
}
