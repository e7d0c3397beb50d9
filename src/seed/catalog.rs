//! The demo catalogue (`seed/catalog.json`), imported by the demo admin through the catalogue
//! service: each course comes with its tags, its sessions (dated relative to the run, taught by
//! the demo instructor) and its lesson outline, and is published unless the catalogue keeps it
//! a draft, all in one transaction (`catalog::import_course`, with the checks and audit records
//! of the step-by-step writes). A course whose slug exists is left alone, with everything
//! under it.

use std::collections::HashMap;

use chrono::Duration;
use uuid::Uuid;

use super::data::DemoCourse;
use super::{SeedReport, Seeder};
use crate::domain::catalog::{
    self, CourseDraft, CourseImport, Format, LessonDraft, Level, SessionDraft,
};
use crate::domain::types::{HttpsUrl, Money, Slug, Tag};
use crate::error::{AppError, AppResult};
use crate::policy::Role;

/// Every lesson of the demo outlines lasts an hour and a half.
const LESSON_MINUTES: i32 = 90;

/// The demo catalogue in the demo tenant, one course at a time in catalogue order (so their
/// ids follow it, as list tie-breaks do).
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(
    s: &Seeder<'_>,
    courses: &[DemoCourse],
    report: &mut SeedReport,
) -> AppResult<()> {
    let (admin, _) = s.holder_of(Role::Admin).await?;
    let mut instructors: HashMap<&str, Uuid> = HashMap::new();
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
        catalog::import_course(s.services, &admin, import(s, c, &instructors)?).await?;
    }
    Ok(())
}

/// A course of the demo catalogue as the catalogue imports it.
fn import(
    s: &Seeder<'_>,
    c: &DemoCourse,
    instructors: &HashMap<&str, Uuid>,
) -> AppResult<CourseImport> {
    let mut sessions = Vec::with_capacity(c.sessions.len());
    for session in &c.sessions {
        let starts_at = s.now + Duration::days(session.start_offset_days);
        sessions.push(SessionDraft {
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
        });
    }
    let lessons = c
        .lessons
        .iter()
        .map(|title| LessonDraft { title: title.clone(), duration_minutes: Some(LESSON_MINUTES) })
        .collect();
    Ok(CourseImport { course: draft(c)?, sessions, lessons, publish: c.published })
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
