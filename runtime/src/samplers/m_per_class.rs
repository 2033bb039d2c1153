use super::Sampler;
use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::{index::sample, SliceRandom};
use std::collections::BTreeMap;

/// `m` samples of each class in turn, classes in a random order (PML's `MPerClassSampler`).
/// Each pass has `length_before_new_iter` indices, rounded down to whole rounds of
/// `m * classes` (or of `batch_size`, when given: then each batch holds `batch_size / m`
/// classes).
#[derive(Clone, Debug)]
pub struct MPerClassSampler {
    by_class: Vec<(i64, Vec<usize>)>,
    /// How many labels it was built on: the dataset must have as many samples.
    labels: usize,
    m: usize,
    batch_size: Option<usize>,
    length_before_new_iter: usize,
}

impl MPerClassSampler {
    /// `m` per class, over the dataset whose labels these are; PML's default pass length of 100,000.
    pub fn new(labels: &[i64], m: usize) -> MPerClassSampler {
        let mut by_class: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (index, &label) in labels.iter().enumerate() {
            by_class.entry(label).or_default().push(index);
        }
        MPerClassSampler { by_class: by_class.into_iter().collect(), labels: labels.len(), m, batch_size: None, length_before_new_iter: 100_000 }
    }

    /// Make every batch of this size hold `batch_size / m` whole classes.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Indices per pass before a new pass starts (PML rounds it down as described above).
    pub fn length_before_new_iter(mut self, length: usize) -> Self {
        self.length_before_new_iter = length;
        self
    }

    fn single_round(&self) -> usize {
        self.m * self.by_class.len()
    }

    fn list_size(&self) -> usize {
        let size = self.length_before_new_iter;
        match self.batch_size {
            // m = 0 is refused by `check`; until then, no rounding by zero.
            None if self.single_round() == 0 => size,
            None if self.single_round() < size => size - size % self.single_round(),
            None => size,
            Some(b) => size - size % b.max(1),
        }
    }

    fn rounds(&self) -> usize {
        let divisor = self.batch_size.unwrap_or_else(|| self.single_round()).max(1);
        let size = self.list_size();
        if divisor < size { size / divisor } else { 1 }
    }
}

impl Sampler for MPerClassSampler {
    fn len(&self) -> usize {
        self.list_size()
    }

    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize> {
        let classes_per_round = self.batch_size.map_or(self.by_class.len(), |b| b / self.m);
        let mut order: Vec<usize> = (0..self.by_class.len()).collect();
        let mut indices = Vec::with_capacity(self.rounds() * classes_per_round * self.m);
        for _ in 0..self.rounds() {
            order.shuffle(rng);
            for &class in order.iter().take(classes_per_round) {
                let members = &self.by_class[class].1;
                indices.extend(sample(rng, members.len(), self.m).into_iter().map(|i| members[i]));
            }
        }
        indices
    }

    /// PML draws with replacement from a class smaller than `m`; we refuse it, because the
    /// batch would hold copies of one sample as "positives" of each other.
    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        if self.m == 0 {
            return Err(Error::mismatch("MPerClassSampler", "m of at least 1 sample per class", "m = 0"));
        }
        if self.labels != dataset_len {
            return Err(Error::mismatch(
                "MPerClassSampler",
                format!("labels of the dataset it samples, one per sample ({dataset_len})"),
                format!("{} labels", self.labels),
            ));
        }
        if let Some((label, members)) = self.by_class.iter().find(|(_, members)| members.len() < self.m) {
            return Err(Error::config(format!(
                "MPerClassSampler: m = {} samples per class, but class {label} has only {}",
                self.m,
                members.len()
            )));
        }
        if let Some(b) = self.batch_size {
            if b != batch_size {
                return Err(Error::config(format!("MPerClassSampler: built for batch size {b}, but the trainer's batch size is {batch_size}")));
            }
            if self.single_round() < b {
                return Err(Error::config(format!(
                    "MPerClassSampler: m * classes = {} * {} = {} must be at least the batch size {b}",
                    self.m,
                    self.by_class.len(),
                    self.single_round()
                )));
            }
            if b % self.m != 0 {
                return Err(Error::config(format!("MPerClassSampler: m = {} must divide the batch size {b}", self.m)));
            }
        }
        if self.len() < batch_size {
            return Err(Error::config(format!(
                "MPerClassSampler: a pass has {} indices, fewer than one batch of {batch_size}; raise length_before_new_iter",
                self.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn labels() -> Vec<i64> {
        // Classes 0..5 with 10 samples each, interleaved.
        (0..50).map(|i| i % 5).collect()
    }

    #[test]
    fn each_round_holds_m_of_every_class() {
        let mut sampler = MPerClassSampler::new(&labels(), 4).length_before_new_iter(100);
        assert_eq!(sampler.len(), 100, "a multiple of m * classes = 20 already");
        let pass = sampler.indices(&mut StdRng::seed_from_u64(0));
        assert_eq!(pass.len(), 100);
        let all = labels();
        for round in pass.chunks(20) {
            for class_block in round.chunks(4) {
                let class = all[class_block[0]];
                assert!(class_block.iter().all(|&i| all[i] == class), "{round:?}");
                let mut distinct = class_block.to_vec();
                distinct.sort_unstable();
                distinct.dedup();
                assert_eq!(distinct.len(), 4, "drawn without replacement");
            }
        }
    }

    #[test]
    fn pml_rounds_the_pass_length() {
        // Without a batch size: down to a multiple of m * classes.
        assert_eq!(MPerClassSampler::new(&labels(), 4).length_before_new_iter(110).len(), 100);
        // With one: down to a multiple of the batch size, and each batch holds batch / m classes.
        let mut sampler = MPerClassSampler::new(&labels(), 4).batch_size(8).length_before_new_iter(30);
        assert_eq!(sampler.len(), 24);
        let pass = sampler.indices(&mut StdRng::seed_from_u64(1));
        let all = labels();
        for batch in pass.chunks(8) {
            let mut classes: Vec<i64> = batch.iter().map(|&i| all[i]).collect();
            classes.dedup();
            assert_eq!(classes.len(), 2, "{batch:?}");
        }
        // Pass shorter than one round: one round, as PML does.
        assert_eq!(MPerClassSampler::new(&labels(), 4).length_before_new_iter(10).indices(&mut StdRng::seed_from_u64(2)).len(), 20);
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let sampler = MPerClassSampler::new(&labels(), 4).batch_size(10);
        let text = sampler.check(50, 10).unwrap_err().to_string();
        assert!(matches!(MPerClassSampler::new(&labels(), 0).check(50, 10), Err(Error::Mismatch { .. })));
        let text_len = MPerClassSampler::new(&labels(), 4).check(60, 20).unwrap_err().to_string();
        assert!(text_len.contains("found 50 labels"), "{text_len}");
        assert!(text.contains("m = 4 must divide the batch size 10"), "{text}");
        let text = MPerClassSampler::new(&labels(), 4).batch_size(8).check(50, 16).unwrap_err().to_string();
        assert!(text.contains("built for batch size 8, but the trainer's batch size is 16"), "{text}");
    }
}
