use super::Sampler;
use crate::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::{index::sample, SliceRandom};
use std::collections::BTreeMap;

/// Batches of a few super-classes each (PML's `HierarchicalSampler`): for every combination
/// of `super_classes_per_batch` super-classes, `batches_per_super_tuple` batches, each
/// holding `batch_size / super_classes_per_batch` samples of each of its super-classes, made
/// of `samples_per_class` samples of as many of the super-class's classes (chosen at random)
/// as fit. A pass is every batch of every combination, the batches and the samples within
/// each batch in a random order.
///
/// PML yields batches itself (a `BatchSampler`); here a pass is the batches one after the
/// other, which the loader cuts back into the same batches because `check` holds it to this
/// batch size and every batch is full. Each pass is drawn from the generator the loader seeds
/// per pass, so a resumed run redraws it without state of the sampler's own.
#[derive(Clone, Debug)]
pub struct HierarchicalSampler {
    /// Per super-class, in label order: the members of each of its classes, in label order.
    supers: Vec<(i64, Vec<(i64, Vec<usize>)>)>,
    /// How many samples it was built on: the dataset must have as many.
    labels: usize,
    batch_size: usize,
    samples_per_class: usize,
    batches_per_super_tuple: usize,
    super_classes_per_batch: usize,
}

impl HierarchicalSampler {
    /// Over the dataset whose labels these are: one row per sample, column `inner_label`
    /// holding its class and column `outer_label` its super-class (PML's 2-D `labels`; PML's
    /// `nb_categories` is `super_classes_per_batch`, 2 there by default).
    ///
    /// PML takes `samples_per_class = 0` for "every sample of a class"; batches would then not
    /// all have `batch_size` samples and the loader could not cut the pass back into them, so
    /// `check` refuses it, as it refuses a class with fewer than `samples_per_class` samples.
    ///
    /// # Errors
    /// When a row has no column `inner_label` or `outer_label`.
    pub fn new(
        labels: &[Vec<i64>],
        batch_size: usize,
        samples_per_class: usize,
        batches_per_super_tuple: usize,
        super_classes_per_batch: usize,
        inner_label: usize,
        outer_label: usize,
    ) -> Result<HierarchicalSampler> {
        let mut by_super: BTreeMap<i64, BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
        for (index, row) in labels.iter().enumerate() {
            let (Some(&class), Some(&super_class)) = (row.get(inner_label), row.get(outer_label)) else {
                return Err(Error::mismatch(
                    "HierarchicalSampler",
                    format!("label rows with columns inner_label = {inner_label} and outer_label = {outer_label}"),
                    format!("row {index} of {} labels", row.len()),
                ));
            };
            by_super.entry(super_class).or_default().entry(class).or_default().push(index);
        }
        let supers = by_super.into_iter().map(|(label, classes)| (label, classes.into_iter().collect())).collect();
        Ok(HierarchicalSampler {
            supers,
            labels: labels.len(),
            batch_size,
            samples_per_class,
            batches_per_super_tuple,
            super_classes_per_batch,
        })
    }

    /// Samples of each super-class in a batch.
    fn sub_batch_len(&self) -> usize {
        self.batch_size / self.super_classes_per_batch.max(1)
    }

    /// Batches in a pass: combinations of super-classes times batches per combination
    /// (saturating, so that an absurd configuration is refused by `check`, not overflowed).
    pub fn batches(&self) -> usize {
        binomial(self.supers.len(), self.super_classes_per_batch).saturating_mul(self.batches_per_super_tuple)
    }

    /// One batch of the super-classes at these positions of `supers`.
    fn batch(&self, tuple: &[usize], rng: &mut StdRng) -> Vec<usize> {
        let sub_batch_len = self.sub_batch_len();
        let mut batch = Vec::with_capacity(self.batch_size);
        for &s in tuple {
            let classes = &self.supers[s].1;
            let mut order: Vec<usize> = (0..classes.len()).collect();
            order.shuffle(rng);
            let mut taken = 0;
            // As PML: classes in a random order, each added whole if it still fits. With the
            // sizes `check` enforces, the first sub_batch_len / samples_per_class fill it.
            for c in order {
                let members = &classes[c].1;
                let count = members.len().min(self.samples_per_class);
                if taken + count > sub_batch_len {
                    continue;
                }
                batch.extend(sample(rng, members.len(), count).into_iter().map(|i| members[i]));
                taken += count;
            }
        }
        batch.shuffle(rng);
        batch
    }
}

