//! PML's `AccuracyCalculator`: retrieval metrics of query embeddings against reference
//! embeddings, by exact k-NN computed in blocks (see [`knn`](super::knn)), so that memory grows
//! with the data set and not with its square.
//! NMI and AMI, on by default as in PML, score a seeded k-means of the query embeddings
//! against the query labels (see [`clustering`](super::clustering)).
//!
//! ```no_run
//! use metric_learning::evaluation::{AccuracyCalculator, Metric, K};
//! use metric_learning::tch::{Device, Kind, Tensor};
//! # fn main() -> metric_learning::Result<()> {
//! let embeddings = Tensor::randn([1000, 64], (Kind::Float, Device::Cpu));
//! let labels = Tensor::randint(10, [1000], (Kind::Int64, Device::Cpu));
//! let calculator = AccuracyCalculator::new().k(K::MaxBinCount).exclude([Metric::MeanAveragePrecision]);
//! let accuracies = calculator.get_accuracy(&embeddings, &labels)?;
//! println!("{accuracies}");
//! let map_at_r = accuracies.get(Metric::MeanAveragePrecisionAtR);
//! # Ok(()) }
//! ```

use super::clustering::{adjusted_mutual_info, kmeans, normalized_mutual_info};
use super::knn::{by_row_chunks, is_same_tensor, Blocks, Neighbours, Prepared};
use super::labels::{compared, label_stats};
use super::metrics::per_query;
use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// A metric of the calculator, named as PML names it. They are listed (and reported) in PML's
/// order: `dir()` order of its `calculate_*` methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// `AMI`: scikit-learn's adjusted mutual information (arithmetic normalisation) of the
    /// query labels and a k-means clustering of the query embeddings into as many clusters as
    /// there are query labels. One number always (not per class, not averaged per class).
    Ami,
    /// `NMI`: scikit-learn's normalised mutual information (arithmetic normalisation) of the
    /// query labels and the same k-means clustering as `AMI`. One number always.
    Nmi,
    /// `mean_average_precision`: average precision over all k neighbours, divided by R.
    MeanAveragePrecision,
    /// `mean_average_precision_at_r`: average precision over the first R neighbours, divided by R.
    MeanAveragePrecisionAtR,
    /// `mean_reciprocal_rank`: 1 / rank of the first match among the k neighbours (0 if none).
    MeanReciprocalRank,
    /// `precision_at_1`: whether the nearest neighbour matches.
    PrecisionAt1,
    /// `r_precision`: the fraction of matches among the first R neighbours.
    RPrecision,
}

impl Metric {
    /// Every metric, in PML's order.
    pub const ALL: [Metric; 7] = [
        Metric::Ami,
        Metric::Nmi,
        Metric::MeanAveragePrecision,
        Metric::MeanAveragePrecisionAtR,
        Metric::MeanReciprocalRank,
        Metric::PrecisionAt1,
        Metric::RPrecision,
    ];

