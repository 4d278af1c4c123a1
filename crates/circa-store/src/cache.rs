//! Short-lived read caches a store keeps for what every API request reads first: the caller's
//! token with its user, and the project a path names; and for what every trigger reads: the
//! config at a commit (which never changes, so nothing clears it).
//!
//! An entry lives [`TTL`] at most, and every write through the same store that could change
//! what an entry says clears the whole cache at once (a token revoked, a password set, a
//! project changed), so within one process a change is seen by the next request. Writes through
//! another server replica of the same PostgreSQL database are seen as soon as its notice
//! arrives (`crate::replicas`, milliseconds), and within [`TTL`] if notices were lost. Only hits are kept: an unknown token or slug is
//! read from the database every time, so a new token or project works at once.
//!
//! A read that raced a write must not put the old row back after the write cleared the cache:
//! each cache has a generation, bumped by every clear; a reader takes the generation before it
//! reads the database and keeps its result only if the generation is still the same.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::records::{Project, TokenOwner};

/// How long an entry is trusted.
pub(crate) const TTL: Duration = Duration::from_secs(5);

/// Entries a cache holds at most; when full, expired entries go, and if none had, all go.
const MAX_ENTRIES: usize = 4096;

/// The caches of one store (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// The other server replicas of the database, told when a write clears a cache.
    pub(crate) replicas: std::sync::OnceLock<crate::replicas::Replicas>,
    /// Token hash → the token and its user. Cleared when a token is revoked or a user changed.
    pub(crate) tokens: ReadCache<TokenOwner>,
    /// Slug → project. Cleared when a project's settings or source change.
    pub(crate) projects: ReadCache<Project>,
    /// `project id/commit` → the config file at that commit.
    pub(crate) configs: ReadCache<String>,
}

impl Caches {
    /// Tokens or their users changed: forgotten here, and by the other replicas soon.
    pub(crate) fn tokens_changed(&self) {
        self.tokens.clear();
        self.announce(crate::replicas::TOKENS_CHANGED);
    }

    /// A project's settings or source changed: forgotten here, and by the other replicas soon.
    pub(crate) fn projects_changed(&self) {
        self.projects.clear();
        self.announce(crate::replicas::PROJECTS_CHANGED);
    }

    fn announce(&self, notice: &str) {
        if let Some(replicas) = self.replicas.get() {
            replicas.send(notice.to_string(), crate::replicas::Urgency::Now);
        }
    }
}

/// A map from keys to values read from the database, with a lifetime and a generation.
#[derive(Debug)]
pub(crate) struct ReadCache<V> {
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    generation: u64,
    entries: HashMap<String, (Instant, V)>,
}

impl<V: Clone> Default for ReadCache<V> {
    fn default() -> Self {
        ReadCache {
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }
}

impl<V: Clone> ReadCache<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value kept for `key` if it is younger than [`TTL`]; otherwise `None` and the
    /// generation to hand to [`ReadCache::put`] with what the database says.
    pub(crate) fn get(&self, key: &str) -> Result<V, u64> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((at, value)) if at.elapsed() < TTL => Ok(value.clone()),
            _ => Err(inner.generation),
        }
    }

    /// Keeps `value` for `key`, read from the database after [`ReadCache::get`] answered
    /// `generation`; dropped if the cache was cleared since.
    pub(crate) fn put(&self, key: &str, generation: u64, value: V) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner
            .entries
            .insert(key.to_string(), (Instant::now(), value));
    }

    /// Forgets everything, and makes reads begun before now keep nothing.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_hit_is_kept_and_a_clear_forgets_it() {
        let cache = ReadCache::<u32>::default();
        let generation = cache.get("a").unwrap_err();
        cache.put("a", generation, 1);
        assert_eq!(cache.get("a"), Ok(1));
        cache.clear();
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn a_read_begun_before_a_clear_keeps_nothing() {
        let cache = ReadCache::<u32>::default();
        let generation = cache.get("a").unwrap_err();
        cache.clear();
        cache.put("a", generation, 1);
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn a_full_cache_makes_room() {
        let cache = ReadCache::<usize>::default();
        for i in 0..MAX_ENTRIES + 10 {
            let generation = cache.get(&i.to_string()).unwrap_err();
            cache.put(&i.to_string(), generation, i);
        }
        assert!(cache.lock().entries.len() <= MAX_ENTRIES);
        let last = MAX_ENTRIES + 9;
        assert_eq!(cache.get(&last.to_string()), Ok(last));
    }
}
