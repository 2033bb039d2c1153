use super::Sampler;
use crate::indices::{sample_weights, TupleCounts};
use crate::miners::TupleMiner;
use crate::{Error, Result};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use tch::{Device, Kind, Tensor};

/// Samples drawn with replacement, each as often as it appears in the tuples a miner chose
/// among their embeddings (PML's `TuplesToWeightsSampler`): the hard samples, by the miner's
/// measure, come back more often, and samples in no tuple never.
///
/// PML embeds a random subset of the dataset with the model on every pass; here the caller
/// embeds it (with `trainer.embed`) and builds the sampler once, so the weights are fixed and
/// each pass is drawn only from the generator the loader seeds per pass: a resumed run redraws
/// it without state of the sampler's own. To refresh the weights, build a new sampler.
#[derive(Clone, Debug)]
pub struct TuplesToWeightsSampler {
    /// Per embedded sample: its weight, the most frequent sample's being 1.
    weights: Vec<f64>,
    /// Per embedded sample: its index in the dataset.
    dataset_indices: Vec<usize>,
    draw: WeightedIndex<f64>,
    length: usize,
}

impl TuplesToWeightsSampler {
    /// Mines tuples among `embeddings` (one row per sample) with their `labels`, and weights
    /// each sample by how often it appears in them; each pass draws `length` samples with
    /// replacement by those weights. Sample `i` is dataset index `i` unless
    /// [`TuplesToWeightsSampler::dataset_indices`] says otherwise.
    ///
    /// # Errors
    /// What the miner refuses (embeddings and labels that do not match), and a miner that
    /// finds no tuple: PML then weights every sample alike, which would hide that the miner
    /// chose nothing.
    pub fn new(embeddings: &Tensor, labels: &Tensor, miner: &mut dyn TupleMiner, length: usize) -> Result<TuplesToWeightsSampler> {
        let tuples = miner.mine(embeddings, labels)?;
        let found = match tuples.counts() {
            TupleCounts::Pairs { positive, negative } => positive + negative,
            TupleCounts::Triplets(count) => count,
        };
        if found == 0 {
            return Err(Error::data("TuplesToWeightsSampler: the miner found no tuple among the embeddings, so no sample has a weight"));
        }
        let samples = embeddings.size().first().copied().unwrap_or(0);
        // Every sample of every tuple counts, as in PML's `convert_to_weights`.
        let weights = sample_weights(Some(&tuples), samples, false, Kind::Double, embeddings.device());
        let weights = Vec::<f64>::try_from(weights.to_device(Device::Cpu).reshape([-1]))?;
        let draw = WeightedIndex::new(&weights).map_err(|e| Error::data(format!("TuplesToWeightsSampler: weights {e}")))?;
        let dataset_indices = (0..weights.len()).collect();
        Ok(TuplesToWeightsSampler { weights, dataset_indices, draw, length })
    }

    /// The dataset index of each embedded sample, when the embeddings are of a subset (PML
    /// embeds `subset_size` random samples): draws are then these indices.
    ///
    /// # Errors
    /// When there is not one index per embedded sample.
    pub fn dataset_indices(mut self, indices: Vec<usize>) -> Result<Self> {
        if indices.len() != self.weights.len() {
            return Err(Error::mismatch(
                "TuplesToWeightsSampler",
                format!("one dataset index per embedded sample ({})", self.weights.len()),
                format!("{} indices", indices.len()),
            ));
        }
        self.dataset_indices = indices;
        Ok(self)
    }

