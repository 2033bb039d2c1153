//! Samplers: the order in which the loader visits a dataset.

mod fixed_set_of_triplets;
mod hierarchical;
mod m_per_class;
mod random;
mod sequential;
mod tuples_to_weights;

pub use fixed_set_of_triplets::FixedSetOfTriplets;
pub use hierarchical::HierarchicalSampler;
pub use m_per_class::MPerClassSampler;
pub use random::RandomSampler;
pub use sequential::SequentialSampler;
pub use tuples_to_weights::TuplesToWeightsSampler;

use crate::Result;
use rand::rngs::StdRng;

/// Produces one pass of dataset indices at a time (PyTorch's `Sampler`); the loader cuts each
/// pass into batches and drops the incomplete last one.
pub trait Sampler: Send {
    /// Indices in one pass.
    fn len(&self) -> usize;

    /// Whether a pass is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next pass.
    fn indices(&mut self, rng: &mut StdRng) -> Vec<usize>;

    /// Checks the sampler against the dataset and batch size, in `build()`.
    ///
    /// # Errors
    /// With what the sampler needs and what it was given.
    fn check(&self, _dataset_len: usize, _batch_size: usize) -> Result<()> {
        Ok(())
    }
}
