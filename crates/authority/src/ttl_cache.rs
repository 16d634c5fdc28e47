//! A small read-through cache whose entries live for a fixed, short time. Used for rows that
//! every request reads (tokens, roles): a change made on this node drops the entry at once; a
//! change made on another node is seen within the TTL.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

const MAX_ENTRIES: usize = 10_000;

pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        TtlCache { ttl, entries: RwLock::new(HashMap::new()) }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub(crate) fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub(crate) fn forget(&self, key: &K) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub(crate) fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let cache = TtlCache::new(Duration::from_millis(50));
        cache.put("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.forget(&"a");
        assert_eq!(cache.get(&"a"), None);
        cache.put("b", 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&"b"), None);
    }
}
