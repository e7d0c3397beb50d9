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
//! * `readers`: reads by id and the batch readers behind the GraphQL loaders.
//!
//! This file keeps the catalogue's enums and what the admin writes share (the permission check
//! and the audit record).

mod courses;
mod lessons;
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
    sessions_of, tags_of,
};
pub use search::{CourseFilter, CourseSort, course_by_slug, published_courses};
pub use sessions::{SessionDraft, cancel_session, create_session, update_session};

use super::audit::{self, AuditRecord};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }
    };
}

string_enum!(
    /// Course level.
    Level { Beginner = "beginner", Intermediate = "intermediate", Advanced = "advanced" }
);
string_enum!(
    /// How a course is taught.
    Format { Online = "online", InPerson = "in_person", VirtualClass = "virtual_class" }
);
string_enum!(
    /// Catalogue visibility: only published courses are shown to visitors.
    CourseStatus { Draft = "draft", Published = "published", Archived = "archived" }
);

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
