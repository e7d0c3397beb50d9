//! A short-lived in-process cache of public GraphQL responses ("micro-caching").
//!
//! Only responses that `http::graphql` would send with `Cache-Control: public` are stored: an
//! anonymous, error-free query made only of catalogue fields. Such a response holds no personal
//! data and may be cached by any CDN for 60 s anyway; keeping it here for
//! `PUPITRE_RESPONSE_CACHE_MS` (1 s by default, 0 turns it off) spares the database and the
//! executor under load. The key is the whole request (tenant, media type, query, operation,
//! variables, extensions), compared in full.
//!
//! **No stampede.** [`MicroCache::lookup`] answers one of three things:
//! - [`Lookup::Hit`]: a fresh entry, or a *stale* one (expired less than [`STALE_FACTOR`] times
//!   the time to live ago) while another request is already refreshing it;
//! - [`Lookup::Lead`]: this request executes the query and hands its response to the
//!   [`Flight`] (the first request for a missing key, or the first to find an entry stale);
//! - [`Lookup::Wait`]: another request is executing the same missing key; this one waits for its
//!   response ([`Waiter::wait`], bounded by [`WAIT_LIMIT`]) instead of running the query too.
//!
//! So concurrent misses for one key run the query once (single-flight), and at each expiry one
//! request refreshes the entry while the others are served the previous response, at most
//! `(1 + STALE_FACTOR) × ttl` old (5 s with the default 1 s). A leader whose response is not
//! cacheable (an error), or that is dropped, releases its waiters, who then execute themselves.
//! The cache stays per instance and bounded (entries, bytes, key and body sizes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

/// A cached body and its `Cache-Control` value.
#[derive(Clone)]
pub struct Cached {
    pub body: bytes::Bytes,
    pub cache_control: Arc<str>,
    /// The body's entity tag (see `http::graphql`'s `etag`).
    pub etag: Arc<str>,
}

pub struct MicroCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
}

/// What a flight publishes: nothing yet, then the response (or `None`: not cacheable).
type Outcome = Option<Option<Cached>>;

#[derive(Default)]
struct Entries {
    map: HashMap<String, (Instant, Cached)>,
    bytes: usize,
    /// Keys being executed right now, and where their response will be published.
    flights: HashMap<String, watch::Receiver<Outcome>>,
}

/// Requests with a longer key (query, variables…) are not cached: padding must not buy memory.
const MAX_KEY_BYTES: usize = 4 * 1024;
/// Responses larger than this are not cached.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Total memory the cache may hold (keys and bodies).
const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;
/// An expired entry is still served, while one request refreshes it, for this many times the
/// time to live.
pub const STALE_FACTOR: u32 = 4;
/// A request waiting for another's execution of the same key gives up after this long and
/// executes itself.
pub const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// The answer of [`MicroCache::lookup`].
pub enum Lookup {
    Hit(Cached),
    Lead(Flight),
    Wait(Waiter),
}

/// The duty of the request that executes a key: [`Flight::finish`] with its response. Dropped
/// unfinished (an error path, a panic), it releases the waiters with nothing.
pub struct Flight {
    cache: Arc<MicroCache>,
    key: String,
    tx: Option<watch::Sender<Outcome>>,
}

impl Flight {
    /// Stores `value` (when it is cacheable) and hands it to the waiters.
    pub fn finish(mut self, value: Option<Cached>) {
        if let Some(v) = &value {
            self.cache.put(self.key.clone(), v.clone());
        }
        self.release(value);
    }