/// `n` choose `k`, saturating at `usize::MAX`.
fn binomial(n: usize, k: usize) -> usize {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut result: u128 = 1;
    for i in 0..k {
        // Exact at each step: the product of i + 1 consecutive numbers is divisible by (i + 1)!.
        result = result * (n - i) as u128 / (i + 1) as u128;
        if result > usize::MAX as u128 {
            return usize::MAX;
        }
    }
    result as usize
}

/// The next `k`-combination of `0..n` after `tuple`, in lexicographic order; `false` after the last.
fn next_combination(tuple: &mut [usize], n: usize) -> bool {
    let k = tuple.len();
    let Some(i) = (0..k).rev().find(|&i| tuple[i] < n - k + i) else {
        return false;
    };
    tuple[i] += 1;
    for j in i + 1..k {
        tuple[j] = tuple[j - 1] + 1;
    }
    true
}

impl Sampler for HierarchicalSampler {
    fn len(&self) -> usize {
        self.batches().saturating_mul(self.batch_size)
    }

    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize> {
        let (n, k) = (self.supers.len(), self.super_classes_per_batch);
        let mut batches = Vec::new();
        // k = 0 or too few super-classes is refused by `check`; until then, no batch.
        if k == 0 || k > n {
            return Vec::new();
        }
        let mut tuple: Vec<usize> = (0..k).collect();
        loop {
            for _ in 0..self.batches_per_super_tuple {
                batches.push(self.batch(&tuple, rng));
            }
            if !next_combination(&mut tuple, n) {
                break;
            }
        }
        batches.shuffle(rng);
        batches.into_iter().flatten().collect()
    }