    /// PML's name of the metric (the key of its result dict).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Ami => "AMI",
            Metric::Nmi => "NMI",
            Metric::MeanAveragePrecision => "mean_average_precision",
            Metric::MeanAveragePrecisionAtR => "mean_average_precision_at_r",
            Metric::MeanReciprocalRank => "mean_reciprocal_rank",
            Metric::PrecisionAt1 => "precision_at_1",
            Metric::RPrecision => "r_precision",
        }
    }

    /// Whether the metric is computed from a clustering of the query (NMI, AMI) rather than
    /// from the k-NN.
    pub fn requires_clustering(self) -> bool {
        matches!(self, Metric::Ami | Metric::Nmi)
    }

    /// The metrics named, as PML's `include=` / `exclude=` take them.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name, listing the valid ones.
    pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<Metric>> {
        names.iter().map(|name| name.as_ref().parse()).collect()
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(name: &str) -> Result<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let valid: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
            Error::config(format!("unknown metric `{name}`: metrics must be one or more of: {}", valid.join(", ")))
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many neighbours each query retrieves (PML's `k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum K {
    /// PML's `None` (its default): every reference (but the query itself).
    #[default]
    All,
    /// PML's `"max_bin_count"`: the largest number of references matching one query label
    /// (less the query itself). Enough for the R-based metrics, and much less than `All`.
    MaxBinCount,
    /// A fixed number, at least 1. Below the max bin count, R-precision and MAP@R are wrong,
    /// and [`Accuracies::warnings`] says so, as PML warns.
    Count(i64),
}

/// How neighbours are ranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KnnDistance {
    /// Squared Euclidean distance, as faiss's `IndexFlatL2` (PML's default k-NN).
    #[default]
    Euclidean,
    /// Cosine similarity: the rows are L2-normalised first (PML's testers normalise, then rank
    /// by L2, which orders unit vectors as cosine does).
    Cosine,
    /// Dot-product similarity, largest first.
    DotProduct,
}

/// A label comparison, PML's `label_comparison_fn`: called with query labels of shape
/// `[rows, 1]` and reference labels of shape `[rows, k]` or `[1, m]` (both int64), it returns
/// whether each pair matches, as a bool tensor of the broadcast shape (`torch.eq` is the
/// default).
pub type LabelComparison = Arc<dyn Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync>;

/// PML's `AccuracyCalculator(include, exclude, avg_of_avgs, return_per_class, k,
/// label_comparison_fn)`, plus the k-NN's distance and block sizes and the k-means seed. Built with chained setters;
/// the combination is checked when [`get_accuracy`](Self::get_accuracy) runs.
#[derive(Clone, Default)]
pub struct AccuracyCalculator {
    include: Vec<Metric>,
    exclude: Vec<Metric>,
    avg_of_avgs: bool,
    return_per_class: bool,
    k: K,
    distance: KnnDistance,
    label_comparison: Option<LabelComparison>,
    blocks: Blocks,
    seed: u64,
}

impl fmt::Debug for AccuracyCalculator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccuracyCalculator")
            .field("metrics", &self.metrics())
            .field("avg_of_avgs", &self.avg_of_avgs)
            .field("return_per_class", &self.return_per_class)
            .field("k", &self.k)
            .field("distance", &self.distance)
            .field("custom_label_comparison", &self.label_comparison.is_some())
            .field("blocks", &self.blocks)
            .field("seed", &self.seed)
            .finish()
    }
}

/// A metric's value: one number, or one per class with `return_per_class`.
#[derive(Clone, Debug, PartialEq)]
pub enum Score {
    /// The mean over the (non-lone) queries, or with `avg_of_avgs` the mean of the classes' means.
    Value(f64),
    /// The mean of each class, in sorted label order.
    PerClass {
        /// The classes (query labels), sorted.
        labels: Vec<i64>,
        /// Each class's mean.
        values: Vec<f64>,
    },
}

/// What [`AccuracyCalculator::get_accuracy`] returns: each enabled metric's [`Score`], in
/// PML's order, and what PML would have logged. `Display` prints one metric a line.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracies {
    scores: Vec<(Metric, Score)>,
    /// The number of neighbours each query retrieved (None when no k-NN ran: no metric
    /// needed it, or every query was lone).
    pub k: Option<i64>,
    /// PML's warnings: k below the max bin count with R-based metrics on; no query label in
    /// the reference set. Returned rather than printed; `Display` prints them.
    pub warnings: Vec<String>,
}

impl Accuracies {
    pub(crate) fn from_scores(scores: Vec<(Metric, Score)>, k: Option<i64>, warnings: Vec<String>) -> Accuracies {
        Accuracies { scores, k, warnings }
    }

