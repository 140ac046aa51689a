//! Key views a filter instance has already fetched (`GET /keys/{key}`), so a key's
//! check costs a round only when the view is new or old.
//!
//! Sound because a key's `actions`, `indexes` and `expiresAt` never change after its
//! creation (`PATCH /keys` takes `name` and `description` only): a cached view can only
//! be stale about the key's deletion. A deleted key still cached reaches the nodes,
//! which refuse it alike, for at most [`KeyCache::MAX_AGE_MS`] (or until this instance
//! deletes it itself: [`KeyCache::forget`]). Expiry is judged at each use, from the
//! view's `expiresAt`. Only found keys are cached: a refused lookup is asked again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

/// One filter instance's cache (a VM is one thread: its requests share it).
pub type SharedKeys = Rc<RefCell<KeyCache>>;

#[derive(Debug, Default)]
pub struct KeyCache {
    /// By what was looked up (a key's value, or a token's `apiKeyUid`).
    views: HashMap<String, (Value, u64)>,
    /// The deletions epoch last seen: Envoy's workers each hold a cache, and a deletion
    /// through one of them bumps an epoch shared by all (see [`KeyCache::sync`]).
    epoch: u64,
    /// A key was deleted through this instance since [`KeyCache::take_forgotten`].
    forgotten: bool,
}

impl KeyCache {
    /// How long a view is trusted: the window a deleted key may still reach the nodes.
    pub const MAX_AGE_MS: u64 = 60_000;
    /// Views kept at most; the oldest goes first.
    pub const MAX_ENTRIES: usize = 1024;

    pub fn shared() -> SharedKeys {
        Rc::new(RefCell::new(KeyCache::default()))
    }

    /// The view of `lookup`, if fetched less than [`Self::MAX_AGE_MS`] before `now_ms`
    /// (never when the clock is unknown, 0).
    pub fn get(&self, lookup: &str, now_ms: u64) -> Option<Value> {
        let (view, at) = self.views.get(lookup)?;
        (now_ms != 0 && now_ms >= *at && now_ms - at < Self::MAX_AGE_MS).then(|| view.clone())
    }

    pub fn put(&mut self, lookup: &str, view: Value, now_ms: u64) {
        if now_ms == 0 {
            return;
        }
        self.views.retain(|_, (_, at)| now_ms.saturating_sub(*at) < Self::MAX_AGE_MS);
        if self.views.len() >= Self::MAX_ENTRIES && !self.views.contains_key(lookup) {
            if let Some(oldest) = self.views.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone()) {
                self.views.remove(&oldest);
            }
        }
        self.views.insert(lookup.to_string(), (view, now_ms));
    }

    /// The shared deletions epoch as it is now: a change empties this cache (some key
    /// was deleted through another instance).
    pub fn sync(&mut self, epoch: u64) {
        if epoch != self.epoch {
            self.views.clear();
            self.epoch = epoch;
        }
    }

    /// Whether a key was deleted through this instance since the last call: the host
    /// then bumps the shared epoch.
    pub fn take_forgotten(&mut self) -> bool {
        std::mem::take(&mut self.forgotten)
    }

    /// A key deleted through this instance (`DELETE /keys/{key}` names its value or uid).
    pub fn forget(&mut self, key: &str) {
        self.forgotten = true;
        self.views.retain(|lookup, (view, _)| {
            let names = |field: &str| view.get(field).and_then(Value::as_str) == Some(key);
            lookup != key && !names("key") && !names("uid")
        });
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn views_age_out_and_unknown_clocks_cache_nothing() {
        let mut cache = KeyCache::default();
        cache.put("k", json!({"key": "k"}), 1_000);
        assert!(cache.get("k", 1_000 + KeyCache::MAX_AGE_MS - 1).is_some());
        assert!(cache.get("k", 1_000 + KeyCache::MAX_AGE_MS).is_none());
        assert!(cache.get("k", 0).is_none());
        cache.put("z", json!({}), 0);
        assert!(cache.get("z", 1).is_none());
    }

    #[test]
    fn the_cache_is_bounded_oldest_first() {
        let mut cache = KeyCache::default();
        for i in 0..KeyCache::MAX_ENTRIES as u64 + 5 {
            cache.put(&format!("k{i}"), json!({}), 1_000 + i);
        }
        assert_eq!(cache.len(), KeyCache::MAX_ENTRIES);
        assert!(cache.get("k0", 3_000).is_none());
        assert!(cache.get(&format!("k{}", KeyCache::MAX_ENTRIES + 4), 3_000).is_some());
    }

    #[test]
    fn a_deleted_key_is_forgotten_by_value_or_uid() {
        let mut cache = KeyCache::default();
        cache.put("v1", json!({"key": "v1", "uid": "u1"}), 10);
        cache.put("u2", json!({"key": "v2", "uid": "u2"}), 10);
        cache.put("v3", json!({"key": "v3", "uid": "u3"}), 10);
        cache.forget("u1");
        cache.forget("v2");
        assert!(cache.get("v1", 11).is_none());
        assert!(cache.get("u2", 11).is_none());
        assert!(cache.get("v3", 11).is_some());
        assert!(cache.take_forgotten());
        assert!(!cache.take_forgotten());
    }

    #[test]
    fn a_deletion_elsewhere_empties_the_cache() {
        let mut cache = KeyCache::default();
        cache.put("v1", json!({"key": "v1"}), 10);
        cache.sync(0);
        assert!(cache.get("v1", 11).is_some());
        cache.sync(1);
        assert!(cache.get("v1", 11).is_none());
    }
}