    fn check(&self, dataset_len: usize, batch_size: usize) -> Result<()> {
        let name = "HierarchicalSampler";
        if self.labels != dataset_len {
            return Err(Error::mismatch(name, format!("labels of the dataset it samples, one row per sample ({dataset_len})"), format!("{} rows", self.labels)));
        }
        if self.batch_size != batch_size {
            return Err(Error::config(format!("{name}: built for batch size {}, but the trainer's batch size is {batch_size}", self.batch_size)));
        }
        if self.samples_per_class == 0 {
            return Err(Error::mismatch(name, "samples_per_class of at least 1 (every batch must be full)", "samples_per_class = 0"));
        }
        if self.batches_per_super_tuple == 0 {
            return Err(Error::mismatch(name, "batches_per_super_tuple of at least 1", "batches_per_super_tuple = 0"));
        }
        let k = self.super_classes_per_batch;
        if k == 0 || k > self.supers.len() {
            return Err(Error::mismatch(
                name,
                format!("super_classes_per_batch between 1 and the number of super-classes ({})", self.supers.len()),
                format!("super_classes_per_batch = {k}"),
            ));
        }
        if batch_size == 0 || batch_size % k != 0 {
            return Err(Error::config(format!("{name}: the batch size {batch_size} must be a positive multiple of super_classes_per_batch = {k}")));
        }
        let sub_batch_len = self.sub_batch_len();
        if sub_batch_len % self.samples_per_class != 0 {
            return Err(Error::config(format!(
                "{name}: each super-class's share of a batch, {batch_size} / {k} = {sub_batch_len}, must be a multiple of samples_per_class = {}",
                self.samples_per_class
            )));
        }
        let classes_needed = sub_batch_len / self.samples_per_class;
        for (super_label, classes) in &self.supers {
            if let Some((label, members)) = classes.iter().find(|(_, members)| members.len() < self.samples_per_class) {
                return Err(Error::data(format!(
                    "{name}: samples_per_class = {}, but class {label} (super-class {super_label}) has only {}",
                    self.samples_per_class,
                    members.len()
                )));
            }
            if classes.len() < classes_needed {
                return Err(Error::data(format!(
                    "{name}: a batch needs {classes_needed} classes of each of its super-classes ({sub_batch_len} samples, {} per class), but super-class {super_label} has {}",
                    self.samples_per_class,
                    classes.len()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::{BTreeSet, HashMap};

    /// 6 super-classes of 5 classes each (class c is in super-class c / 5), 8 samples per class,
    /// interleaved; rows are (class, super-class).
    fn labels() -> Vec<Vec<i64>> {
        (0..240).map(|i| vec![i % 30, (i % 30) / 5]).collect()
    }

    fn sampler(labels: &[Vec<i64>]) -> HierarchicalSampler {
        HierarchicalSampler::new(labels, 20, 5, 3, 2, 0, 1).unwrap()
    }

    #[test]
    fn batches_hold_whole_classes_of_a_few_super_classes() {
        let labels = labels();
        let mut sampler = sampler(&labels);
        assert!(sampler.check(240, 20).is_ok());
        // PML: batches_per_super_pair x (super-classes choose 2) batches.
        assert_eq!(sampler.batches(), 3 * 15);
        assert_eq!(sampler.len(), 3 * 15 * 20);
        let pass = sampler.indices(&mut StdRng::seed_from_u64(0));
        assert_eq!(pass.len(), sampler.len());
        let mut tuples: HashMap<BTreeSet<i64>, usize> = HashMap::new();
        for batch in pass.chunks(20) {
            let (mut classes, mut supers) = (HashMap::new(), HashMap::new());
            for &i in batch {
                *classes.entry(labels[i][0]).or_insert(0) += 1;
                *supers.entry(labels[i][1]).or_insert(0) += 1;
            }
            assert_eq!(supers.len(), 2, "{batch:?}");
            assert!(supers.values().all(|&n| n == 10), "each super-class its share: {supers:?}");
            assert!(classes.values().all(|&n| n == 5), "each class samples_per_class samples: {classes:?}");
            assert_eq!(batch.iter().collect::<BTreeSet<_>>().len(), 20, "no sample twice");
            *tuples.entry(supers.keys().copied().collect()).or_insert(0) += 1;
        }
        assert_eq!(tuples.len(), 15, "every pair of super-classes");
        assert!(tuples.values().all(|&n| n == 3), "batches_per_super_tuple batches each: {tuples:?}");
        assert_ne!(pass, sampler.indices(&mut StdRng::seed_from_u64(1)), "each pass its own draw");
    }

    #[test]
    fn three_super_classes_per_batch() {
        let labels = labels();
        let mut sampler = HierarchicalSampler::new(&labels, 30, 5, 1, 3, 0, 1).unwrap();
        assert!(sampler.check(240, 30).is_ok());
        assert_eq!(sampler.len(), 20 * 30, "6 choose 3 = 20 batches");
        for batch in sampler.indices(&mut StdRng::seed_from_u64(2)).chunks(30) {
            let supers: BTreeSet<i64> = batch.iter().map(|&i| labels[i][1]).collect();
            assert_eq!(supers.len(), 3);
        }
    }

    #[test]
    fn combinations_and_binomials_agree() {
        let mut tuple = vec![0, 1];
        let mut count = 1;
        while next_combination(&mut tuple, 5) {
            assert!(tuple[0] < tuple[1] && tuple[1] < 5);
            count += 1;
        }
        assert_eq!(count, binomial(5, 2));
        assert_eq!(binomial(12, 2), 66);
        assert_eq!(binomial(3, 4), 0);
        assert_eq!(binomial(1000, 500), usize::MAX, "saturates");
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let labels = labels();
        let text = sampler(&labels).check(240, 40).unwrap_err().to_string();
        assert!(text.contains("built for batch size 20, but the trainer's batch size is 40"), "{text}");
        assert!(matches!(sampler(&labels).check(100, 20), Err(Error::Mismatch { .. })));
        let check = |batch, per_class, supers_per_batch| {
            HierarchicalSampler::new(&labels, batch, per_class, 1, supers_per_batch, 0, 1).unwrap().check(240, batch).unwrap_err().to_string()
        };
        assert!(check(21, 5, 2).contains("must be a positive multiple of super_classes_per_batch = 2"));
        assert!(check(20, 3, 2).contains("20 / 2 = 10, must be a multiple of samples_per_class = 3"));
        assert!(check(20, 10, 2).contains("class 0 (super-class 0) has only 8"));
        assert!(check(60, 5, 2).contains("needs 6 classes of each of its super-classes"));
        assert!(check(20, 0, 2).contains("samples_per_class = 0"));
        assert!(check(20, 5, 7).contains("super_classes_per_batch = 7"));
        let text = HierarchicalSampler::new(&[vec![1]], 2, 1, 1, 1, 0, 1).unwrap_err().to_string();
        assert!(text.contains("row 0 of 1 labels"), "{text}");
    }
}
