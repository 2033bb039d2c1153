//! Derived seeds: every random stream of a run (each pass of the loader, each iteration's
//! libtorch generator) is seeded from the run's seed and its position, so that a resumed run
//! draws what the uninterrupted run drew without saving any generator's state.

/// The random streams a run derives from its seed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    /// One pass of the loader over the dataset.
    Pass = 1,
    /// libtorch's generator for one iteration (dropout, random miners, DAML's triplet draws).
    Iteration = 2,
    /// A step's own draws in one iteration (`Iteration::seed`).
    Step = 3,
    /// The loader's augmentation of one batch (the same whichever worker fetches it).
    Augment = 4,
}

/// A seed for position `index` of `stream` in the run seeded with `seed` (SplitMix64's
/// finaliser over the three, so that nearby positions give unrelated seeds).
pub(crate) fn mix(seed: u64, stream: Stream, index: u64) -> u64 {
    let mut z = seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_positions_differ() {
        let seeds = [mix(0, Stream::Pass, 0), mix(0, Stream::Pass, 1), mix(0, Stream::Iteration, 0), mix(1, Stream::Pass, 0)];
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(mix(7, Stream::Iteration, 3), mix(7, Stream::Iteration, 3));
    }
}
