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
    entries: Mutex<HashMap<String, (Instant, Cached)>>,
}

impl MicroCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        MicroCache { ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The key of a request, or `None` when it cannot be serialised.
    pub fn key(tenant: Uuid, media: &str, r: &async_graphql::Request) -> Option<String> {
        let vars = serde_json::to_string(&r.variables).ok()?;
        let ext = serde_json::to_string(&r.extensions).ok()?;
        Some(format!("{tenant}\u{0}{media}\u{0}{}\u{0}{}\u{0}{vars}\u{0}{ext}", r.query, r.operation_name.as_deref().unwrap_or("")))
    }

    pub fn get(&self, key: &str) -> Option<Cached> {
        let map = self.entries.lock().ok()?;
        map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }

    pub fn put(&self, key: String, value: Cached) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= self.capacity {
                let ttl = self.ttl;
                map.retain(|_, (at, _)| at.elapsed() < ttl);
                if map.len() >= self.capacity {
                    map.clear();
                }
            }
            map.insert(key, (Instant::now(), value));
        }
    }
}
