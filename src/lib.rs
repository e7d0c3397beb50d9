//! Pupitre: a privacy-first headless LMS and e-shop backend.
//!
//! Data flows one way: `http` → `graphql` → `domain` → `entities`, with `policy` deciding every
//! access to personal data. `startup` builds the whole application once, for `main` and tests.

pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod fifo;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod policy;
pub mod request;
pub mod seed;
pub mod startup;
pub mod telemetry;
