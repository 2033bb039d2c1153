use super::{check_rows, Regularizer};
use crate::component::{Component, Record};
use crate::distances::{CosineSimilarity, Distance};
use crate::losses::small_val;
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// Pulls the centres of each class together: for every pair of a class's centres,
/// `sqrt(2 - 2 cos)` (capped below at 0), summed and divided by twice the number of pairs
/// (Qian et al., 2019, SoftTriple's regularizer; PML's `SparseCentersRegularizer` with its
/// `DivisorReducer`). Rows are the centres, class by class: `num_classes * centers_per_class`.
/// Records the mean cosine of same-class and of different-class centres.
#[derive(Debug)]
pub struct SparseCentersRegularizer {
    num_classes: i64,
    centers_per_class: i64,
    distance: CosineSimilarity,
    same_class_center_sim: f64,
    diff_class_center_sim: f64,
}

impl SparseCentersRegularizer {
    /// For `num_classes` classes of `centers_per_class` centres each.
    ///
    /// # Errors
    /// With fewer than 2 centres per class (PML asserts it), or no class.
    pub fn new(num_classes: i64, centers_per_class: i64) -> Result<SparseCentersRegularizer> {
        if centers_per_class < 2 || num_classes < 1 {
            return Err(Error::mismatch(
                "SparseCentersRegularizer",
                "at least one class and at least 2 centres per class",
                format!("{num_classes} classes of {centers_per_class} centres"),
            ));
        }
        Ok(SparseCentersRegularizer { num_classes, centers_per_class, distance: CosineSimilarity::new(), same_class_center_sim: 0.0, diff_class_center_sim: 0.0 })
    }

    /// `(same, different)`: pairs `(i < j)` of one class's centres, and pairs of centres of two
    /// different classes.
    fn masks(&self, device: tch::Device) -> (Tensor, Tensor) {
        let total = self.num_classes * self.centers_per_class;
        let class = Tensor::arange(total, (Kind::Int64, device)).floor_divide_scalar(self.centers_per_class);
        let same_class = class.unsqueeze(1).eq_tensor(&class.unsqueeze(0));
        let upper = Tensor::ones([total, total], (Kind::Bool, device)).triu(1);
        (same_class.logical_and(&upper), same_class.logical_not())
    }
}

impl Component for SparseCentersRegularizer {
    fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "centers_per_class", value: self.centers_per_class as f64 },
            Record { name: "same_class_center_sim", value: self.same_class_center_sim },
            Record { name: "diff_class_center_sim", value: self.diff_class_center_sim },
        ];
        records.extend(self.distance.records());
        records
    }
}

impl Regularizer for SparseCentersRegularizer {
    fn regularize(&mut self, rows: &Tensor) -> Result<Tensor> {
        check_rows("SparseCentersRegularizer", rows)?;
        let total = self.num_classes * self.centers_per_class;
        if rows.size()[0] != total {
            return Err(Error::mismatch("SparseCentersRegularizer", format!("{total} centres ({} classes x {})", self.num_classes, self.centers_per_class), format!("{} rows", rows.size()[0])));
        }
        let similarities = self.distance.matrix(rows, rows);
        let (same, different) = self.masks(rows.device());
        let doubled = (similarities.masked_select(&same) * 2.0).clamp_max(2.0);
        let values = (-doubled + 2.0 + small_val(rows.kind())).sqrt();
        // Twice the pairs (i < j) of one class's centres: known from the sizes, no device sync.
        let divisor = (self.num_classes * self.centers_per_class * (self.centers_per_class - 1)) as f64;
        tch::no_grad(|| {
            let mean = |mask: &Tensor| similarities.masked_select(mask).mean(Kind::Double).double_value(&[]);
            self.same_class_center_sim = mean(&same);
            self.diff_class_center_sim = mean(&different);
        });
        Ok(values.sum(values.kind()) / divisor)
    }
}