    fn release(&mut self, value: Option<Cached>) {
        if let Some(tx) = self.tx.take() {
            if let Ok(mut e) = self.cache.entries.lock() {
                e.flights.remove(&self.key);
            }
            tx.send_replace(Some(value));
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.release(None);
    }
}

/// A request waiting for another's execution of the same key.
pub struct Waiter(watch::Receiver<Outcome>);

impl Waiter {
    /// The leader's response, or `None` when it was not cacheable, the leader went away or took
    /// longer than [`WAIT_LIMIT`]: then execute the query yourself.
    pub async fn wait(mut self) -> Option<Cached> {
        let done = tokio::time::timeout(WAIT_LIMIT, self.0.wait_for(Option::is_some)).await;
        match done {
            Ok(Ok(v)) => v.clone().flatten(),
            _ => None,
        }
    }
}

impl MicroCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        MicroCache { ttl, capacity, entries: Mutex::new(Entries::default()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// How long an entry may be served at all (fresh, then stale while refreshed).
    fn max_age(&self) -> Duration {
        self.ttl * (1 + STALE_FACTOR)
    }

    /// The key of a request, or `None` when it cannot be serialised, is longer than
    /// [`MAX_KEY_BYTES`] or carries files (they are not part of the key, and a hit is served
    /// before the request's limits are checked: `http::graphql`).
    pub fn key(tenant: Uuid, media: &str, r: &async_graphql::Request) -> Option<String> {
        // Looked up before the request's limits are checked: a long document costs no copy.
        if r.query.len() > MAX_KEY_BYTES || !r.uploads.is_empty() {
            return None;
        }
        let vars = serde_json::to_string(&r.variables).ok()?;
        let ext = serde_json::to_string(&r.extensions).ok()?;
        let key = format!(
            "{tenant}\u{0}{media}\u{0}{}\u{0}{}\u{0}{vars}\u{0}{ext}",
            r.query,
            r.operation_name.as_deref().unwrap_or("")
        );
        (key.len() <= MAX_KEY_BYTES).then_some(key)
    }

    /// A fresh entry only (no flight is started).
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<Cached> {
        let e = self.entries.lock().ok()?;
        e.map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }

    /// Looks `key` up (see the module documentation). `None` only when the cache's lock is
    /// poisoned: then execute without it.
    pub fn lookup(self: &Arc<Self>, key: &str) -> Option<Lookup> {
        let mut e = self.entries.lock().ok()?;
        let entry = e.map.get(key).map(|(at, c)| (at.elapsed(), c.clone()));
        let in_flight = e.flights.get(key).cloned();
        match (entry, in_flight) {
            (Some((age, c)), _) if age < self.ttl => Some(Lookup::Hit(c)),
            (Some((age, c)), Some(_)) if age < self.max_age() => Some(Lookup::Hit(c)),
            (_, Some(rx)) => Some(Lookup::Wait(Waiter(rx))),
            (_, None) => {
                let (tx, rx) = watch::channel(None);
                e.flights.insert(key.to_owned(), rx);
                Some(Lookup::Lead(Flight {
                    cache: Arc::clone(self),
                    key: key.to_owned(),
                    tx: Some(tx),
                }))
            }
        }
    }

    /// Stores a response; entries past their stale window are dropped first when a bound would
    /// be crossed, and everything when that is not enough (the cache only ever saves work).
    pub fn put(&self, key: String, value: Cached) {
        if value.body.len() > MAX_BODY_BYTES || key.len() > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut e) = self.entries.lock() else { return };
        let size = key.len() + value.body.len();
        if e.map.len() >= self.capacity || e.bytes + size > MAX_TOTAL_BYTES {
            let max_age = self.max_age();
            e.map.retain(|_, (at, _)| at.elapsed() < max_age);
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
        Cached {
            body: "x".repeat(len).into(),
            cache_control: "public, max-age=60".into(),
            etag: "\"x\"".into(),
        }
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

    fn lead(cache: &Arc<MicroCache>, key: &str) -> Flight {
        match cache.lookup(key) {
            Some(Lookup::Lead(f)) => f,
            _ => panic!("expected to lead {key}"),
        }
    }

    #[tokio::test]
    async fn concurrent_misses_run_once_and_share_the_response() {
        let cache = Arc::new(MicroCache::new(Duration::from_secs(60), 100));
        let flight = lead(&cache, "k");
        let waiters: Vec<Waiter> = (0..31)
            .map(|_| match cache.lookup("k") {
                Some(Lookup::Wait(w)) => w,
                _ => panic!("a second request for a key in flight must wait"),
            })
            .collect();
        let handles: Vec<_> = waiters.into_iter().map(|w| tokio::spawn(w.wait())).collect();
        flight.finish(Some(cached(5)));
        for h in handles {
            assert_eq!(h.await.expect("joined").expect("shared").body.len(), 5);
        }
        assert!(matches!(cache.lookup("k"), Some(Lookup::Hit(_))));
    }

    #[tokio::test]
    async fn an_uncacheable_or_dropped_leader_releases_its_waiters() {
        let cache = Arc::new(MicroCache::new(Duration::from_secs(60), 100));
        let flight = lead(&cache, "err");
        let Some(Lookup::Wait(w)) = cache.lookup("err") else { panic!("wait") };
        flight.finish(None);
        assert!(w.wait().await.is_none(), "execute yourself");
        let flight = lead(&cache, "err");
        let Some(Lookup::Wait(w)) = cache.lookup("err") else { panic!("wait") };
        drop(flight);
        assert!(w.wait().await.is_none());
        assert!(matches!(cache.lookup("err"), Some(Lookup::Lead(_))), "nothing left in flight");
    }

    #[tokio::test]
    async fn an_expired_entry_is_refreshed_by_one_request_and_served_stale_to_the_others() {
        let cache = Arc::new(MicroCache::new(Duration::from_millis(20), 100));
        lead(&cache, "k").finish(Some(cached(1)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        // Expired: the first request refreshes, the others get the previous response at once.
        let refresh = lead(&cache, "k");
        for _ in 0..10 {
            assert!(matches!(cache.lookup("k"), Some(Lookup::Hit(c)) if c.body.len() == 1));
        }
        refresh.finish(Some(cached(2)));
        assert!(matches!(cache.lookup("k"), Some(Lookup::Hit(c)) if c.body.len() == 2));
        // Past the stale window an entry is no longer served: a miss again.
        tokio::time::sleep(Duration::from_millis(20 * (1 + u64::from(STALE_FACTOR)) + 10)).await;
        let _refresh = lead(&cache, "k");
        assert!(matches!(cache.lookup("k"), Some(Lookup::Wait(_))));
    }
}
