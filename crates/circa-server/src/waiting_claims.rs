//! Claims waiting for work, by runner token and the id the runner gave each, so that a runner
//! can add the slots it frees to the claim already waiting (`POST /claims/grow`) instead of
//! sending another: a fan-out then reaches it in one answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use circa_model::protocol::CLAIM_MAX_TASKS;

use crate::registry::Registry;

/// A claim's key: the runner token's id and the claim's id.
type Key = (String, String);

/// The claims waiting now that can grow.
#[derive(Debug, Default)]
pub struct WaitingClaims {
    map: Registry<Key, Arc<AtomicU32>>,
}

/// A claim while it is handled: how many tasks it may take now. It is forgotten when dropped.
#[derive(Debug)]
pub struct Registered {
    claims: Arc<WaitingClaims>,
    key: Option<Key>,
    max: Arc<AtomicU32>,
}

impl Registered {
    /// The most tasks the claim may take now.
    pub fn max(&self) -> u32 {
        self.max.load(Ordering::Acquire)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut map = self.claims.lock();
            if map.get(&key).is_some_and(|m| Arc::ptr_eq(m, &self.max)) {
                map.remove(&key);
            }
        }
    }
}

impl WaitingClaims {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Key, Arc<AtomicU32>>> {
        self.map.lock()
    }

    /// Registers the claim `id` of runner token `owner` for `max` tasks. A claim without an
    /// id, or with one its token already has waiting, is handled all the same but cannot
    /// grow. (The runner API checks the id's length.)
    pub fn register(self: &Arc<Self>, owner: &str, id: Option<&str>, max: u32) -> Registered {
        let max = Arc::new(AtomicU32::new(max.min(CLAIM_MAX_TASKS)));
        let key = id
            .map(|id| (owner.to_string(), id.to_string()))
            .filter(|key| {
                let mut map = self.lock();
                if map.contains_key(key) {
                    return false;
                }
                map.insert(key.clone(), Arc::clone(&max));
                true
            });
        Registered {
            claims: Arc::clone(self),
            key,
            max,
        }
    }

    /// Adds `slots` to the waiting claim `id` of runner token `owner` (never past
    /// [`CLAIM_MAX_TASKS`]); its most tasks now, or `None` when no such claim waits.
    pub fn grow(&self, owner: &str, id: &str, slots: u32) -> Option<u32> {
        let map = self.lock();
        let max = map.get(&(owner.to_string(), id.to_string()))?;
        let grow = |m: u32| m.saturating_add(slots).min(CLAIM_MAX_TASKS);
        let before = max
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| Some(grow(m)))
            .unwrap_or_else(|m| m);
        Some(grow(before))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_claim_grows_until_it_is_dropped() {
        let claims = Arc::new(WaitingClaims::default());
        let claim = claims.register("tok", Some("c1"), 3);
        assert_eq!(claim.max(), 3);
        assert_eq!(claims.grow("tok", "c1", 2), Some(5));
        assert_eq!(claim.max(), 5);
        drop(claim);
        assert_eq!(claims.grow("tok", "c1", 1), None);
        assert!(claims.lock().is_empty());
    }

    #[test]
    fn only_the_claims_own_token_grows_it() {
        let claims = Arc::new(WaitingClaims::default());
        let claim = claims.register("tok", Some("c1"), 1);
        assert_eq!(claims.grow("other", "c1", 5), None);
        assert_eq!(claim.max(), 1);
    }

    #[test]
    fn growth_stops_at_the_most_one_claim_takes() {
        let claims = Arc::new(WaitingClaims::default());
        let claim = claims.register("tok", Some("c1"), CLAIM_MAX_TASKS - 1);
        assert_eq!(claims.grow("tok", "c1", 10), Some(CLAIM_MAX_TASKS));
        assert_eq!(claim.max(), CLAIM_MAX_TASKS);
    }

    #[test]
    fn claims_without_a_usable_id_do_not_grow() {
        let claims = Arc::new(WaitingClaims::default());
        let a = claims.register("tok", None, 2);
        let first = claims.register("tok", Some("same"), 2);
        let second = claims.register("tok", Some("same"), 4);
        assert_eq!(claims.lock().len(), 1);
        // The id stays the first claim's: the second cannot take its growth.
        assert_eq!(claims.grow("tok", "same", 1), Some(3));
        assert_eq!((a.max(), first.max(), second.max()), (2, 3, 4));
        drop(second);
        assert_eq!(claims.grow("tok", "same", 1), Some(4));
    }
}
