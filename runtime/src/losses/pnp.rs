use super::{gather_pairs, LossInput, MetricLoss, Reference};
use crate::distances::{CosineSimilarity, Distance};
use crate::indices::{pair_masks, Tuples};
use crate::reducers::{reduce, LossIndices, MeanReducer, Reducer, Reduction, SubLoss};
use crate::component::{Component, Record};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// How [`PNPLoss`] penalises the number of negatives ranked before a positive, `n` (Li et al.,
/// 2022; PML's `variant` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PnpVariant {
    /// PNP-D_s: `log(1 + n)`, a gradient decreasing with `n`.
    Ds,
    /// PNP-D_q: `1 / (1 + n)^alpha`, maximised (the loss is one minus its mean).
    Dq,
    /// PNP-I_u: `(1 + n) log(1 + n)`, a gradient increasing without bound.
    Iu,
    /// PNP-I_b: `(b n - log(1 + b n)) / b²`, a gradient increasing towards a bound.
    Ib,
    /// PNP-O: `n` itself (PML's default).
    O,
}

impl std::str::FromStr for PnpVariant {
    type Err = Error;
    /// PML's names: `Ds`, `Dq`, `Iu`, `Ib`, `O` (the paper's `PNP-D_s`, ... are accepted too).
    fn from_str(name: &str) -> Result<PnpVariant> {
        Ok(match name.trim_start_matches("PNP-").replace('_', "").as_str() {
            "Ds" => PnpVariant::Ds,
            "Dq" => PnpVariant::Dq,
            "Iu" => PnpVariant::Iu,
            "Ib" => PnpVariant::Ib,
            "O" => PnpVariant::O,
            _ => return Err(Error::data(format!("PNPLoss: variant {name:?} but must be one of Ds, Dq, Iu, Ib, O"))),
        })
    }
}

/// Rank-based loss that penalises the negatives ranked before each positive (Li et al., 2022,
/// "Rethinking the Optimization of Average Precision: Only Penalizing Negative Instances before
/// Positive Ones is Enough"; PML's `PNPLoss`; cosine similarity, the only one PML allows it).
///
/// For a query `q` and each of its positives `i` (itself included), `n = sum sigmoid((s_qj -
/// s_qi) / anneal)` over its negatives `j` (the sigmoid's exponent clamped to ±50, as PML),
/// transformed by the variant and averaged over the positives, then over the queries that
/// have a positive. The loss is already one number (`PNP-D_q`'s is one minus that mean): the
/// reducer passes it through, as PML's does. Tuples and reference embeddings are errors, as in
/// PML.
#[derive(Debug)]
pub struct PNPLoss {
    b: f64,
    alpha: f64,
    anneal: f64,
    variant: PnpVariant,
    reducer: Box<dyn Reducer>,
}

impl Default for PNPLoss {
    fn default() -> Self {
        PNPLoss::new()
    }
}

impl PNPLoss {
    /// PML's defaults: `b` 2, `alpha` 1, `anneal` 0.01, variant `O`.
    pub fn new() -> PNPLoss {
        PNPLoss { b: 2.0, alpha: 1.0, anneal: 0.01, variant: PnpVariant::O, reducer: Box::new(MeanReducer) }
    }
    /// `PNP-I_b`'s bound.
    pub fn b(mut self, b: f64) -> Self {
        self.b = b;
        self
    }
    /// `PNP-D_q`'s exponent.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// The sigmoid's temperature.
    pub fn anneal(mut self, anneal: f64) -> Self {
        self.anneal = anneal;
        self
    }
    /// How the count of negatives before a positive is penalised.
    pub fn variant(mut self, variant: PnpVariant) -> Self {
        self.variant = variant;
        self
    }
    /// How the loss becomes one number (it already is one: every reducer passes it through).
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// The variant's penalty of each count.
    fn penalty(&self, count: Tensor) -> Tensor {
        match self.variant {
            PnpVariant::Ds => (count + 1.0).log(),
            PnpVariant::Dq => (count + 1.0).pow_tensor_scalar(self.alpha).reciprocal(),
            PnpVariant::Iu => {
                let shifted = count + 1.0;
                &shifted * shifted.log()
            }
            PnpVariant::Ib => {
                let b = self.b;
                (&count * b - (&count * b + 1.0).log()) / (b * b)
            }
            PnpVariant::O => count,
        }
    }
}

impl Component for PNPLoss {
    fn records(&self) -> Vec<Record> {
        let mut records = CosineSimilarity::new().records();
        records.extend(self.reducer.records());
        records
    }
}

impl MetricLoss for PNPLoss {
    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        if indices.is_some() {
            return Err(Error::data("PNPLoss: tuples are not supported (as in PML)"));
        }
        if reference.is_some() {
            return Err(Error::data("PNPLoss: reference embeddings are not supported (as in PML)"));
        }
        let input = LossInput::new("PNPLoss", embeddings, labels, indices, None)?;
        let (positive, negative) = pair_masks(&input.labels, None);
        let has_positive = positive.any_dim(1, false);
        if !bool::try_from(has_positive.any()).unwrap_or(false) {
            return reduce(self.reducer.as_mut(), vec![SubLoss::zero("loss")], embeddings, &input.labels);
        }
        // A query with a positive is a positive of itself too.
        let positive = positive.logical_or(&Tensor::eye(input.rows(), (Kind::Bool, embeddings.device())).logical_and(&has_positive.unsqueeze(1)));
        let pairs = positive.nonzero();
        let (queries, positives) = (pairs.select(1, 0), pairs.select(1, 1));
        let similarities = CosineSimilarity::new().matrix(embeddings, embeddings);
        // Per (query, positive) pair and sample j, how far j is ahead of the positive, counted
        // over the query's negatives: one row per positive pair, not PML's (batch)³ cube.
        let ahead = similarities.index_select(0, &queries) - gather_pairs(&similarities, &queries, &positives).unsqueeze(1);
        // PML's `1 / (1 + exp(e))` as `sigmoid(-e)`: the same values, and a gradient that does
        // not overflow in half precision; the clamp keeps PML's zero gradient beyond ±50.
        let exponent = (-ahead / self.anneal).clamp(-50.0, 50.0);
        let smooth_step = (-exponent).sigmoid();
        let negatives = negative.index_select(0, &queries).to_kind(smooth_step.kind());
        let counts = (smooth_step * negatives).sum_dim_intlist(1i64, false, None::<Kind>);
        let penalties = self.penalty(counts);
        let kind = penalties.kind();
        let per_query = Tensor::zeros([input.rows()], (kind, embeddings.device())).index_add(0, &queries, &penalties);
        let positives_per_query = positive.sum_dim_intlist(1i64, false, Kind::Float).to_kind(kind);
        let per_query = (per_query / positives_per_query.clamp_min(1.0)).masked_select(&has_positive);
        let mut loss = per_query.sum(kind) / per_query.size()[0] as f64;
        if self.variant == PnpVariant::Dq {
            loss = -loss + 1.0;
        }
        reduce(self.reducer.as_mut(), vec![SubLoss::new("loss", loss, Reduction::AlreadyReduced).indices(LossIndices::ElementMask(has_positive))], embeddings, &input.labels)
    }
}
