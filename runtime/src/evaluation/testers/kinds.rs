//! What distinguishes PML's three testers: which inputs a split holds, which references a query
//! may have, which label levels are scored, and how one level is scored.

use super::splits::{SplitEmbeddings, Streams};
use crate::evaluation::{Accuracies, AccuracyCalculator, Metric, Score};
use crate::{Error, Result};
use std::fmt::Debug;
use tch::Tensor;

/// The evaluation a [`Tester`](super::Tester) runs.
pub trait TesterKind: Clone + Debug + Default {
    /// PML's class name.
    const NAME: &'static str;

    /// How the split's samples hold their inputs.
    fn streams(&self) -> Streams {
        Streams::One
    }

    /// Refuses reference lists this kind cannot score (`references` has the query first when
    /// it is among them).
    ///
    /// # Errors
    /// [`Error::Config`] saying why.
    fn check_references(&self, _query: &str, _references: &[String]) -> Result<()> {
        Ok(())
    }

    /// The levels to score, from those asked for (all below `available`).
    ///
    /// # Errors
    /// [`Error::Config`] when none can be scored.
    fn levels(&self, levels: Vec<usize>, _available: usize) -> Result<Vec<usize>> {
        Ok(levels)
    }

    /// Scores one level of a query split against its reference splits.
    ///
    /// # Errors
    /// The calculator's.
    fn accuracies(&self, scoring: &Scoring<'_>) -> Result<Accuracies>;
}

/// One query split and label level to score.
pub struct Scoring<'a> {
    /// The tester's calculator.
    pub calculator: &'a AccuracyCalculator,
    /// The query split.
    pub query: &'a SplitEmbeddings,
    /// Its reference splits, the query first when it is among them.
    pub references: &'a [&'a SplitEmbeddings],
    /// Whether the query is the first reference.
    pub query_in_references: bool,
    /// The label column.
    pub level: usize,
}

/// PML's `GlobalEmbeddingSpaceTester`: the query against its reference splits combined.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalEmbeddingSpace;

/// The reference splits' embeddings and one level of labels, combined in order (no copy for
/// one split, so that a split against itself is recognised as such).
fn combined(references: &[&SplitEmbeddings], level: usize) -> Result<(Tensor, Tensor)> {
    if let [only] = references {
        return Ok((only.embeddings.shallow_clone(), only.level(level)?));
    }
    let embeddings: Vec<&Tensor> = references.iter().map(|r| &r.embeddings).collect();
    let labels = references.iter().map(|r| r.level(level)).collect::<Result<Vec<_>>>()?;
    Ok((Tensor::f_cat(&embeddings, 0)?, Tensor::f_cat(&labels, 0)?))
}

impl TesterKind for GlobalEmbeddingSpace {
    const NAME: &'static str = "GlobalEmbeddingSpaceTester";

    fn accuracies(&self, s: &Scoring<'_>) -> Result<Accuracies> {
        let (reference, reference_labels) = combined(s.references, s.level)?;
        s.calculator.get_accuracy_against(&s.query.embeddings, &s.query.level(s.level)?, &reference, &reference_labels, s.query_in_references)
    }
}

/// PML's `WithSameParentLabelTester`: level L is scored within each parent class (the query's
/// labels at level L + 1), query and references restricted to that parent, and each metric is
/// the unweighted mean over parents.
#[derive(Clone, Copy, Debug, Default)]
pub struct WithSameParentLabel;

impl TesterKind for WithSameParentLabel {
    const NAME: &'static str = "WithSameParentLabelTester";

    fn levels(&self, levels: Vec<usize>, available: usize) -> Result<Vec<usize>> {
        let kept: Vec<usize> = levels.iter().copied().filter(|&l| l + 1 < available).collect();
        if kept.is_empty() {
            return Err(Error::config(format!(
                "WithSameParentLabelTester scores a level within its parent, the next level: it needs a level below the last of the \
                 labels' {available} level(s), found levels {levels:?}"
            )));
        }
        Ok(kept)
    }

    fn accuracies(&self, s: &Scoring<'_>) -> Result<Accuracies> {
        let (reference, reference_labels) = combined(s.references, s.level)?;
        let reference_parents = combined(s.references, s.level + 1)?.1;
        let (query_labels, query_parents) = (s.query.level(s.level)?, s.query.level(s.level + 1)?);
        let parents = Vec::<i64>::try_from(&query_parents.f_internal_unique2(true, false, false)?.0.f_to_device(tch::Device::Cpu)?)?;
        let mut per_parent = Vec::new();
        for parent in parents {
            let rows = |labels: &Tensor| -> Result<Tensor> { Ok(labels.f_eq(parent)?.f_nonzero()?.f_squeeze_dim(1)?) };
            let (q, r) = (rows(&query_parents)?, rows(&reference_parents)?);
            per_parent.push(s.calculator.get_accuracy_against(
                &s.query.embeddings.f_index_select(0, &q)?,
                &query_labels.f_index_select(0, &q)?,
                &reference.f_index_select(0, &r)?,
                &reference_labels.f_index_select(0, &r)?,
                s.query_in_references,
            )?);
        }
        mean_over_parents(&per_parent)
    }
}

/// Each metric's unweighted mean over the parents' accuracies (PML's `np.mean`).
fn mean_over_parents(per_parent: &[Accuracies]) -> Result<Accuracies> {
    let Some(first) = per_parent.first() else {
        return Err(Error::data("the query split has no parent labels to score within"));
    };
    let mut scores: Vec<(Metric, Score)> = Vec::new();
    for (metric, _) in first.iter() {
        let mut values = Vec::new();
        for accuracies in per_parent {
            match accuracies.score(metric) {
                Some(Score::Value(v)) => values.push(*v),
                _ => {
                    return Err(Error::config(
                        "WithSameParentLabelTester averages one number per metric over parents: return_per_class is not supported",
                    ))
                }
            }
        }
        scores.push((metric, Score::Value(values.iter().sum::<f64>() / values.len() as f64)));
    }
    let warnings = per_parent.iter().flat_map(|a| a.warnings.iter().cloned()).collect();
    Ok(Accuracies::from_scores(scores, first.k, warnings))
}

/// PML's `GlobalTwoStreamEmbeddingSpaceTester`: each sample's first input (the anchor) is a
/// query, and the references are the second inputs of the same split, with the same labels.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalTwoStreamEmbeddingSpace;

impl TesterKind for GlobalTwoStreamEmbeddingSpace {
    const NAME: &'static str = "GlobalTwoStreamEmbeddingSpaceTester";

    fn streams(&self) -> Streams {
        Streams::Two
    }

    fn check_references(&self, query: &str, references: &[String]) -> Result<()> {
        if references != [query] {
            return Err(Error::config(format!(
                "GlobalTwoStreamEmbeddingSpaceTester compares a split's anchors with its own second stream: split `{query}` must be \
                 its only reference, found {references:?}"
            )));
        }
        Ok(())
    }

    fn accuracies(&self, s: &Scoring<'_>) -> Result<Accuracies> {
        let second = s.query.second_stream.as_ref().ok_or_else(|| Error::data("two-stream split without a second stream"))?;
        let labels = s.query.level(s.level)?;
        s.calculator.get_accuracy_against(&s.query.embeddings, &labels, second, &labels, false)
    }
}
