//! Answers of a public, read-mostly list (the catalogue search), kept for a moment in this
//! process: a burst of shoppers asking the same thing costs Postgres one query.
//!
//! Not state: losing it changes nothing but speed. Every write in this process clears it once
//! committed (a generation counter, so a read that began before the write never stores what it
//! read); another replica's writes show here after at most the time to live. Memory is bounded
//! by a byte budget.
//!
//! An answer in the second half of its life is refreshed ahead of time: the first request to
//! see it there still gets it, and runs the query again in the background ([`Lookup::Refresh`],
//! once per answer). Under steady demand an answer is replaced before it expires, so no
//! request waits for the query, and the staleness bound stays the time to live.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The budget of all kept answers together.
const BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// Larger answers are not kept: a few of them would push everything else out.
const MAX_ENTRY_BYTES: usize = BUDGET_BYTES / 16;

pub struct PageCache<K, V> {
    ttl: Duration,
    generation: AtomicU64,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    bytes: usize,
}

struct Entry<V> {
    stored_at: Instant,
    generation: u64,
    bytes: usize,
    value: V,
    /// A caller has been told to refresh it.
    refreshing: bool,
}

/// What the cache has for a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<V> {
    /// A kept answer, in the first half of its life.
    Fresh(V),
    /// A kept answer in the second half of its life, and this caller is the one to refresh it:
    /// answer with it, and run the query again in the background.
    Refresh(V),
    /// Nothing live: run the query.
    Miss,
}

impl<K, V> std::fmt::Debug for PageCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash, V: Clone> PageCache<K, V> {
    /// A cache whose answers live `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    /// Read before the query whose answer may be stored with [`PageCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn lookup(&self, key: &K) -> Lookup<V> {
        self.lookup_at(key, Instant::now())
    }

    /// [`PageCache::lookup`] at the instant `now`.
    fn lookup_at(&self, key: &K, now: Instant) -> Lookup<V> {
        if self.ttl.is_zero() {
            return Lookup::Miss;
        }
        let current = self.generation();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = inner.entries.get_mut(key) else {
            return Lookup::Miss;
        };
        let age = now.saturating_duration_since(entry.stored_at);
        if entry.generation != current || age >= self.ttl {
            return Lookup::Miss;
        }
        if age >= self.ttl / 2 && !entry.refreshing {
            entry.refreshing = true;
            return Lookup::Refresh(entry.value.clone());
        }
        Lookup::Fresh(entry.value.clone())
    }

    /// Keeps `value` (about `bytes` large), read by a query that began at `generation`; nothing
    /// is kept when a write has been committed since.
    pub fn put(&self, key: K, value: V, bytes: usize, generation: u64) {
        if self.ttl.is_zero() || bytes > MAX_ENTRY_BYTES {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if generation != self.generation() {
            return;
        }
        if inner.bytes + bytes > BUDGET_BYTES {
            let ttl = self.ttl;
            inner
                .entries
                .retain(|_, e| e.generation == generation && e.stored_at.elapsed() < ttl);
            inner.bytes = inner.entries.values().map(|e| e.bytes).sum();
            if inner.bytes + bytes > BUDGET_BYTES {
                inner.entries.clear();
                inner.bytes = 0;
            }
        }
        let entry = Entry {
            stored_at: Instant::now(),
            generation,
            bytes,
            value,
            refreshing: false,
        };
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
    }

    /// Forgets every answer; call it after a write commits.
    pub fn invalidate(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        inner.entries.clear();
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_until_a_write_or_their_time_is_up() {
        let cache = PageCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put("tea", 1, 10, g);
        assert_eq!(cache.lookup(&"tea"), Lookup::Fresh(1));
        assert_eq!(cache.lookup(&"coffee"), Lookup::Miss);
        cache.invalidate();
        assert_eq!(cache.lookup(&"tea"), Lookup::Miss);

        cache.put("tea", 1, 10, cache.generation());
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(cache.lookup_at(&"tea", later), Lookup::Miss);
    }

    #[test]
    fn one_caller_refreshes_an_answer_in_the_second_half_of_its_life() {
        let cache = PageCache::new(Duration::from_secs(60));
        cache.put("tea", 1, 10, cache.generation());
        let half = Instant::now() + Duration::from_secs(30);
        assert_eq!(cache.lookup_at(&"tea", half), Lookup::Refresh(1));
        // The others keep getting the kept answer meanwhile, and none is asked again.
        assert_eq!(cache.lookup_at(&"tea", half), Lookup::Fresh(1));
        // The refreshed answer starts a life of its own.
        cache.put("tea", 2, 10, cache.generation());
        assert_eq!(cache.lookup(&"tea"), Lookup::Fresh(2));
        let its_half = Instant::now() + Duration::from_secs(30);
        assert_eq!(cache.lookup_at(&"tea", its_half), Lookup::Refresh(2));
        // A refresh that never came back leaves the answer to expire as any other.
        let expired = Instant::now() + Duration::from_secs(61);
        assert_eq!(cache.lookup_at(&"tea", expired), Lookup::Miss);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = PageCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate(); // a write commits while the read runs
        cache.put("tea", "stale", 10, before);
        assert_eq!(cache.lookup(&"tea"), Lookup::Miss);
    }

    #[test]
    fn memory_stays_within_the_budget() {
        let cache = PageCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put(0, 0, MAX_ENTRY_BYTES + 1, g);
        assert_eq!(cache.lookup(&0), Lookup::Miss, "too large to keep");
        for key in 0..100 {
            cache.put(key, key, MAX_ENTRY_BYTES, g);
            let inner = cache.inner.lock().expect("lock");
            assert!(inner.bytes <= BUDGET_BYTES);
        }
        assert_eq!(cache.lookup(&99), Lookup::Fresh(99));
        let off = PageCache::new(Duration::ZERO);
        off.put(1, 1, 1, off.generation());
        assert_eq!(off.lookup(&1), Lookup::Miss);
    }
}
