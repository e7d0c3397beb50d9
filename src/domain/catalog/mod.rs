//! The catalogue: courses (with tags), sessions (cohorts) and ordered lessons; admin
//! management and the public, anonymous catalogue.
//!
//! The public side exposes no personal data: instructors appear by display name only. Batch
//! loaders (`*_of`) take many ids and answer in one query each, so list resolvers never issue a
//! query per row.
//!
//! One file per job, re-exported here so callers write `catalog::create_course`,
//! `catalog::sessions_of`, …:
//!
//! * `courses`, `sessions`, `lessons`: the admin's writes (each audited, in the transaction
//!   of its change);
//! * `search`: the public catalogue (published courses, filters, orders, slugs);
//! * `next_start`: the key of the default order, kept by the session writes and by time;
//! * `readers`: reads by id and the batch readers behind the GraphQL loaders.
//!
//! This file re-exports the catalogue's enums and keeps what the admin writes share (the
//! permission check and the audit record).

mod courses;
mod lessons;
pub mod next_start;
mod readers;
mod search;
mod sessions;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

pub use courses::{CourseDraft, CoursePatch, create_course, set_course_status, update_course};
pub use lessons::{add_lesson, remove_lesson, update_lesson};
pub use readers::{
    course, courses_by_id, instructor_names, lessons_of, session_by_id, sessions_by_id,
    sessions_of, tags_of, upcoming_sessions_and_instructors, upcoming_sessions_of,
};
pub use search::{
    After, CourseFilter, CourseSort, Listed, PageColumns, PageRequest, SortKey, course_by_slug,
    page_statement, published_courses,
};
pub use sessions::{SessionDraft, cancel_session, create_session, update_session};

use super::audit::{self, AuditRecord};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column};

/// The catalogue's vocabularies: a course's level, format and status (stored as written in
/// [`crate::entities::enums`]).
pub use crate::entities::enums::{CourseStatus, Format, Level};

fn require_admin(actor: &Actor) -> AppResult<()> {
    if crate::policy::may_manage_catalogue(actor) { Ok(()) } else { Err(AppError::Forbidden) }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &'static str,
    id: Uuid,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        at,
        AuditRecord {
            action,
            category: None,
            subject_id: None,
            purpose: Column::Admin.purpose(),
            details: Some(serde_json::json!({ "id": id })),
        },
    )
    .await
}
