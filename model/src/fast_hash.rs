//! A fast, non-cryptographic hasher for in-memory maps keyed by paths and file names that the
//! traced run or the checker produced (the lowering's dedup sets, the live snapshot): the FxHash
//! mixing step (rustc's), one multiply per word. Not resistant to deliberate collisions, which
//! only the user's own file names could cause, and then only slowly.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` hashed with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// The FxHash state.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    /// Mixes one word into the state.
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply carries low input bits up but never down: the map indexes by the low
        // bits, so fold the high bits down (splitmix64's finalizer) or "f000001", "f000002"...
        // would all share their low bits.
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_hash_apart_and_the_map_works() {
        let mut m: FastMap<Box<[u8]>, u32> = FastMap::default();
        for i in 0..10_000u32 {
            m.insert(format!("f{i:06}").into_bytes().into(), i);
        }
        assert_eq!(m.len(), 10_000);
        assert!((0..10_000u32).all(|i| m.get(format!("f{i:06}").as_bytes()) == Some(&i)));
        let h = |b: &[u8]| {
            let mut s = FastHasher::default();
            s.write(b);
            s.finish()
        };
        assert_ne!(h(b"a"), h(b"b"));
        assert_ne!(h(b"abcdefgh1"), h(b"abcdefgh2"));
        // Names that differ only in their last bytes must differ in the low bits the map
        // indexes by (random hashes would fill about 630 of 1 024 buckets).
        let buckets: std::collections::HashSet<u64> =
            (0..1000u32).map(|i| h(format!("f{i:06}").as_bytes()) & 1023).collect();
        assert!(buckets.len() > 500, "only {} buckets used", buckets.len());
    }
}
