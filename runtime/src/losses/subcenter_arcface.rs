use super::input::check_embeddings;
use super::learned_weights::{check_width, LearnedWeights};
use super::margin_softmax::{additive_angular_margin, check_classes, classification_input, reduced_cross_entropy, weight_cosines, with_target_cosine};
use super::{MetricLoss, Reference};
use crate::component::{Component, Record};
use crate::indices::Tuples;
use crate::reducers::{MeanReducer, Reducer};
use crate::{Error, Result};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

/// Sub-center ArcFace (Deng et al., 2020): ArcFace with `sub_centers` learned weight columns
/// per class, an embedding's cosine to a class being its largest to the class's sub-centers, so
/// that noisy samples can gather around a sub-center of their own (PML's
/// `SubCenterArcFaceLoss`: margin 28.6 degrees, scale 64, 3 sub-centers). [`get_outliers`]
/// finds them. The weights are a parameter: give the loss key an optimizer.
///
/// [`get_outliers`]: SubCenterArcFaceLoss::get_outliers
#[derive(Debug)]
pub struct SubCenterArcFaceLoss {
    num_classes: i64,
    sub_centers: i64,
    /// Radians.
    margin: f64,
    scale: f64,
    weights: LearnedWeights,
    reducer: Box<dyn Reducer>,
}

/// What [`SubCenterArcFaceLoss::get_outliers`] finds.
#[derive(Debug)]
pub struct SubCenterOutliers {
    /// The samples farther than the threshold from their class's dominant sub-center, int64, by
    /// class and then by position in the batch (PML's order).
    pub indices: Tensor,
    /// Per class, its dominant sub-center (the one most of its samples are closest to), as a
    /// column: (embedding_size, num_classes). Columns of classes without a sample in the batch
    /// are zero.
    pub dominant_centers: Tensor,
}

fn class_weights(embedding_size: i64, columns: i64, device: Device) -> LearnedWeights {
    LearnedWeights::new("W", [embedding_size, columns], Init::Randn { mean: 0.0, stdev: 1.0 }, device)
}

impl SubCenterArcFaceLoss {
    /// PML's default outlier threshold, in degrees.
    pub const DEFAULT_OUTLIER_THRESHOLD: f64 = 75.0;

    /// Weights of shape (embedding_size, num_classes * 3), drawn from N(0, 1) as PML does, on
    /// the CUDA device when there is one; margin 28.6 degrees, scale 64.
    pub fn new(num_classes: i64, embedding_size: i64) -> SubCenterArcFaceLoss {
        SubCenterArcFaceLoss {
            num_classes,
            sub_centers: 3,
            margin: 28.6f64.to_radians(),
            scale: 64.0,
            weights: class_weights(embedding_size, num_classes * 3, Device::cuda_if_available()),
            reducer: Box::new(MeanReducer),
        }
    }

    /// How many sub-centers each class has; draws new weights of the new shape (on the same
    /// device).
    pub fn sub_centers(mut self, sub_centers: i64) -> Self {
        self.sub_centers = sub_centers;
        let embedding_size = self.weights.weights.size()[0];
        self.weights = class_weights(embedding_size, self.num_classes * sub_centers, self.weights.vs.device());
        self
    }

    /// The additive angular margin, in degrees.
    pub fn margin(mut self, degrees: f64) -> Self {
        self.margin = degrees.to_radians();
        self
    }

    /// The logits' scale.
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// How the per-sample values become one number.
    pub fn reducer(mut self, reducer: impl Reducer + 'static) -> Self {
        self.reducer = Box::new(reducer);
        self
    }

    /// Cosines to every sub-center, (batch, num_classes, sub_centers).
    fn sub_center_cosines(&self, embeddings: &Tensor) -> Tensor {
        weight_cosines(embeddings, &self.weights.weights).view([-1, self.num_classes, self.sub_centers])
    }

    /// Each embedding's cosine to each class: the largest to its sub-centers (its gradient to
    /// that one only, as PML's `max`).
    fn cosines(&self, embeddings: &Tensor) -> Tensor {
        self.sub_center_cosines(embeddings).max_dim(2, false).0
    }

    /// Scaled cosines to every class, without the margin (PML's `get_logits`).
    pub fn logits(&self, embeddings: &Tensor) -> Tensor {
        self.cosines(embeddings) * self.scale
    }

    fn check_sub_centers(&self) -> Result<()> {
        if self.sub_centers < 1 {
            return Err(Error::data(format!("SubCenterArcFaceLoss: sub_centers must be at least 1, found {}", self.sub_centers)));
        }
        Ok(())
    }

