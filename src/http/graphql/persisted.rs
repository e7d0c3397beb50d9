//! Persisted queries: a client sends the SHA-256 of a document instead of the document.
//!
//! - **Automatic** (`PUPITRE_PERSISTED_QUERIES=automatic`, the default; Apollo's APQ protocol):
//!   `extensions.persistedQuery = {version: 1, sha256Hash}` without `query` runs the document
//!   with that hash if this instance knows it, else answers `PERSISTED_QUERY_NOT_FOUND` (message
//!   `PersistedQueryNotFound`, as Apollo and urql clients expect); the client then sends the
//!   text with its hash once, which is checked and remembered. Registered operations
//!   ([`super::manifest`]) are always known. What an instance learns stays in its memory,
//!   bounded ([`MAX_LEARNED`] documents, [`MAX_LEARNED_BYTES`] in all, oldest forgotten
//!   first); another instance simply asks for the text once.
//! - **Trusted** (`PUPITRE_PERSISTED_QUERIES=trusted`, for production): only registered
//!   operations run, by hash or by their exact text; anything else is refused with
//!   `PERSISTED_QUERY_NOT_IN_LIST` before it is parsed.
//!
//! Both work with `GET /graphql?operationName=…&extensions=…` (no `query`), so that a CDN can
//! cache public catalogue reads by URL; the usual `Cache-Control` applies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::manifest::{Manifest, sha256_hex};
use crate::fifo::FifoMap;

/// Documents an instance remembers from clients, at most.
pub const MAX_LEARNED: usize = 5_000;
/// Bytes of documents an instance remembers from clients, at most.
pub const MAX_LEARNED_BYTES: usize = 16 * 1024 * 1024;

/// Which documents run (the setting `PUPITRE_PERSISTED_QUERIES`).
pub use crate::config::PersistedQueries as Mode;

/// Why a request's document was not found or not allowed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The hash is unknown here: send the text with it.
    NotFound,
    /// Trusted mode and the document is not registered.
    NotInList,
    /// The extension is malformed, or the text does not have the hash given.
    Invalid(&'static str),
}

/// The registered operations and what this instance learned.
pub struct Persisted {
    mode: Mode,
    registered: HashMap<String, Arc<str>>,
    learned: Mutex<FifoMap<Arc<str>>>,
}

impl Persisted {
    pub fn new(mode: Mode, manifest: &Manifest) -> Self {
        Persisted {
            mode,
            registered: manifest.by_id(),
            learned: Mutex::new(FifoMap::new(MAX_LEARNED, MAX_LEARNED_BYTES)),
        }
    }

    /// Whether a document sent as text may run (always, but in trusted mode).
    fn allows_text(&self, query: &str) -> bool {
        self.mode == Mode::Automatic || self.registered.contains_key(&sha256_hex(query))
    }

    fn known(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(doc) = self.registered.get(hash) {
            return Some(doc.clone());
        }
        if self.mode == Mode::Trusted {
            return None;
        }
        let learned = self.learned.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        learned.get(hash).cloned()
    }

    fn learn(&self, hash: &str, doc: &str) {
        let mut l = self.learned.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.insert(hash, doc.into(), doc.len());
    }

    /// Fills in the `query` of a request from its persisted-query hash, checks a given text
    /// against its hash, and in trusted mode refuses what is not registered. A request with
    /// neither `query` nor a hash is left for the usual "`query` must be a string".
    pub fn resolve(&self, obj: &mut Map<String, Value>) -> Result<(), Refusal> {
        let query = obj.get("query").and_then(Value::as_str).filter(|q| !q.is_empty());
        let Some(ext) = obj.get("extensions").and_then(|e| e.get("persistedQuery")) else {
            return match query {
                Some(q) if !self.allows_text(q) => Err(Refusal::NotInList),
                _ => Ok(()),
            };
        };
        let hash = hash_of(ext).ok_or(Refusal::Invalid(
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}",
        ))?;
        match query {
            Some(q) => {
                if sha256_hex(q) != hash {
                    return Err(Refusal::Invalid(
                        "the query's SHA-256 is not extensions.persistedQuery.sha256Hash",
                    ));
                }
                if self.registered.contains_key(&hash) {
                    return Ok(());
                }
                if self.mode == Mode::Trusted {
                    return Err(Refusal::NotInList);
                }
                // Only a document that parses is remembered (the limits and validation still
                // run on every execution).
                if async_graphql::parser::parse_query(q).is_ok() {
                    self.learn(&hash, q);
                }
                Ok(())
            }
            None => {
                let doc = self.known(&hash).ok_or(Refusal::NotFound)?;
                obj.insert("query".into(), Value::String(doc.as_ref().to_owned()));
                Ok(())
            }
        }
    }

    /// [`Persisted::resolve`] for a request already read by async-graphql (the operations of a
    /// multipart upload): a registered hash without text runs, trusted mode refuses the rest.
    pub fn resolve_request(&self, r: &mut async_graphql::Request) -> Result<(), Refusal> {
        let mut obj = Map::new();
        if !r.query.is_empty() {
            obj.insert("query".into(), Value::String(std::mem::take(&mut r.query)));
        }
        if let Some(pq) = r.extensions.get("persistedQuery") {
            let pq = serde_json::to_value(pq).unwrap_or(Value::Null);
            obj.insert("extensions".into(), serde_json::json!({ "persistedQuery": pq }));
        }
        let outcome = self.resolve(&mut obj);
        if let Some(Value::String(q)) = obj.remove("query") {
            r.query = q;
        }
        outcome
    }
}

