use super::Sampler;
use crate::{Error, Result};
use rand::rngs::StdRng;

/// Every index of the dataset in order, `0..n`, each pass (PyTorch's `SequentialSampler`).
/// It draws nothing, so resuming a run needs no state of its own.
#[derive(Clone, Debug)]
pub struct SequentialSampler {
    len: usize,
}

impl SequentialSampler {
    /// Visits the `dataset_len` samples of a dataset in order.
    pub fn new(dataset_len: usize) -> SequentialSampler {
        SequentialSampler { len: dataset_len }
    }
}

/// The checks every sampler built from a dataset length shares: the dataset is the one it
/// was built for, and a pass holds at least one batch (the loader drops the incomplete tail,
/// so a shorter pass would give no batch at all).
pub(super) fn check_length(name: &str, built_for: usize, pass_len: usize, dataset_len: usize, batch_size: usize) -> Result<()> {
    if built_for != dataset_len {
        return Err(Error::mismatch(name, format!("the length of the dataset it samples ({dataset_len})"), format!("built for {built_for} samples")));
    }
    if pass_len < batch_size {
        return Err(Error::config(format!("{name}: a pass has {pass_len} indices, fewer than one batch of {batch_size}")));
    }
    Ok(())
}

impl Sampler for SequentialSampler {
    fn len(&self) -> usize {
        self.len
    }

    fn indices(&mut self, _rng: &mut StdRng) -> Vec<usize> {
        (0..self.len).collect()
    }

    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        check_length("SequentialSampler", self.len, self.len, dataset_len, batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_pass_is_the_dataset_in_order() {
        let mut sampler = SequentialSampler::new(7);
        assert_eq!(sampler.len(), 7);
        assert_eq!(sampler.indices(&mut StdRng::seed_from_u64(0)), vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(sampler.indices(&mut StdRng::seed_from_u64(9)), vec![0, 1, 2, 3, 4, 5, 6], "no randomness");
    }

    #[test]
    fn checks_the_dataset_and_batch() {
        let sampler = SequentialSampler::new(7);
        assert!(sampler.check(7, 7).is_ok());
        let text = sampler.check(8, 2).unwrap_err().to_string();
        assert!(text.contains("built for 7 samples"), "{text}");
        let text = sampler.check(7, 8).unwrap_err().to_string();
        assert!(text.contains("a pass has 7 indices, fewer than one batch of 8"), "{text}");
    }
}