    /// The samples whose angle to their class's dominant sub-center exceeds `threshold` degrees
    /// ([`Self::DEFAULT_OUTLIER_THRESHOLD`] is PML's), with each class's dominant sub-center.
    /// A sample counts toward the sub-center it is closest to; ties go to the first, as PML's
    /// `argmax`. PML's `return_dominant_centers` has no counterpart: its precedence makes PML
    /// return both either way, as this does.
    ///
    /// # Errors
    /// When embeddings and labels do not match, the embeddings are not as wide as the weights,
    /// or a label is not one of the loss's classes (PML skips such samples).
    pub fn get_outliers(&self, embeddings: &Tensor, labels: &Tensor, threshold: f64) -> Result<SubCenterOutliers> {
        const MODULE: &str = "SubCenterArcFaceLoss::get_outliers";
        check_embeddings(MODULE, embeddings, labels)?;
        check_width(MODULE, embeddings, self.weights.weights.size()[0])?;
        self.check_sub_centers()?;
        let labels = labels.to_device(embeddings.device()).to_kind(Kind::Int64);
        check_classes(MODULE, &labels, self.num_classes)?;
        let (rows, (classes, per_class)) = (embeddings.size()[0], (self.num_classes, self.sub_centers));
        Ok(tch::no_grad(|| {
            let own_class = labels.view([-1, 1, 1]).expand([rows, 1, per_class], false);
            let own = self.sub_center_cosines(embeddings).gather(1, &own_class, false).squeeze_dim(1);
            // How many of each class's samples are closest to each of its sub-centers.
            let closest = own.argmax(1, false);
            let votes = (&labels * per_class + closest).bincount::<Tensor>(None, classes * per_class).view([classes, per_class]);
            let dominant = votes.argmax(1, false);
            let present = votes.sum_dim_intlist(1i64, false, Kind::Int64).gt(0);
            let columns = Tensor::arange(classes, (Kind::Int64, embeddings.device())) * per_class + &dominant;
            let weights = self.weights.weights.to_kind(embeddings.kind()).to_device(embeddings.device());
            let dominant_centers = weights.index_select(1, &columns) * present.to_kind(embeddings.kind()).unsqueeze(0);
            let to_dominant = own.gather(1, &dominant.index_select(0, &labels).unsqueeze(1), false).squeeze_dim(1);
            let is_outlier = to_dominant.lt(threshold.to_radians().cos());
            // PML visits class by class, each in batch order.
            let order = (&labels * rows + Tensor::arange(rows, (Kind::Int64, embeddings.device()))).argsort(0, false);
            let indices = order.masked_select(&is_outlier.index_select(0, &order));
            SubCenterOutliers { indices, dominant_centers }
        }))
    }
}

super::learned_weights::accessors!(SubCenterArcFaceLoss, weights, weights, set_weights, "sub-centres, `(embedding_size, num_classes * sub_centers)`");

impl Component for SubCenterArcFaceLoss {
    fn var_store(&self) -> Option<&VarStore> {
        Some(&self.weights.vs)
    }

    fn records(&self) -> Vec<Record> {
        // The margin is recorded in radians, as PML records it.
        vec![
            Record { name: "num_classes", value: self.num_classes as f64 },
            Record { name: "sub_centers", value: self.sub_centers as f64 },
            Record { name: "margin", value: self.margin },
            Record { name: "scale", value: self.scale },
        ]
    }
}

impl MetricLoss for SubCenterArcFaceLoss {
    /// The sub-centres as rows, `(num_classes * sub_centers, embedding_size)`, as PML regularizes them.
    fn class_weights(&self) -> Option<Tensor> {
        Some(self.weights.weights.transpose(0, 1))
    }

