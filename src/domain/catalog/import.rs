//! Importing a whole course at once: the course with its tags, its sessions, its lesson outline
//! and its publication, in one transaction. It makes what the admin's step-by-step writes make
//! (`create_course`, `create_session`, `add_lesson`, `set_course_status`), with the same checks
//! and the same audit records, for a catalogue brought in from elsewhere (the demo catalogue, a
//! migration from another platform): all of it or nothing, and one commit instead of one per
//! row.
//!
//! It only creates: a course whose slug is taken is refused (`CONFLICT`) with nothing written,
//! never merged into the existing one.

use std::collections::BTreeSet;

use sea_orm::{EntityTrait, TransactionTrait};
use uuid::Uuid;

use super::courses::{SLUG_TAKEN, draft_model, replace_tags, status_action};
use super::sessions::{check_instructor, check_session_shape, session_model};
use super::{CourseDraft, CourseStatus, SessionDraft, entry, require_admin};
use crate::domain::Services;
use crate::domain::audit;
use crate::entities::{course, lesson, session};
use crate::error::{AppError, AppResult};
use crate::policy::Actor;

/// One lesson of an imported outline.
#[derive(Clone, Debug)]
pub struct LessonDraft {
    pub title: String,
    pub duration_minutes: Option<i32>,
}

/// A whole course to import: the course (with its tags), its sessions, its outline in order,
/// and whether it goes straight into the public catalogue.
#[derive(Clone, Debug)]
pub struct CourseImport {
    pub course: CourseDraft,
    pub sessions: Vec<SessionDraft>,
    pub lessons: Vec<LessonDraft>,
    pub publish: bool,
}

/// At most this many sessions or lessons in one imported course (a catalogue's course has a
/// handful; this keeps one transaction, and its statements, bounded).
pub const MAX_IMPORTED_ROWS: usize = 200;

/// Imports a course with its sessions and outline, published if asked (admin), in one
/// transaction. The checks are those of the step-by-step writes (each session's shape for the
/// course's format, each instructor named); the audit log gets the records they would have
/// written, in their order: `course.created`, `session.created` for each session,
/// `lesson.created` for each lesson, then `course.published`. Returns the course as stored.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        course.id = tracing::field::Empty,
    )
)]
pub async fn import_course(
    services: &Services,
    actor: &Actor,
    import: CourseImport,
) -> AppResult<course::Model> {
    require_admin(actor)?;
    if import.sessions.len() > MAX_IMPORTED_ROWS || import.lessons.len() > MAX_IMPORTED_ROWS {
        return Err(AppError::bad_input(
            "input",
            format!("at most {MAX_IMPORTED_ROWS} sessions and {MAX_IMPORTED_ROWS} lessons"),
        ));
    }
    for s in &import.sessions {
        check_session_shape(import.course.format, s)?;
    }
    let instructors: BTreeSet<Uuid> =
        import.sessions.iter().filter_map(|s| s.instructor_id).collect();
    for i in instructors {
        check_instructor(services, actor.tenant_id, i, "input.instructorId").await?;
    }
    let now = services.clock.now();
    let mut model = draft_model(actor.tenant_id, now, &import.course);
    tracing::Span::current().record("course.id", tracing::field::display(model.id));
    let sessions: Vec<session::Model> = import
        .sessions
        .into_iter()
        .map(|d| session_model(actor.tenant_id, model.id, now, d))
        .collect();
    let lessons: Vec<lesson::Model> = import
        .lessons
        .into_iter()
        .enumerate()
        .map(|(i, l)| lesson::Model {
            id: Uuid::now_v7(),
            tenant_id: actor.tenant_id,
            course_id: model.id,
            position: i as i32 + 1,
            title: l.title,
            duration_minutes: l.duration_minutes,
        })
        .collect();
    let mut audit_records = vec![entry("course.created", model.id)];
    audit_records.extend(sessions.iter().map(|s| entry("session.created", s.id)));
    audit_records.extend(lessons.iter().map(|l| entry("lesson.created", l.id)));
    if import.publish {
        // Stored published at once: the same row the draft and its publication would leave.
        model.status = CourseStatus::Published;
        audit_records.push(entry(status_action(model.status), model.id));
    }
    let (m, actor, tags) = (model.clone(), actor.clone(), import.course.tags);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                course::Entity::insert(course::ActiveModel::from(m.clone()))
                    .exec_without_returning(txn)
                    .await?;
                replace_tags(txn, m.tenant_id, m.id, &tags).await?;
                if !sessions.is_empty() {
                    session::Entity::insert_many(
                        sessions.into_iter().map(session::ActiveModel::from),
                    )
                    .exec_without_returning(txn)
                    .await?;
                }
                if !lessons.is_empty() {
                    lesson::Entity::insert_many(lessons.into_iter().map(lesson::ActiveModel::from))
                        .exec_without_returning(txn)
                        .await?;
                }
                audit::record_all(txn, &actor, now, audit_records).await
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict(SLUG_TAKEN))?;
    Ok(model)
}
