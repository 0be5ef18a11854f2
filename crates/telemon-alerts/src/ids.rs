//! Ids: the per-process seed behind occurrence ids, worker ids and retry jitter, and the
//! mixer that turns a seed and a counter into well-spread 64-bit values.

use std::hash::{BuildHasher, RandomState};

/// Seed of occurrence ids, worker ids and retry jitter: different per process and run.
pub(crate) fn new_seed() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

/// SplitMix64's finaliser: a bijection on `u64` that spreads every input bit.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_spreads_neighbours() {
        assert_ne!(splitmix(0), splitmix(1));
        assert!((splitmix(1) ^ splitmix(2)).count_ones() > 16);
    }
}
