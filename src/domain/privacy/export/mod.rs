//! Access and portability exports (GDPR art. 15 and 20, SPEC §6; issue 11, item 3).
//!
//! The `export` step of an access or portability request ([`step`]) builds a ZIP of everything
//! registered about the subject and stores it, encrypted, in the document store:
//!
//! - `data.json` ([`json`]): every row about the subject of every table the personal-data
//!   registry marks `export: true`, found by the registry's owner columns and `OwnerVia` chains
//!   ([`plan`], [`rows`]), never by a list of tables written here: a table registered tomorrow
//!   is exported tomorrow. Secrets never; another person only by display name (art. 20(4)).
//!   Documented by `docs/export.schema.json`.
//! - `index.html` ([`html`], [`texts`]): the same for a person to read, in French or English,
//!   with the purposes, legal basis, retention and recipients of each category.
//! - `documents/…`: the subject's supporting documents, decrypted.
//!
//! Rows are read a page at a time and the archive is sealed and uploaded as it is written
//! ([`archive`], [`sealing`]), so memory stays flat whatever the person's history. The file is
//! downloadable for 7 days through a short-lived link ([`links`], [`download`]) by the subject,
//! their guardian and the privacy officer; [`expiry`] deletes it after that.
//!
//! This module never logs personal data: ids, counts and sizes only.

pub mod archive;
pub mod download;
pub mod expiry;
pub mod html;
pub mod json;
pub mod links;
pub mod plan;
pub mod rows;
pub mod sealing;
pub mod step;
pub mod texts;

pub use download::{Download, Link, download, link, of_requests};
pub use expiry::{ExpiryReport, delete_expired};
pub use links::LINK_TTL_SECS;
pub use step::{EXPORT_TTL_DAYS, Prepared, prepare, record};
