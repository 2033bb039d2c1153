use super::sequential::check_length;
use super::Sampler;
use crate::Result;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// A fresh random order of the dataset each pass (PyTorch's `RandomSampler`), or, built with
/// [`RandomSampler::with_replacement`], `num_samples` indices drawn uniformly with
/// replacement (`RandomSampler(replacement=True, num_samples=k)`).
///
/// Each pass is drawn from the generator the loader seeds from the run's seed and the pass
/// number, so the sampler keeps no state and a resumed run redraws the same passes.
#[derive(Clone, Debug)]
pub struct RandomSampler {
    dataset_len: usize,
    /// `Some(k)`: `k` draws with replacement; `None`: a permutation.
    num_samples: Option<usize>,
}

impl RandomSampler {
    /// A permutation of the `dataset_len` samples each pass.
    pub fn new(dataset_len: usize) -> RandomSampler {
        RandomSampler { dataset_len, num_samples: None }
    }

    /// `num_samples` indices of the `dataset_len` samples each pass, drawn uniformly with
    /// replacement.
    pub fn with_replacement(dataset_len: usize, num_samples: usize) -> RandomSampler {
        RandomSampler { dataset_len, num_samples: Some(num_samples) }
    }
}

impl Sampler for RandomSampler {
    fn len(&self) -> usize {
        self.num_samples.unwrap_or(self.dataset_len)
    }

    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize> {
        match self.num_samples {
            // An empty dataset is refused by `check`; until then, nothing to draw from.
            Some(_) if self.dataset_len == 0 => Vec::new(),
            Some(k) => (0..k).map(|_| rng.gen_range(0..self.dataset_len)).collect(),
            None => {
                let mut order: Vec<usize> = (0..self.dataset_len).collect();
                order.shuffle(rng);
                order
            }
        }
    }

    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        check_length("RandomSampler", self.dataset_len, self.len(), dataset_len, batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use rand::SeedableRng;

    #[test]
    fn a_pass_is_a_permutation_and_passes_differ() {
        let mut sampler = RandomSampler::new(50);
        assert_eq!(sampler.len(), 50);
        let first = sampler.indices(&mut StdRng::seed_from_u64(0));
        let second = sampler.indices(&mut StdRng::seed_from_u64(1));
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(first, second, "each pass its own order");
        assert_ne!(first, sorted, "shuffled");
        assert_eq!(first, sampler.indices(&mut StdRng::seed_from_u64(0)), "the same seed redraws the same pass");
    }

    #[test]
    fn with_replacement_draws_num_samples_uniformly() {
        let mut sampler = RandomSampler::with_replacement(4, 40_000);
        assert_eq!(sampler.len(), 40_000);
        let pass = sampler.indices(&mut StdRng::seed_from_u64(3));
        assert_eq!(pass.len(), 40_000);
        let mut counts = [0usize; 4];
        for &i in &pass {
            counts[i] += 1;
        }
        // Each index expects 10,000 draws, with a standard deviation of about 87.
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
        // More draws than samples: some repeat, which a permutation never does.
        let short = RandomSampler::with_replacement(3, 10).indices(&mut StdRng::seed_from_u64(4));
        assert_eq!(short.len(), 10);
        assert!(short.iter().all(|&i| i < 3));
    }

    #[test]
    fn checks_the_dataset_and_batch() {
        assert!(RandomSampler::with_replacement(5, 64).check(5, 32).is_ok(), "a pass may be longer than the dataset");
        assert!(matches!(RandomSampler::new(5).check(6, 2), Err(Error::Mismatch { .. })));
        let text = RandomSampler::with_replacement(100, 10).check(100, 16).unwrap_err().to_string();
        assert!(text.contains("a pass has 10 indices, fewer than one batch of 16"), "{text}");
    }
}