/// The lower-case hex hash of a well-formed `persistedQuery` extension.
fn hash_of(ext: &Value) -> Option<String> {
    let version = ext.get("version").and_then(Value::as_i64)?;
    let hash = ext.get("sha256Hash").and_then(Value::as_str)?;
    let ok = version == 1 && hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| hash.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(body: &str) -> Manifest {
        Manifest {
            format: Manifest::FORMAT.into(),
            version: 1,
            operations: vec![super::super::manifest::Operation {
                id: sha256_hex(body),
                name: "Registered".into(),
                kind: "query".into(),
                body: body.into(),
            }],
        }
    }

    fn req(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn pq(hash: &str) -> Value {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
    }

    #[test]
    fn automatic_mode_learns_a_document_then_serves_it_by_hash() {
        let p = Persisted::new(Mode::Automatic, &manifest("query Registered { a }"));
        let q = "{ __typename }";
        let h = sha256_hex(q);
        assert_eq!(p.resolve(&mut req(json!({ "extensions": pq(&h) }))), Err(Refusal::NotFound));
        let junk = "{ not graphql";
        let mut junk_req = req(json!({ "query": junk, "extensions": pq(&sha256_hex(junk)) }));
        assert_eq!(p.resolve(&mut junk_req), Ok(()), "left for the parser to refuse");
        assert_eq!(
            p.resolve(&mut req(json!({ "extensions": pq(&sha256_hex(junk)) }))),
            Err(Refusal::NotFound),
            "and never remembered"
        );
        let mut wrong = req(json!({ "query": "{ other }", "extensions": pq(&h) }));
        assert!(matches!(p.resolve(&mut wrong), Err(Refusal::Invalid(_))), "text and hash differ");
        assert_eq!(p.resolve(&mut req(json!({ "query": q, "extensions": pq(&h) }))), Ok(()));
        let mut by_hash = req(json!({ "extensions": pq(&h.to_ascii_uppercase()) }));
        assert_eq!(p.resolve(&mut by_hash), Ok(()));
        assert_eq!(by_hash["query"], q);
        let mut bad =
            req(json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": h } } }));
        assert!(matches!(p.resolve(&mut bad), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn trusted_mode_runs_registered_documents_only() {
        let body = "query Registered { a }";
        let p = Persisted::new(Mode::Trusted, &manifest(body));
        let mut by_hash = req(json!({ "extensions": pq(&sha256_hex(body)) }));
        assert_eq!(p.resolve(&mut by_hash), Ok(()));
        assert_eq!(by_hash["query"], body);
        assert_eq!(p.resolve(&mut req(json!({ "query": body }))), Ok(()), "the exact text runs");
        assert_eq!(p.resolve(&mut req(json!({ "query": "{ a }" }))), Err(Refusal::NotInList));
        let other = "{ b }";
        let mut learn = req(json!({ "query": other, "extensions": pq(&sha256_hex(other)) }));
        assert_eq!(p.resolve(&mut learn), Err(Refusal::NotInList), "nothing is learned");
        assert_eq!(
            p.resolve(&mut req(json!({ "extensions": pq(&sha256_hex(other)) }))),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn what_is_learned_stays_bounded() {
        let p = Persisted::new(Mode::Automatic, &manifest("query Registered { a }"));
        for i in 0..MAX_LEARNED + 10 {
            let q = format!("{{ f{i} }}");
            p.learn(&sha256_hex(&q), &q);
        }
        let l = p.learned.lock().expect("lock");
        assert_eq!(l.len(), MAX_LEARNED);
        assert!(l.get(&sha256_hex("{ f0 }")).is_none(), "the oldest went first");
    }
}
