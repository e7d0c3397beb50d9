//! The demo catalogue (`seed/catalog.json`), built by the demo admin through the catalogue
//! services: each course is created as a draft with its tags, gets its sessions (dated
//! relative to the run, taught by the demo instructor) and its lesson outline, and is published
//! unless the catalogue keeps it a draft. A course whose slug exists is left alone, with
//! everything under it.
//!
//! 42 courses make some 420 service calls, each its own transaction with its audit record
//! (one per lesson: the catalogue has no bulk import).

use std::collections::HashMap;

use chrono::Duration;
use futures_util::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::data::DemoCourse;
use super::{SeedReport, Seeder};
use crate::domain::catalog::{self, CourseDraft, CourseStatus, Format, Level, SessionDraft};
use crate::domain::types::{HttpsUrl, Money, Slug, Tag};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Role};

/// Every lesson of the demo outlines lasts an hour and a half.
const LESSON_MINUTES: i32 = 90;

/// How many courses get their sessions and lessons at once. Each course is one sequence of
/// service calls (one transaction each); running a few side by side lets PostgreSQL commit them
/// together instead of waiting for each commit in turn.
const COURSES_AT_ONCE: usize = 6;

/// The demo catalogue in the demo tenant. Courses are created in catalogue order (so their ids
/// follow it, as list tie-breaks do), then filled and published a few at a time.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(
    s: &Seeder<'_>,
    courses: &[DemoCourse],
    report: &mut SeedReport,
) -> AppResult<()> {
    let (admin, _) = s.holder_of(Role::Admin).await?;
    let mut instructors: HashMap<&str, Uuid> = HashMap::new();
    let mut created = Vec::new();
    for c in courses {
        let exists =
            catalog::course_by_slug(s.services, s.tenant.id, &c.slug, true).await?.is_some();
        report.count(!exists);
        if exists {
            continue;
        }
        for session in &c.sessions {
            if !instructors.contains_key(session.instructor.as_str()) {
                let id = s.user_id(&session.instructor).await?;
                instructors.insert(&session.instructor, id);
            }
        }
        let course = catalog::create_course(s.services, &admin, draft(c)?).await?;
        created.push((c, course.id));
    }
    let (admin, instructors) = (&admin, &instructors);
    stream::iter(created)
        .map(|(c, id)| fill(s, admin, c, id, instructors))
        .buffer_unordered(COURSES_AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A course as the catalogue service takes it (a draft, with its tags).
fn draft(c: &DemoCourse) -> AppResult<CourseDraft> {
    let bad = |field: &str, what: &str| AppError::bad_input(format!("courses.{field}"), what);
    Ok(CourseDraft {
        slug: Slug::parse("courses.slug", &c.slug)?,
        title: c.title.clone(),
        summary: c.summary.clone(),
        description: c.description.clone(),
        level: Level::parse(&c.level).ok_or_else(|| bad("level", "unknown level"))?,
        format: Format::parse(&c.format).ok_or_else(|| bad("format", "unknown format"))?,
        language: c.language.clone(),
        price: Money::parse("courses.price", c.price_cents, &c.currency)?,
        tax_rate_bp: c.tax_rate_bp,
        tags: c.tags.iter().map(|t| Tag::parse("courses.tags", t)).collect::<AppResult<_>>()?,
    })
}

/// The sessions (dated relative to the run) and the outline of a new course, then its
/// publication unless the catalogue keeps it a draft.
async fn fill(
    s: &Seeder<'_>,
    admin: &Actor,
    c: &DemoCourse,
    course: Uuid,
    instructors: &HashMap<&str, Uuid>,
) -> AppResult<()> {
    for session in &c.sessions {
        let starts_at = s.now + Duration::days(session.start_offset_days);
        let draft = SessionDraft {
            starts_at,
            ends_at: starts_at + Duration::days(session.duration_days.max(1)),
            instructor_id: instructors.get(session.instructor.as_str()).copied(),
            capacity: session.capacity,
            location: session.location.clone(),
            virtual_room: session
                .virtual_room
                .as_deref()
                .map(|v| HttpsUrl::parse("sessions.virtual_room", v))
                .transpose()?,
        };
        catalog::create_session(s.services, admin, course, draft).await?;
    }
    for title in &c.lessons {
        catalog::add_lesson(s.services, admin, course, title.clone(), Some(LESSON_MINUTES), None)
            .await?;
    }
    if c.published {
        catalog::set_course_status(s.services, admin, course, CourseStatus::Published).await?;
    }
    Ok(())
}
