use super::{common_options, Common, Distance};
use crate::component::Record;
use tch::Tensor;

/// Signal-to-noise ratio distance: the variance of the difference over the variance of the
/// query (PML's `SNRDistance`; Yuan et al., 2019).
#[doc(alias = "SNRDistance")]
#[derive(Clone, Debug)]
pub struct SnrDistance {
    common: Common,
}

impl Default for SnrDistance {
    fn default() -> Self {
        SnrDistance::new()
    }
}

impl SnrDistance {
    /// On L2-normalised rows, as PML's default.
    pub fn new() -> SnrDistance {
        SnrDistance { common: Common::new() }
    }
}

common_options!(SnrDistance);

fn row_variance(x: &Tensor) -> Tensor {
    // Unbiased, as torch.var's default.
    x.var_dim(1i64, true, false)
}

impl Distance for SnrDistance {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        let (q, r) = self.common.maybe_normalize_both(query, reference);
        let differences = q.unsqueeze(1) - r.unsqueeze(0);
        // Unbiased, in two passes (the mean, then the squared deviations): torch's `var`
        // reduces the cube's short rows several times slower on the CPU.
        let deviations = &differences - differences.mean_dim(2i64, true, None::<tch::Kind>);
        let variances = deviations.square().sum_dim_intlist(2i64, false, None::<tch::Kind>) / (q.size()[1] - 1) as f64;
        self.common.maybe_power(variances / row_variance(&q).unsqueeze(1))
    }

    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        // Each entry of the matrix is a variance over the width of its own difference row
        // already: pair by pair is never more work.
        let (q, r) = self.common.entry_rows(query, reference, rows, columns);
        self.common.maybe_power(self.pairwise(&q, &r))
    }

    fn few_pairs(&self, _entries: i64, _queries: i64, _references: i64) -> bool {
        true
    }

    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        row_variance(&(x - y)) / row_variance(x)
    }

    fn is_inverted(&self) -> bool {
        false
    }

    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }

    fn records(&self) -> Vec<Record> {
        self.common.records()
    }
}

/// PML's name for [`SnrDistance`], for code ported from Python.
#[allow(clippy::upper_case_acronyms)]
pub type SNRDistance = SnrDistance;
