//! A short-lived in-process cache of public GraphQL responses ("micro-caching").
//!
//! Only responses that `http::graphql` would send with `Cache-Control: public` are stored: an
//! anonymous, error-free query made only of catalogue fields. Such a response holds no personal
//! data and may be cached by any CDN for 60 s anyway; keeping it here for
//! `PUPITRE_RESPONSE_CACHE_MS` (1 s by default, 0 turns it off) spares the database and the
//! executor under load. The key is the whole request (tenant, media type, query, operation,
//! variables, extensions), compared in full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// A cached body and its `Cache-Control` value.
#[derive(Clone)]
pub struct Cached {
    pub body: Arc<str>,
    pub cache_control: Arc<str>,
}

pub struct MicroCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (Instant, Cached)>,
    bytes: usize,
}

/// Requests with a longer key (query, variables…) are not cached: padding must not buy memory.
const MAX_KEY_BYTES: usize = 4 * 1024;
/// Responses larger than this are not cached.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Total memory the cache may hold (keys and bodies).
const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;

impl MicroCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        MicroCache { ttl, capacity, entries: Mutex::new(Entries::default()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The key of a request, or `None` when it cannot be serialised.
    pub fn key(tenant: Uuid, media: &str, r: &async_graphql::Request) -> Option<String> {
        let vars = serde_json::to_string(&r.variables).ok()?;
        let ext = serde_json::to_string(&r.extensions).ok()?;
        let key = format!(
            "{tenant}\u{0}{media}\u{0}{}\u{0}{}\u{0}{vars}\u{0}{ext}",
            r.query,
            r.operation_name.as_deref().unwrap_or("")
        );
        (key.len() <= MAX_KEY_BYTES).then_some(key)
    }

    pub fn get(&self, key: &str) -> Option<Cached> {
        let e = self.entries.lock().ok()?;
        e.map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }

    /// Stores a response; expired entries are dropped first when a bound would be crossed, and
    /// everything when that is not enough (the cache only ever saves work).
    pub fn put(&self, key: String, value: Cached) {
        if value.body.len() > MAX_BODY_BYTES || key.len() > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut e) = self.entries.lock() else { return };
        let size = key.len() + value.body.len();
        if e.map.len() >= self.capacity || e.bytes + size > MAX_TOTAL_BYTES {
            let ttl = self.ttl;
            e.map.retain(|_, (at, _)| at.elapsed() < ttl);
            e.bytes = e.map.iter().map(|(k, (_, c))| k.len() + c.body.len()).sum();
            if e.map.len() >= self.capacity || e.bytes + size > MAX_TOTAL_BYTES {
                e.map.clear();
                e.bytes = 0;
            }
        }
        if let Some((_, old)) = e.map.insert(key.clone(), (Instant::now(), value)) {
            e.bytes = e.bytes.saturating_sub(key.len() + old.body.len());
        }
        e.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(len: usize) -> Cached {
        Cached { body: "x".repeat(len).into(), cache_control: "public, max-age=60".into() }
    }

    #[test]
    fn padded_requests_and_large_bodies_are_not_cached() {
        let cache = MicroCache::new(Duration::from_secs(60), 100);
        let padded = async_graphql::Request::new(format!(
            "{{ courses {{ edges {{ cursor }} }} }} #{}",
            " ".repeat(MAX_KEY_BYTES)
        ));
        assert!(MicroCache::key(Uuid::nil(), "application/json", &padded).is_none());
        cache.put("big".into(), cached(MAX_BODY_BYTES + 1));
        assert!(cache.get("big").is_none());
        cache.put("small".into(), cached(10));
        assert!(cache.get("small").is_some());
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bounds() {
        let cache = MicroCache::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            cache.put(format!("k{i}"), cached(10));
            let e = cache.entries.lock().expect("lock");
            assert!(e.map.len() <= 3);
            assert_eq!(
                e.bytes,
                e.map.iter().map(|(k, (_, c))| k.len() + c.body.len()).sum::<usize>()
            );
        }
        let total = MicroCache::new(Duration::from_secs(60), 1_000_000);
        for i in 0..200 {
            total.put(format!("k{i}"), cached(MAX_BODY_BYTES));
            assert!(total.entries.lock().expect("lock").bytes <= MAX_TOTAL_BYTES);
        }
    }
}