    /// The metric's value, when it was computed and is one number (not per class).
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match self.score(metric)? {
            Score::Value(v) => Some(*v),
            Score::PerClass { .. } => None,
        }
    }

    /// The metric's per-class values (with `return_per_class`), in sorted label order.
    pub fn per_class(&self, metric: Metric) -> Option<&[f64]> {
        match self.score(metric)? {
            Score::PerClass { values, .. } => Some(values),
            Score::Value(_) => None,
        }
    }

    /// The metric's score, when it was computed.
    pub fn score(&self, metric: Metric) -> Option<&Score> {
        self.scores.iter().find(|(m, _)| *m == metric).map(|(_, s)| s)
    }

    /// Every computed metric and its score, in PML's order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, &Score)> {
        self.scores.iter().map(|(m, s)| (*m, s))
    }
}

impl fmt::Display for Accuracies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (metric, score) in &self.scores {
            match score {
                Score::Value(v) => writeln!(f, "{:<28} {v:.6}", metric.name())?,
                Score::PerClass { labels, values } => {
                    let classes: Vec<String> = labels.iter().zip(values).map(|(l, v)| format!("{l}: {v:.6}")).collect();
                    writeln!(f, "{:<28} [{}]", metric.name(), classes.join(", "))?
                }
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

impl AccuracyCalculator {
    /// PML's defaults: every metric (NMI and AMI included), k = all references, Euclidean,
    /// `torch.eq` labels; k-means seed 0.
    pub fn new() -> AccuracyCalculator {
        AccuracyCalculator::default()
    }

    /// Computes only these metrics (PML's `include`; empty = all). Names parse with
    /// [`Metric::parse_all`].
    pub fn include(mut self, metrics: impl IntoIterator<Item = Metric>) -> Self {
        self.include = metrics.into_iter().collect();
        self
    }

    /// Leaves these metrics out (PML's `exclude`).
    pub fn exclude(mut self, metrics: impl IntoIterator<Item = Metric>) -> Self {
        self.exclude = metrics.into_iter().collect();
        self
    }

    /// Each metric is the mean of the classes' means instead of the queries' mean (NMI and AMI,
    /// one number over all queries, are unchanged, as in PML).
    pub fn avg_of_avgs(mut self, on: bool) -> Self {
        self.avg_of_avgs = on;
        self
    }

    /// Each metric is the list of the classes' means (exclusive with `avg_of_avgs`). NMI and
    /// AMI stay one number ([`Score::Value`]), as in PML.
    pub fn return_per_class(mut self, on: bool) -> Self {
        self.return_per_class = on;
        self
    }

    /// How many neighbours to retrieve.
    pub fn k(mut self, k: K) -> Self {
        self.k = k;
        self
    }

    /// How to rank neighbours.
    pub fn distance(mut self, distance: KnnDistance) -> Self {
        self.distance = distance;
        self
    }

    /// A custom label comparison (see [`LabelComparison`]). As in PML, it cannot be used with
    /// NMI or AMI (which compare labels with clusters, by equality): exclude them.
    pub fn label_comparison(mut self, compare: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static) -> Self {
        self.label_comparison = Some(Arc::new(compare));
        self
    }

    /// The seed of the k-means behind NMI and AMI (its k-means++ draws): the same seed on the
    /// same embeddings gives the same clusters.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many queries (and references) one tile of scores spans: memory is about
    /// `queries x references` scores. Results do not depend on it.
    pub fn block_sizes(mut self, queries: i64, references: i64) -> Self {
        self.blocks = Blocks { query: queries, reference: references };
        self
    }

    /// The metrics computed, in PML's order: `include` (or all) less `exclude`.
    pub fn metrics(&self) -> Vec<Metric> {
        Metric::ALL
            .into_iter()
            .filter(|m| (self.include.is_empty() || self.include.contains(m)) && !self.exclude.contains(m))
            .collect()
    }

    /// The metrics of `query` against itself, each query leaving itself out (PML's
    /// `get_accuracy(query, query_labels)`).
    ///
    /// # Errors
    /// See [`get_accuracy_against`](Self::get_accuracy_against).
    pub fn get_accuracy(&self, query: &Tensor, query_labels: &Tensor) -> Result<Accuracies> {
        self.get_accuracy_against(query, query_labels, query, query_labels, true)
    }

    /// The metrics of `query` (rows x width, float) against `reference`, labels being 1-D
    /// integer tensors. With `ref_includes_query`, the query must be the reference's first rows
    /// (as PML requires), and each query's own row is left out of its neighbours. Everything
    /// runs on the query's device, in float64 if either set is float64, else float32.
    ///
    /// Queries whose label has no match in the reference (but themselves) are left out of the
    /// k-NN metrics, as PML does; when all are, every k-NN metric is NaN and
    /// [`Accuracies::warnings`] says so. NMI and AMI cluster the query alone (the reference
    /// plays no part), into as many clusters as it has labels; the k-NN is not run when only
    /// they are asked for.
    ///
    /// # Errors
    /// [`Error::Config`] for a setting PML refuses (k = 0, `avg_of_avgs` with
    /// `return_per_class`, a block size below 1, NMI or AMI with a custom label comparison);
    /// [`Error::Mismatch`] for shapes, kinds and lengths that do not fit; [`Error::Data`] for an
    /// empty set, NaN or infinite rows, or a query that is not the reference's first rows.
    pub fn get_accuracy_against(
        &self,
        query: &Tensor,
        query_labels: &Tensor,
        reference: &Tensor,
        reference_labels: &Tensor,
        ref_includes_query: bool,
    ) -> Result<Accuracies> {
        self.check_settings()?;
        tch::no_grad(|| self.accuracy(query, query_labels, reference, reference_labels, ref_includes_query))
    }

    fn check_settings(&self) -> Result<()> {
        if self.avg_of_avgs && self.return_per_class {
            return Err(Error::config("avg_of_avgs and return_per_class are mutually exclusive"));
        }
        if let K::Count(k) = self.k {
            if k < 1 {
                return Err(Error::config(format!(
                    "k must be an integer greater than 0, or K::All (None), or K::MaxBinCount; found {k}"
                )));
            }
        }
        if self.blocks.query < 1 || self.blocks.reference < 1 {
            return Err(Error::config(format!(
                "block sizes must be at least 1, found {} queries x {} references",
                self.blocks.query, self.blocks.reference
            )));
        }
        let clustering: Vec<&str> = self.metrics().into_iter().filter(|m| m.requires_clustering()).map(|m| m.name()).collect();
        if self.label_comparison.is_some() && !clustering.is_empty() {
            // PML raises NotImplementedError("Unsupported: clustering + custom label comparison").
            return Err(Error::config(format!(
                "a custom label_comparison cannot be used with the clustering metrics ({}), as in PML; exclude them",
                clustering.join(", ")
            )));
        }
        Ok(())
    }

    fn accuracy(
        &self,
        query: &Tensor,
        query_labels: &Tensor,
        reference: &Tensor,
        reference_labels: &Tensor,
        ref_includes_query: bool,
    ) -> Result<Accuracies> {
        let device = query.device();
        let query_labels = check_set("query", query, "query_labels", query_labels)?;
        let reference_labels = check_set("reference", reference, "reference_labels", reference_labels)?.f_to_device(device)?;
        let reference = reference.f_to_device(device)?;
        let width = query.size()[1];
        let n_reference = reference.size()[0];
        if reference.size()[1] != width {
            return Err(Error::mismatch("reference", format!("rows of width {width}, as the query's"), format!("width {}", reference.size()[1])));
        }
        if ref_includes_query {
            check_query_is_prefix(query, &query_labels, &reference, &reference_labels)?;
        }
        let (clustering, metrics): (Vec<Metric>, Vec<Metric>) = self.metrics().into_iter().partition(|m| m.requires_clustering());
        let mut accuracies = Accuracies { scores: Vec::new(), k: None, warnings: Vec::new() };
        // The clustering metrics come first in PML's order.
        if !clustering.is_empty() {
            accuracies.scores = self.clustering_scores(query, &query_labels, &clustering)?;
        }
        if metrics.is_empty() {
            return Ok(accuracies);
        }

        let stats = label_stats(&query_labels, &reference_labels, ref_includes_query, self.label_comparison.as_ref(), self.blocks.query)?;
        let self_count = i64::from(ref_includes_query);
        // R of each query: its label's matches in the reference, less itself.
        let relevant = stats.counts.f_index_select(0, &stats.inverse)?.f_sub_scalar(self_count)?;
        let not_lone = stats.lone.f_index_select(0, &stats.inverse)?.f_logical_not()?;
        if not_lone.f_any()?.f_int64_value(&[])? == 0 {
            accuracies.warnings.push("None of the query labels are in the reference set.".into());
            let labels = Vec::<i64>::try_from(&stats.unique)?;
            accuracies.scores.extend(metrics.iter().map(|&m| (m, self.nan_score(&labels))));
            return Ok(accuracies);
        }

        let max_bin_count = stats.counts.f_max()?.f_int64_value(&[])?;
        let k = self.determine_k(max_bin_count, n_reference, self_count, &metrics, &mut accuracies.warnings);
        accuracies.k = Some(k);

        // Each query block is reduced to its per-query values before the next is searched.
        let kind = if query.kind() == Kind::Double || reference.kind() == Kind::Double { Kind::Double } else { Kind::Float };
        let prepared = Prepared::new(query, &reference, kind, self.distance)?;
        let on_cpu = |t: &Tensor| -> Result<Vec<i64>> { Ok(Vec::<i64>::try_from(&t.f_to_device(Device::Cpu)?.f_to_kind(Kind::Int64)?)?) };
        let (query_labels_v, reference_labels_v) = (on_cpu(&query_labels)?, on_cpu(&reference_labels)?);
        let relevant = on_cpu(&relevant)?;
        let not_lone: Vec<bool> = on_cpu(&not_lone)?.into_iter().map(|x| x != 0).collect();
        let mut values: Vec<Vec<f64>> = metrics.iter().map(|_| Vec::with_capacity(relevant.len())).collect();
        let mut hits = Vec::new();
        prepared.for_each_block(k, ref_includes_query, self.blocks, |start, neighbours| {
            let start = start as usize;
            self.hits(neighbours, start, &query_labels, &query_labels_v, &reference_labels, &reference_labels_v, &mut hits)?;
            for row in 0..neighbours.rows {
                let row_hits = &hits[row * neighbours.found..(row + 1) * neighbours.found];
                for (values, &metric) in values.iter_mut().zip(&metrics) {
                    values.push(per_query(metric, row_hits, relevant[start + row])?);
                }
            }
            Ok(())
        })?;

        let unique = on_cpu(&stats.unique)?;
        let groups: Vec<usize> = on_cpu(&stats.inverse)?.into_iter().zip(&not_lone).filter(|(_, &keep)| keep).map(|(g, _)| g as usize).collect();
        for (metric, values) in metrics.iter().zip(values) {
            let values: Vec<f64> = values.into_iter().zip(&not_lone).filter(|(_, &keep)| keep).map(|(v, _)| v).collect();
            accuracies.scores.push((*metric, self.reduce(&values, &groups, &unique)));
        }
        Ok(accuracies)
    }

    /// Whether each neighbour of a block of queries (from query `start`) matches its query,
    /// row-major, into `hits`: label equality in Rust, or the custom comparison on tensors.
    #[allow(clippy::too_many_arguments)]
    fn hits(
        &self,
        neighbours: &Neighbours,
        start: usize,
        query_labels: &Tensor,
        query_labels_v: &[i64],
        reference_labels: &Tensor,
        reference_labels_v: &[i64],
        hits: &mut Vec<bool>,
    ) -> Result<()> {
        hits.clear();
        let (rows, found) = (neighbours.rows, neighbours.found);
        match &self.label_comparison {
            None => {
                for row in 0..rows {
                    let label = query_labels_v[start + row];
                    hits.extend(neighbours.row(row).iter().map(|&i| reference_labels_v[i as usize] == label));
                }
            }
            Some(compare) => {
                let device = reference_labels.device();
                let indices = Tensor::from_slice(&neighbours.indices).f_to_device(device)?;
                let neighbour_labels = reference_labels.f_index_select(0, &indices)?.f_reshape([rows as i64, found as i64])?;
                let labels = query_labels.f_narrow(0, start as i64, rows as i64)?.f_unsqueeze(1)?;
                let matched = compared(compare, &labels, &neighbour_labels)?;
                hits.extend(Vec::<bool>::try_from(&matched.f_to_device(Device::Cpu)?.f_reshape([-1])?)?);
            }
        }
        Ok(())
    }

    /// NMI and AMI of the query labels against a k-means of the query into as many clusters
    /// as it has labels (PML's `get_cluster_labels`), in the order of `metrics`.
    fn clustering_scores(&self, query: &Tensor, query_labels: &Tensor, metrics: &[Metric]) -> Result<Vec<(Metric, Score)>> {
        let classes = query_labels.f_internal_unique2(false, false, false)?.0.size()[0];
        let clusters = Vec::<i64>::try_from(&kmeans(query, classes, self.seed)?)?;
        let labels = Vec::<i64>::try_from(&query_labels.f_to_device(tch::Device::Cpu)?)?;
        metrics
            .iter()
            .map(|&metric| {
                let value = match metric {
                    Metric::Ami => adjusted_mutual_info(&labels, &clusters)?,
                    _ => normalized_mutual_info(&labels, &clusters)?,
                };
                Ok((metric, Score::Value(value)))
            })
            .collect()
    }

    /// PML's `determine_k`, capped at the references there are: faiss pads a short list with
    /// index -1, which PML then reads as the last reference's label; we retrieve fewer instead.
    fn determine_k(&self, max_bin_count: i64, n_reference: i64, self_count: i64, metrics: &[Metric], warnings: &mut Vec<String>) -> i64 {
        let k = match self.k {
            K::MaxBinCount => max_bin_count - self_count,
            K::All => n_reference - self_count,
            K::Count(k) => {
                let r_based: Vec<&str> = metrics
                    .iter()
                    .filter(|m| matches!(m, Metric::RPrecision | Metric::MeanAveragePrecisionAtR))
                    .map(|m| m.name())
                    .collect();
                if k < max_bin_count && !r_based.is_empty() {
                    warnings.push(format!(
                        "You are computing {}, but the value for k ({k}) is less than the max bin count ({max_bin_count}) so the values \
                         for these metrics will be incorrect. To fix this, use K::MaxBinCount. If you're looking for MAP@{k} instead of \
                         MAP@R, then you should use mean_average_precision rather than mean_average_precision_at_r",
                        r_based.join(" and ")
                    ));
                }
                k
            }
        };
        k.clamp(0, n_reference - self_count)
    }

    /// The final value of one metric from its per-query values (non-lone queries only) and the
    /// position of each query's label among the sorted unique labels.
    fn reduce(&self, values: &[f64], groups: &[usize], unique: &[i64]) -> Score {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        if !self.avg_of_avgs && !self.return_per_class {
            return Score::Value(mean(values));
        }
        let mut sums = vec![0.0; unique.len()];
        let mut counts = vec![0usize; unique.len()];
        for (&value, &group) in values.iter().zip(groups) {
            sums[group] += value;
            counts[group] += 1;
        }
        // Classes whose queries were all lone have no mean, and are not listed (as in PML).
        let (labels, means): (Vec<i64>, Vec<f64>) =
            unique.iter().zip(sums.iter().zip(&counts)).filter(|(_, (_, &c))| c > 0).map(|(&l, (&s, &c))| (l, s / c as f64)).unzip();
        if self.avg_of_avgs {
            return Score::Value(mean(&means));
        }
        Score::PerClass { labels, values: means }
    }

    fn nan_score(&self, labels: &[i64]) -> Score {
        if self.return_per_class {
            Score::PerClass { labels: labels.to_vec(), values: vec![f64::NAN; labels.len()] }
        } else {
            Score::Value(f64::NAN)
        }
    }
}

/// Checks one set (embeddings and labels) and returns its labels as 1-D int64 on the
/// embeddings' device.
fn check_set(name: &str, embeddings: &Tensor, labels_name: &str, labels: &Tensor) -> Result<Tensor> {
    let size = embeddings.size();
    if size.len() != 2 {
        return Err(Error::mismatch(name, "a 2-D tensor (rows x width)", format!("shape {size:?}")));
    }
    if !matches!(embeddings.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
        return Err(Error::mismatch(name, "floating-point embeddings", format!("{:?}", embeddings.kind())));
    }
    let label_size = labels.size();
    let labels = match label_size.as_slice() {
        [_] => labels.shallow_clone(),
        [_, 1] => labels.f_reshape([-1])?,
        _ => return Err(Error::mismatch(labels_name, "a 1-D tensor of labels", format!("shape {label_size:?}"))),
    };
    if !matches!(labels.kind(), Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8) {
        return Err(Error::mismatch(labels_name, "integer labels", format!("{:?}", labels.kind())));
    }
    let (rows, count) = (size[0], labels.size()[0]);
    if count != rows {
        return Err(Error::mismatch(labels_name, format!("{rows} labels, one per row of {name}"), format!("{count} labels")));
    }
    if rows == 0 {
        return Err(Error::data(format!("{name} is empty: expected at least one row, found shape {size:?}")));
    }
    let bad_rows = by_row_chunks(embeddings, |chunk| Ok(chunk.f_isfinite()?.f_all_dim(1, false)?.f_logical_not()?))?;
    let bad = bad_rows.f_sum(Kind::Int64)?.f_int64_value(&[])?;
    if bad > 0 {
        let first = bad_rows.f_nonzero()?.f_int64_value(&[0, 0])?;
        return Err(Error::data(format!(
            "{name}: {bad} of {rows} rows hold NaN or infinite values (the first is row {first}); expected finite embeddings"
        )));
    }
    Ok(labels.f_to_kind(Kind::Int64)?.f_to_device(embeddings.device())?)
}

const PREFIX_BLOCK: i64 = 4096;

/// PML's check for `ref_includes_query`: the reference's first rows are the query (allclose,
/// PML's tolerances) with the same labels.
fn check_query_is_prefix(query: &Tensor, query_labels: &Tensor, reference: &Tensor, reference_labels: &Tensor) -> Result<()> {
    let n = query.size()[0];
    let mut fits = reference.size()[0] >= n
        && reference_labels.f_narrow(0, 0, n)?.f_eq_tensor(query_labels)?.f_all()?.f_int64_value(&[])? != 0;
    if fits && !is_same_tensor(query, reference) {
        // Block by block, so that the float64 copies stay small.
        let mut start = 0;
        while fits && start < n {
            let rows = PREFIX_BLOCK.min(n - start);
            let head = reference.f_narrow(0, start, rows)?.f_to_kind(Kind::Double)?;
            fits = query.f_narrow(0, start, rows)?.f_to_kind(Kind::Double)?.f_allclose(&head, 1e-5, 1e-8, false)?;
            start += rows;
        }
    }
    if !fits {
        return Err(Error::data(format!(
            "with ref_includes_query, the first {n} rows of the reference (and of its labels) must equal the query (and its labels)"
        )));
    }
    Ok(())
}
