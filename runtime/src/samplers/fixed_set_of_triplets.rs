use super::Sampler;
use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::{index::sample, SliceRandom};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// A fixed list of `(anchor, positive, negative)` triplets drawn once, at construction, from
/// the labels (PML's `FixedSetOfTriplets`): for experiments where the only ground truth is a
/// set of triplets. Each pass yields every triplet's three indices in a row, the triplets in a
/// new order, so batches of a multiple of 3 hold whole triplets.
///
/// The set depends only on the labels and the construction seed, and each pass's order on the
/// generator the loader seeds per pass, so a resumed run sees the same triplets in the same
/// order without state of the sampler's own.
#[derive(Clone, Debug)]
pub struct FixedSetOfTriplets {
    /// `(a, p, n)`, with `label[a] == label[p] != label[n]` and `a != p`.
    triplets: Vec<[usize; 3]>,
    /// How many labels it was built on: the dataset must have as many samples.
    labels: usize,
    /// Asked for; the set is empty (and `check` says why) when the labels allow no triplet.
    num_triplets: usize,
}

impl FixedSetOfTriplets {
    /// `num_triplets` triplets of the dataset whose labels these are, drawn with `seed`: an
    /// anchor class with at least two samples, another class for the negative, two distinct
    /// samples of the first and one of the second. PML draws the anchor class among all classes
    /// and, for a class of one sample, repeats it as its own positive; we draw only classes
    /// that give a true positive.
    pub fn new(labels: &[i64], num_triplets: usize, seed: u64) -> FixedSetOfTriplets {
        let mut by_class: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (index, &label) in labels.iter().enumerate() {
            by_class.entry(label).or_default().push(index);
        }
        let classes: Vec<&Vec<usize>> = by_class.values().collect();
        let anchor_classes: Vec<usize> = (0..classes.len()).filter(|&c| classes[c].len() >= 2).collect();
        let mut triplets = Vec::new();
        // No anchor class, or no other class for the negatives: no triplet exists.
        if !anchor_classes.is_empty() && classes.len() >= 2 {
            let mut rng = StdRng::seed_from_u64(seed);
            triplets.reserve(num_triplets);
            for _ in 0..num_triplets {
                let anchor_class = anchor_classes[rng.gen_range(0..anchor_classes.len())];
                // Uniform over the other classes: draw among one fewer and skip the anchor's.
                let mut negative_class = rng.gen_range(0..classes.len() - 1);
                if negative_class >= anchor_class {
                    negative_class += 1;
                }
                let (positives, negatives) = (classes[anchor_class], classes[negative_class]);
                let pair = sample(&mut rng, positives.len(), 2);
                let negative = negatives[rng.gen_range(0..negatives.len())];
                triplets.push([positives[pair.index(0)], positives[pair.index(1)], negative]);
            }
        }
        FixedSetOfTriplets { triplets, labels: labels.len(), num_triplets }
    }

    /// The triplets, in the order they were drawn.
    pub fn triplets(&self) -> &[[usize; 3]] {
        &self.triplets
    }
}

impl Sampler for FixedSetOfTriplets {
    fn len(&self) -> usize {
        self.triplets.len() * 3
    }

    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize> {
        // Shuffle a copy: the drawn order stays what `triplets()` shows.
        let mut order = self.triplets.clone();
        order.shuffle(rng);
        order.into_iter().flatten().collect()
    }

    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        if self.labels != dataset_len {
            return Err(Error::mismatch(
                "FixedSetOfTriplets",
                format!("labels of the dataset it samples, one per sample ({dataset_len})"),
                format!("{} labels", self.labels),
            ));
        }
        if self.num_triplets == 0 {
            return Err(Error::mismatch("FixedSetOfTriplets", "num_triplets of at least 1", "num_triplets = 0"));
        }
        if self.triplets.is_empty() {
            return Err(Error::data(
                "FixedSetOfTriplets: the labels allow no triplet; they need a class with at least 2 samples and another class",
            ));
        }
        if batch_size % 3 != 0 {
            return Err(Error::config(format!(
                "FixedSetOfTriplets: the batch size must be a multiple of 3 so that batches hold whole triplets, but it is {batch_size}"
            )));
        }
        if self.len() < batch_size {
            return Err(Error::config(format!(
                "FixedSetOfTriplets: a pass has {} indices ({} triplets), fewer than one batch of {batch_size}; raise num_triplets",
                self.len(),
                self.triplets.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<i64> {
        // Classes 0..4 with 6 samples each, and class 9 with a single sample (never an anchor).
        let mut labels: Vec<i64> = (0..24).map(|i| i % 4).collect();
        labels.push(9);
        labels
    }

    fn sorted(mut triplets: Vec<[usize; 3]>) -> Vec<[usize; 3]> {
        triplets.sort_unstable();
        triplets
    }

    #[test]
    fn passes_are_whole_valid_triplets_of_one_fixed_set() {
        let all = labels();
        let mut sampler = FixedSetOfTriplets::new(&all, 40, 7);
        assert_eq!(sampler.len(), 120);
        let set = sorted(sampler.triplets().to_vec());
        let mut passes = Vec::new();
        for pass_seed in 0..3 {
            let pass = sampler.indices(&mut StdRng::seed_from_u64(pass_seed));
            assert_eq!(pass.len(), 120);
            let triplets: Vec<[usize; 3]> = pass.chunks(3).map(|t| [t[0], t[1], t[2]]).collect();
            for &[a, p, n] in &triplets {
                assert_ne!(a, p, "a true positive");
                assert_eq!(all[a], all[p]);
                assert_ne!(all[a], all[n]);
                assert_ne!(all[a], 9, "a class of one sample is no anchor class");
            }
            assert_eq!(sorted(triplets.clone()), set, "the same set every pass");
            passes.push(triplets);
        }
        assert_ne!(passes[0], passes[1], "in a new order each pass");
        assert_eq!(sorted(FixedSetOfTriplets::new(&all, 40, 7).triplets().to_vec()), set, "the seed fixes the set");
        assert_ne!(sorted(FixedSetOfTriplets::new(&all, 40, 8).triplets().to_vec()), set);
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let all = labels();
        assert!(FixedSetOfTriplets::new(&all, 10, 0).check(25, 30).is_ok());
        let text = FixedSetOfTriplets::new(&all, 10, 0).check(25, 32).unwrap_err().to_string();
        assert!(text.contains("multiple of 3"), "{text}");
        assert!(text.contains("32"), "{text}");
        assert!(matches!(FixedSetOfTriplets::new(&all, 10, 0).check(24, 3), Err(Error::Mismatch { .. })));
        assert!(matches!(FixedSetOfTriplets::new(&all, 0, 0).check(25, 3), Err(Error::Mismatch { .. })));
        let text = FixedSetOfTriplets::new(&all, 10, 0).check(25, 33).unwrap_err().to_string();
        assert!(text.contains("a pass has 30 indices (10 triplets), fewer than one batch of 33"), "{text}");
        // One class only, or only classes of one sample: no triplet.
        let one_class = FixedSetOfTriplets::new(&[1, 1, 1], 5, 0);
        assert_eq!(one_class.len(), 0);
        assert!(matches!(one_class.check(3, 3), Err(Error::Data(_))));
        let singletons = FixedSetOfTriplets::new(&[1, 2, 3], 5, 0);
        assert!(matches!(singletons.check(3, 3), Err(Error::Data(_))));
    }
}
