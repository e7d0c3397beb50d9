//! A map that keeps what it is given up to a number of entries and a total weight (bytes),
//! forgetting the oldest first. Shared by the caches of GraphQL documents: the parsed ones
//! (`graphql::parsed`) and the persisted queries an instance learned (`http::graphql::persisted`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Entries by key, at most `max_entries` and `max_weight` in all, first in first out.
pub struct FifoMap<V> {
    by_key: HashMap<Arc<str>, (V, usize)>,
    order: VecDeque<Arc<str>>,
    weight: usize,
    max_entries: usize,
    max_weight: usize,
}

impl<V> FifoMap<V> {
    pub fn new(max_entries: usize, max_weight: usize) -> Self {
        FifoMap {
            by_key: HashMap::new(),
            order: VecDeque::new(),
            weight: 0,
            max_entries,
            max_weight,
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.by_key.get(key).map(|(v, _)| v)
    }

    /// Keeps `value` under `key` (a key already kept keeps its first value), forgetting the
    /// oldest entries until it fits; a value heavier than the whole budget is not kept.
    pub fn insert(&mut self, key: &str, value: V, weight: usize) {
        if weight > self.max_weight || self.by_key.contains_key(key) {
            return;
        }
        while self.by_key.len() >= self.max_entries || self.weight + weight > self.max_weight {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, w)) = self.by_key.remove(&old) {
                self.weight -= w;
            }
        }
        let key: Arc<str> = Arc::from(key);
        self.weight += weight;
        self.order.push_back(key.clone());
        self.by_key.insert(key, (value, weight));
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The total weight kept.
    pub fn weight(&self) -> usize {
        self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_go_first_and_the_weight_is_accounted() {
        let mut m = FifoMap::new(3, 10);
        for (k, w) in [("a", 2), ("b", 3), ("c", 4)] {
            m.insert(k, k.to_owned(), w);
        }
        assert_eq!((m.len(), m.weight()), (3, 9));
        m.insert("a", "again".to_owned(), 1);
        assert_eq!(m.get("a").map(String::as_str), Some("a"), "a kept key keeps its value");
        m.insert("d", "d".to_owned(), 1);
        assert!(m.get("a").is_none(), "over the count, the oldest goes");
        assert_eq!((m.len(), m.weight()), (3, 8));
        m.insert("e", "e".to_owned(), 6);
        assert!(m.get("b").is_none() && m.get("c").is_none(), "over the weight, the oldest go");
        assert_eq!((m.len(), m.weight()), (2, 7));
        m.insert("f", "f".to_owned(), 11);
        assert!(m.get("f").is_none(), "heavier than the whole budget: not kept");
        assert_eq!((m.len(), m.weight()), (2, 7));
    }
}