    /// Each embedded sample's weight: its count in the tuples over the largest count.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

impl Sampler for TuplesToWeightsSampler {
    fn len(&self) -> usize {
        self.length
    }

    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize> {
        (0..self.length).map(|_| self.dataset_indices[self.draw.sample(rng)]).collect()
    }

    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        if let Some(&largest) = self.dataset_indices.iter().max() {
            if largest >= dataset_len {
                return Err(Error::mismatch(
                    "TuplesToWeightsSampler",
                    format!("embeddings of samples of the dataset it samples (indices below {dataset_len})"),
                    format!("index {largest}"),
                ));
            }
        }
        if self.length < batch_size {
            return Err(Error::config(format!(
                "TuplesToWeightsSampler: a pass has {} indices, fewer than one batch of {batch_size}",
                self.length
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use crate::indices::Tuples;
    use crate::losses::Reference;
    use rand::SeedableRng;

    /// Returns the same triplets whatever it is given.
    struct Fixed(Vec<[i64; 3]>);

    impl Component for Fixed {}

    impl TupleMiner for Fixed {
        fn mine_with_reference(&mut self, _embeddings: &Tensor, _labels: &Tensor, _reference: Option<Reference<'_>>) -> Result<Tuples> {
            let column = |c: usize| Tensor::from_slice(&self.0.iter().map(|t| t[c]).collect::<Vec<_>>());
            Ok(Tuples::Triplets { a: column(0), p: column(1), n: column(2) })
        }
    }

    fn inputs() -> (Tensor, Tensor) {
        (Tensor::zeros([6, 2], (Kind::Float, Device::Cpu)), Tensor::from_slice(&[0i64, 0, 1, 1, 2, 2]))
    }

    #[test]
    fn draws_follow_the_tuple_counts() {
        let (embeddings, labels) = inputs();
        // Appearances in the triplets: 0 four times, 1 twice, 2 and 5 three times, 3 and 4 never.
        let mut miner = Fixed(vec![[0, 1, 2], [1, 0, 2], [0, 5, 2], [0, 5, 5]]);
        let mut sampler = TuplesToWeightsSampler::new(&embeddings, &labels, &mut miner, 60_000).unwrap();
        assert_eq!(sampler.weights(), &[1.0, 0.5, 0.75, 0.0, 0.0, 0.75]);
        assert_eq!(sampler.len(), 60_000);
        let pass = sampler.indices(&mut StdRng::seed_from_u64(0));
        assert_eq!(pass.len(), 60_000);
        let mut counts = [0usize; 6];
        for &i in &pass {
            counts[i] += 1;
        }
        assert_eq!((counts[3], counts[4]), (0, 0), "samples in no tuple are never drawn");
        // Expected shares 4/12, 2/12, 3/12, 0, 0, 3/12 of the draws.
        for (i, expected) in [(0, 4.0), (1, 2.0), (2, 3.0), (5, 3.0)] {
            let share = counts[i] as f64 / 60_000.0;
            assert!((share - expected / 12.0).abs() < 0.01, "sample {i}: {share} vs {}", expected / 12.0);
        }
        assert_eq!(pass, sampler.indices(&mut StdRng::seed_from_u64(0)), "the pass's seed decides it");
    }

    #[test]
    fn subsets_map_to_dataset_indices_and_checks_say_what_is_wrong() {
        let (embeddings, labels) = inputs();
        let sampler = TuplesToWeightsSampler::new(&embeddings, &labels, &mut Fixed(vec![[0, 1, 2]]), 12).unwrap();
        let mut mapped = sampler.clone().dataset_indices(vec![10, 11, 12, 13, 14, 15]).unwrap();
        let drawn = mapped.indices(&mut StdRng::seed_from_u64(1));
        assert!(drawn.iter().all(|i| [10, 11, 12].contains(i)), "{drawn:?}");
        assert!(mapped.check(16, 12).is_ok());
        assert!(matches!(mapped.check(15, 12), Err(Error::Mismatch { .. })));
        assert!(matches!(sampler.clone().dataset_indices(vec![1, 2]), Err(Error::Mismatch { .. })));
        let text = sampler.check(6, 16).unwrap_err().to_string();
        assert!(text.contains("a pass has 12 indices, fewer than one batch of 16"), "{text}");
        let none = TuplesToWeightsSampler::new(&embeddings, &labels, &mut Fixed(vec![]), 12).unwrap_err();
        assert!(none.to_string().contains("found no tuple"), "{none}");
    }
}
