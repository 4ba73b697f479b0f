//! Object sizes the stores learnt from answers they already had, so that asking for a size right after a
//! ranged read costs no request.
//!
//! Checking a shard's index needs the shard's size ([`crate::read::shard`]). A ranged GET's answer says
//! the object's total size (`Content-Range: bytes a-b/TOTAL`, also for a suffix range), a local read
//! stats the file it opens, and a HEAD that emulates a suffix range (Azure) learns it too: the stores
//! remember it here per key, and `size_key` answers from here before asking the store. Every such answer
//! refreshes its entry, so the size a shard read checks against is the one its own index answer reported.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// The most sizes one store remembers. An entry is needed from the answer that carried a shard's index
/// to the size question that follows it in the same task; only answers arriving meanwhile can push it
/// out, and those are bounded by the requests in flight (256 by default, `maxConcurrency`). 8,192
/// entries leave a wide margin over that, let Azure's emulated suffix ranges skip their HEAD on repeated
/// reads of as many shards, and take about 2 MB with keys of ~80 bytes (each is held in the map and in
/// the eviction queue). Without a bound, a long-lived open reading millions of shards would keep every
/// key it ever read. A size pushed out costs one HEAD (or a stat) if it is asked for again.
pub const KNOWN_SIZES: usize = 8_192;

/// A bounded map of sizes by key, oldest entry out first.
#[derive(Debug)]
pub struct KnownSizes<K> {
    capacity: usize,
    inner: Mutex<Entries<K>>,
}

#[derive(Debug)]
struct Entries<K> {
    sizes: HashMap<K, u64>,
    /// Keys in the order they were first remembered, the oldest first.
    order: VecDeque<K>,
}

impl<K: Eq + Hash + Clone> Default for KnownSizes<K> {
    fn default() -> Self {
        Self::with_capacity(KNOWN_SIZES)
    }
}

impl<K: Eq + Hash + Clone> KnownSizes<K> {
    /// An empty map holding at most `capacity` sizes (at least one).
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries {
                sizes: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<K>> {
        // The map holds plain values: a panic elsewhere while it was locked leaves it consistent enough
        // (a size missing or stale by one answer).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The size last remembered for `key`.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<u64> {
        self.entries().sizes.get(key).copied()
    }

    /// Remembers that `key` holds `size` bytes, replacing what was known; the oldest entry makes room
    /// when the map is full.
    pub fn remember(&self, key: &K, size: u64) {
        let mut entries = self.entries();
        if let Some(known) = entries.sizes.get_mut(key) {
            *known = size;
            return;
        }
        while entries.order.len() >= self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.sizes.remove(&oldest);
            }
        }
        entries.order.push_back(key.clone());
        entries.sizes.insert(key.clone(), size);
    }

    /// How many sizes are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries().sizes.len()
    }

    /// Whether no size is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_latest_size_of_each_key() {
        let sizes = KnownSizes::<String>::default();
        assert_eq!(sizes.get(&"a/c/0".into()), None);
        sizes.remember(&"a/c/0".into(), 192);
        sizes.remember(&"a/c/1".into(), 64);
        assert_eq!(sizes.get(&"a/c/0".into()), Some(192));
        // A later answer replaces what an earlier one said.
        sizes.remember(&"a/c/0".into(), 200);
        assert_eq!(
            (sizes.get(&"a/c/0".into()), sizes.get(&"a/c/1".into())),
            (Some(200), Some(64))
        );
        assert_eq!(sizes.len(), 2);
    }

    #[test]
    fn holds_at_most_its_capacity_dropping_the_oldest_first() {
        let sizes = KnownSizes::with_capacity(3);
        for k in 0..3u64 {
            sizes.remember(&k, k * 10);
        }
        // Refreshing a key does not add an entry.
        sizes.remember(&0, 5);
        assert_eq!(sizes.len(), 3);
        sizes.remember(&3, 30);
        assert_eq!(sizes.len(), 3);
        assert_eq!(sizes.get(&0), None, "the oldest key made room");
        assert_eq!(
            (sizes.get(&1), sizes.get(&2), sizes.get(&3)),
            (Some(10), Some(20), Some(30))
        );
        // Many more keys than the capacity: still bounded, the newest kept.
        for k in 4..10_000u64 {
            sizes.remember(&k, k);
        }
        assert_eq!(sizes.len(), 3);
        assert_eq!(sizes.get(&9_999), Some(9_999));
        assert_eq!(sizes.get(&9_996), None);
        assert!(!sizes.is_empty());
    }

    #[test]
    fn the_default_bound_is_the_documented_one() {
        let sizes = KnownSizes::<u64>::default();
        let over = u64::try_from(KNOWN_SIZES).unwrap() + 100;
        for k in 0..over {
            sizes.remember(&k, k);
        }
        assert_eq!(sizes.len(), KNOWN_SIZES);
        assert_eq!(sizes.get(&(over - 1)), Some(over - 1));
        assert_eq!(sizes.get(&0), None);
    }
}
