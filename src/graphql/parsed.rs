//! Parsed GraphQL documents, kept by their text for the next request that sends the same one.
//!
//! A storefront or an app sends the same few documents over and over (its catalogue page, its
//! `me`), and parsing one (a PEG parser, a node per token) costs several times more than copying
//! the parsed tree. [`ParsedDocuments::parse`] answers a copy of what it parsed before for exactly the
//! same text (compared in full, never by a hash alone), or parses and keeps the result.
//!
//! Only the parse is kept: every check of [`super::limits`] and async-graphql's validation
//! still run on each request, with that request's variables, operation name and files. A
//! document that does not parse is never kept (async-graphql reports its syntax error).
//!
//! One per process (instances share nothing), bounded: at most [`MAX_DOCUMENTS`] documents of
//! at most [`MAX_DOCUMENT_BYTES`] each and [`MAX_TOTAL_BYTES`] of text in all, so a client
//! sending ever-new documents only churns it (first in, first out), and its memory stays a few
//! megabytes (a parsed document holds about ten times its text).

use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::parser::{Error, parse_query};

use crate::fifo::FifoMap;

/// Documents kept at most.
pub const MAX_DOCUMENTS: usize = 256;
/// Longer documents are parsed each time (a client's own documents are a few KiB at most).
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;
/// Text of all kept documents together.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024;

/// The per-process cache of parsed documents (see the module comment).
pub struct ParsedDocuments {
    kept: Mutex<FifoMap<Arc<ExecutableDocument>>>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments { kept: Mutex::new(FifoMap::new(MAX_DOCUMENTS, MAX_TOTAL_BYTES)) }
    }
}

impl ParsedDocuments {
    /// `query` parsed: a copy of the kept tree when the same text was parsed before.
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, Error> {
        let keep = query.len() <= MAX_DOCUMENT_BYTES;
        if keep && let Some(doc) = self.kept().get(query).cloned() {
            return Ok((*doc).clone());
        }
        let doc = parse_query(query)?;
        if keep {
            self.kept().insert(query, Arc::new(doc.clone()), query.len());
        }
        Ok(doc)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.kept().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, FifoMap<Arc<ExecutableDocument>>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every change is
        // one call on it): keep serving.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gives_the_same_document_and_is_parsed_once() {
        let docs = ParsedDocuments::default();
        let q = "query Page($n: Int) { courses(first: $n) { totalCount } }";
        let first = docs.parse(q).expect("parses");
        assert_eq!(docs.len(), 1);
        let again = docs.parse(q).expect("kept");
        assert_eq!(docs.len(), 1, "kept once");
        assert_eq!(format!("{first:?}"), format!("{again:?}"), "the same tree");
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", parse_query(q).expect("parses")),
            "what a fresh parse gives"
        );
        docs.parse("{ __typename }").expect("parses");
        assert_eq!(docs.len(), 2, "another text is another document");
    }

    #[test]
    fn what_does_not_parse_or_is_too_long_is_not_kept() {
        let docs = ParsedDocuments::default();
        assert!(docs.parse("{ courses(").is_err());
        assert!(docs.is_empty());
        let long = format!("{{ __typename {} }}", " ".repeat(MAX_DOCUMENT_BYTES));
        docs.parse(&long).expect("parses");
        assert!(docs.is_empty(), "a document over {MAX_DOCUMENT_BYTES} bytes is parsed each time");
    }

    #[test]
    fn what_is_kept_stays_bounded_first_in_first_out() {
        let docs = ParsedDocuments::default();
        for i in 0..MAX_DOCUMENTS + 10 {
            docs.parse(&format!("{{ a{i}: __typename }}")).expect("parses");
        }
        assert_eq!(docs.len(), MAX_DOCUMENTS);
        let kept = docs.kept();
        assert!(kept.get("{ a0: __typename }").is_none(), "the oldest went first");
        let last = format!("{{ a{}: __typename }}", MAX_DOCUMENTS + 9);
        assert!(kept.get(&last).is_some(), "the newest is kept");
        drop(kept);
        // Bounded by bytes too: documents of 6 KiB fill 256 KiB with 42 of them.
        let docs = ParsedDocuments::default();
        for i in 0..100 {
            docs.parse(&format!("{{ a{i}: __typename {} }}", " ".repeat(6 * 1024)))
                .expect("parses");
        }
        let kept = docs.kept();
        assert!(kept.weight() <= MAX_TOTAL_BYTES, "{} bytes kept", kept.weight());
        assert!(kept.len() < 50 && kept.len() > 30, "{}", kept.len());
    }
}
