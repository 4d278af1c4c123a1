//! [`Registry`]: a map shared by handlers and tasks, keyed by an id (a workflow's lock, a
//! task's live channel, a waiting claim). Every in-memory keyed table of the server is one.
//!
//! The lock is held only for map operations, never across an `.await`, so a plain mutex
//! serves; a panic while it was held leaves the map as it was, so a poisoned lock is taken
//! over rather than propagated (the map's invariants are those of each single operation).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// A keyed map behind one mutex.
#[derive(Debug)]
pub struct Registry<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Registry<K, V> {
    fn default() -> Self {
        Registry {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V> Registry<K, V> {
    /// The map, locked. Keep the guard for map operations only (never across an `.await`).
    pub fn lock(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the value of `key`, made with `V::default()` first when absent.
    pub fn with_entry<T>(&self, key: K, f: impl FnOnce(&mut V) -> T) -> T
    where
        V: Default,
    {
        f(self.lock().entry(key).or_default())
    }

    /// Takes `key`'s value out.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key)
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    #[test]
    fn entries_are_made_on_first_use_and_removed() {
        let registry: Registry<String, Vec<u32>> = Registry::default();
        registry.with_entry("a".to_string(), |v| v.push(1));
        registry.with_entry("a".to_string(), |v| v.push(2));
        assert_eq!(registry.len(), 1);
        assert_eq!(registry.remove("a"), Some(vec![1, 2]));
        assert!(registry.is_empty());
    }

    #[test]
    fn a_panic_under_the_lock_does_not_take_the_map_down() {
        let registry: Arc<Registry<u32, u32>> = Arc::default();
        registry.lock().insert(1, 10);
        let held = Arc::clone(&registry);
        let outcome = std::thread::spawn(move || {
            let _guard = held.lock();
            panic!("a handler failed while it held the map");
        })
        .join();
        assert!(outcome.is_err());
        assert_eq!(registry.lock().get(&1), Some(&10));
        registry.with_entry(2, |v| *v = 20);
        assert_eq!(registry.len(), 2);
    }
}
