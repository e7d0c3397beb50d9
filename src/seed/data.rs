//! The demo data as written in `seed/demo.json` (people, enrollments, live classes,
//! applications) and `seed/catalog.json` (courses), compiled into the binary, and the sample
//! supporting documents of `seed/documents/`.
//!
//! Shapes only: the loader parses each value with the domain's types (`Email::parse`, …) where
//! it hands it to a service, and the services check the rest.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::error::{AppError, AppResult};

const DEMO: &str = include_str!("../../seed/demo.json");
const CATALOG: &str = include_str!("../../seed/catalog.json");

/// The tenants of `seed/demo.json`.
pub(super) fn demo() -> AppResult<Vec<DemoTenant>> {
    let demo: Demo =
        serde_json::from_str(DEMO).map_err(|e| AppError::internal("reading seed/demo.json", e))?;
    Ok(demo.tenants)
}

/// The courses of `seed/catalog.json` (every demo tenant gets them).
pub(super) fn catalog() -> AppResult<Vec<DemoCourse>> {
    let catalog: Catalog = serde_json::from_str(CATALOG)
        .map_err(|e| AppError::internal("reading seed/catalog.json", e))?;
    Ok(catalog.courses)
}

/// Sample supporting documents (fictitious), by file name.
pub(super) fn sample_document(name: &str) -> Option<&'static [u8]> {
    match name {
        "exemple-avis-imposition.pdf" => {
            Some(include_bytes!("../../seed/documents/exemple-avis-imposition.pdf"))
        }
        "exemple-carte-etudiant.png" => {
            Some(include_bytes!("../../seed/documents/exemple-carte-etudiant.png"))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct Demo {
    tenants: Vec<DemoTenant>,
}

#[derive(Deserialize)]
pub(super) struct DemoTenant {
    pub slug: String,
    pub name: String,
    pub dpo_name: String,
    pub dpo_email: String,
    /// Published privacy-policy versions, the oldest first.
    pub policies: Vec<DemoPolicy>,
    /// Every demo account's password.
    pub password: String,
    pub users: Vec<DemoUser>,
    pub guardians: Vec<DemoLink>,
    #[serde(default)]
    pub enrollments: Vec<DemoEnrollment>,
    #[serde(default)]
    pub live_classes: Vec<DemoLiveClass>,
    #[serde(default)]
    pub applications: Vec<DemoApplication>,
}

#[derive(Deserialize)]
pub(super) struct DemoPolicy {
    pub version: String,
    pub url: String,
    pub published_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub(super) struct DemoUser {
    pub email: String,
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub address: Option<DemoAddress>,
    pub birth_date: Option<NaiveDate>,
    pub locale: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub marketing_email: bool,
}

#[derive(Deserialize)]
pub(super) struct DemoAddress {
    pub line1: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

#[derive(Deserialize)]
pub(super) struct DemoLink {
    pub guardian: String,
    pub minor: String,
}

#[derive(Deserialize)]
pub(super) struct DemoEnrollment {
    pub learner: String,
    pub course: String,
    /// Index of the session in start order (0 = earliest).
    pub session: usize,
    pub completed_lessons: usize,
}

#[derive(Deserialize)]
pub(super) struct DemoLiveClass {
    pub course: String,
    pub session: usize,
    pub title: String,
    pub starts_days_from_now: i64,
    pub recorded: bool,
    pub recording_ref: Option<String>,
    pub attendance: Vec<DemoAttendance>,
}

#[derive(Deserialize)]
pub(super) struct DemoAttendance {
    pub learner: String,
    pub minutes: i64,
    pub talk_seconds: i32,
    pub chat_messages: i32,
    pub hand_raises: i32,
    pub poll_answers: i32,
}

/// An equal-opportunity application in a given state, with sample documents from
/// `seed/documents/` (kind, file name).
#[derive(Deserialize)]
pub(super) struct DemoApplication {
    pub learner: String,
    pub course: String,
    pub status: String,
    pub income_bracket: String,
    pub scholarship_holder: bool,
    pub text: String,
    pub discount_percent: Option<i32>,
    pub reason: Option<String>,
    pub documents: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Catalog {
    courses: Vec<DemoCourse>,
}

#[derive(Deserialize)]
pub(super) struct DemoCourse {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub level: String,
    pub format: String,
    pub language: String,
    pub price_cents: i64,
    pub currency: String,
    pub tax_rate_bp: i32,
    pub tags: Vec<String>,
    pub published: bool,
    pub lessons: Vec<String>,
    pub sessions: Vec<DemoSession>,
}

#[derive(Deserialize)]
pub(super) struct DemoSession {
    pub start_offset_days: i64,
    pub duration_days: i64,
    pub capacity: i32,
    pub location: Option<String>,
    pub virtual_room: Option<String>,
    pub instructor: String,
}