    fn compute_with_reference(&mut self, embeddings: &Tensor, labels: &Tensor, indices: Option<&Tuples>, reference: Option<Reference<'_>>) -> Result<Tensor> {
        self.check_sub_centers()?;
        let input = classification_input("SubCenterArcFaceLoss", embeddings, labels, indices, reference, self.weights.weights.size()[0], self.num_classes)?;
        let cosine = self.cosines(embeddings);
        let target_cosine = cosine.gather(1, &input.labels.unsqueeze(1), false).squeeze_dim(1);
        let modified = additive_angular_margin(&target_cosine, self.margin);
        let logits = with_target_cosine(&cosine, &input.labels, &target_cosine, &modified) * self.scale;
        reduced_cross_entropy(&logits, &input, indices, self.reducer.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four classes of two sub-centers in 4-D (class 3 has no sample in the batch), ten samples.
    fn case() -> (SubCenterArcFaceLoss, Tensor, Tensor) {
        #[rustfmt::skip]
        let weights = [
            1.0f32, 0.0, 0.0, 0.5, 0.2, -1.0, 0.3, 0.0,
            0.0, 1.0, 0.5, 0.0, -0.4, 0.2, 0.0, 1.0,
            0.2, 0.0, 1.0, -0.3, 0.9, 0.0, -0.2, 0.5,
            0.0, -0.3, 0.0, 1.0, 0.1, 0.6, 1.0, 0.0,
        ];
        #[rustfmt::skip]
        let embeddings = [
            0.9f32, 0.1, 0.1, 0.0,
            1.0, -0.2, 0.3, 0.1,
            0.1, 0.9, -0.1, -0.4,
            -0.5, -0.5, -0.2, 0.3,
            0.3, 0.2, 0.2, 1.0,
            0.0, 0.6, 1.0, 0.0,
            -0.9, 0.3, 0.1, 0.5,
            0.3, -0.5, 0.8, 0.2,
            -1.0, 0.1, -0.2, 0.7,
            0.2, 0.1, -0.9, 0.1,
        ];
        let mut loss = SubCenterArcFaceLoss::new(4, 4).sub_centers(2).device(Device::Cpu);
        loss.set_weights(&Tensor::from_slice(&weights).view([4, 8])).unwrap();
        let labels = Tensor::from_slice(&[0i64, 0, 0, 0, 1, 1, 2, 2, 2, 1]);
        (loss, Tensor::from_slice(&embeddings).view([10, 4]), labels)
    }

    #[test]
    fn outliers_and_dominant_centers_are_pml_s() {
        // Expected values from PML 2.9.0 (torch 2.13) on the same inputs:
        //   loss = losses.SubCenterArcFaceLoss(num_classes=4, embedding_size=4, sub_centers=2)
        //   loss.W.data.copy_(W)   # the `weights` above, as a 4 x 8 tensor
        //   outliers, dominant = loss.get_outliers(emb, labels, threshold=t)  # t = 75, then 40
        //   print(outliers.tolist(), dominant[:, :3].tolist())
        // giving [2, 3, 5, 7] at 75 degrees and [2, 3, 5, 9, 7] at 40 (class by class), and the
        // same dominant centers at both: columns 0, 3 and 5 of W. PML leaves class 3's column
        // uninitialised; ours is zero.
        let (loss, embeddings, labels) = case();
        let expected_centers = [[1.0f32, 0.5, -1.0], [0.0, 0.0, 0.2], [0.2, -0.3, 0.0], [0.0, 1.0, 0.6]];
        for (threshold, expected) in [(SubCenterArcFaceLoss::DEFAULT_OUTLIER_THRESHOLD, vec![2i64, 3, 5, 7]), (40.0, vec![2, 3, 5, 9, 7])] {
            let found = loss.get_outliers(&embeddings, &labels, threshold).unwrap();
            assert_eq!(Vec::<i64>::try_from(&found.indices).unwrap(), expected, "at {threshold} degrees");
            assert_eq!(found.dominant_centers.size(), [4, 4]);
            let centers = Vec::<Vec<f32>>::try_from(&found.dominant_centers).unwrap();
            for (row, want) in centers.iter().zip(expected_centers) {
                assert_eq!(&row[..3], want.as_slice(), "at {threshold} degrees");
                assert_eq!(row[3], 0.0, "class 3 has no sample");
            }
        }
    }

    #[test]
    fn outliers_refuse_labels_beyond_the_classes() {
        let (loss, embeddings, _) = case();
        let labels = Tensor::from_slice(&[0i64, 0, 0, 0, 1, 1, 2, 2, 2, 4]);
        let error = loss.get_outliers(&embeddings, &labels, 75.0).unwrap_err().to_string();
        assert!(error.contains("SubCenterArcFaceLoss::get_outliers: labels must lie in 0..4"), "{error}");
    }

    #[test]
    fn the_class_cosine_is_the_closest_sub_center_s() {
        let (loss, embeddings, _) = case();
        let logits = loss.logits(&embeddings);
        assert_eq!(logits.size(), [10, 4]);
        // Sample 5 against class 1: cosines 0.9971 (sub-center 0) and -0.2222.
        assert!((logits.double_value(&[5, 1]) - 64.0 * 0.9971).abs() < 64.0 * 1e-4, "{}", logits.double_value(&[5, 1]));
    }
}
