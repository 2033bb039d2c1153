use super::{common_options, Common, Distance};
use crate::component::Record;
use tch::{Kind, Tensor};

/// The dot product, a similarity; of L2-normalised rows unless `normalize_embeddings(false)`,
/// as PML's `DotProductSimilarity` defaults.
#[derive(Clone, Debug)]
pub struct DotProductSimilarity {
    common: Common,
}

/// The cosine of the angle between rows: the dot product of L2-normalised rows, always
/// normalised (PML's `CosineSimilarity`).
#[derive(Clone, Debug, Default)]
pub struct CosineSimilarity;

impl Default for DotProductSimilarity {
    fn default() -> Self {
        DotProductSimilarity::new()
    }
}

impl DotProductSimilarity {
    /// The dot product of normalised rows, PML's default for this class.
    pub fn new() -> DotProductSimilarity {
        DotProductSimilarity { common: Common::new() }
    }
}

common_options!(DotProductSimilarity);

impl CosineSimilarity {
    /// Cosine similarity.
    pub fn new() -> CosineSimilarity {
        CosineSimilarity
    }
}

impl Distance for DotProductSimilarity {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        let (q, r) = self.common.maybe_normalize_both(query, reference);
        self.common.maybe_power(q.matmul(&r.transpose(0, 1)))
    }

    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        if !super::few(rows.numel() as i64, query.size()[0], reference.size()[0]) {
            return super::gather_pairs(&self.matrix(query, reference), rows, columns);
        }
        let (q, r) = self.common.entry_rows(query, reference, rows, columns);
        self.common.maybe_power((q * r).sum_dim_intlist(1i64, false, None::<Kind>))
    }

    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        (x * y).sum_dim_intlist(1i64, false, None::<Kind>)
    }

    fn is_inverted(&self) -> bool {
        true
    }

    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }

    fn records(&self) -> Vec<Record> {
        self.common.records()
    }
}

impl Distance for CosineSimilarity {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        DotProductSimilarity::new().matrix(query, reference)
    }

    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        DotProductSimilarity::new().entries(query, reference, rows, columns)
    }

    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        DotProductSimilarity::new().pairwise(x, y)
    }

    fn is_inverted(&self) -> bool {
        true
    }

    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }

    fn records(&self) -> Vec<Record> {
        Common::new().records()
    }
}
