//! Progress: a learner marks the lessons of their active enrollment done, and the enrollment
//! is completed with the last lesson of its course.
//! Completion is idempotent, and concurrent completions of one enrollment take turns (the
//! transaction starts by locking it).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::EnrollmentStatus;
use super::enrollments::enrollment_by_id;
use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::catalog;
use crate::domain::tenancy::scoped;
use crate::entities::{enrollment, lesson, lesson_completion};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// How far an enrollment is: lessons of its course completed, and lessons in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressCounts {
    pub completed: i64,
    pub total: i64,
}

/// The two correlated counts of [`ProgressCounts`] as select expressions, named `completed`
/// and `total`, for a statement that has the enrollment and its session in scope: the lessons
/// of the session's course, and the completions of those lessons by the enrollment. Completions
/// of a lesson since removed from the course do not count.
pub(super) fn count_columns(tenant_id: Uuid) -> [(Expr, &'static str); 2] {
    use sea_orm::sea_query::{ExprTrait, Func, Query};

    use crate::entities::session;
    let course_of_session = || Expr::col((session::Entity, session::Column::CourseId));
    let lessons = Query::select()
        .expr(Func::count(Expr::col((lesson::Entity, lesson::Column::Id))))
        .from(lesson::Entity)
        .and_where(Expr::col((lesson::Entity, lesson::Column::TenantId)).eq(tenant_id))
        .and_where(Expr::col((lesson::Entity, lesson::Column::CourseId)).eq(course_of_session()))
        .to_owned();
    let done = Query::select()
        .expr(Func::count(Expr::col((lesson::Entity, lesson::Column::Id))))
        .from(lesson_completion::Entity)
        .inner_join(
            lesson::Entity,
            Expr::col((lesson::Entity, lesson::Column::Id))
                .equals((lesson_completion::Entity, lesson_completion::Column::LessonId))
                .and(Expr::col((lesson::Entity, lesson::Column::TenantId)).eq(tenant_id))
                .and(Expr::col((lesson::Entity, lesson::Column::CourseId)).eq(course_of_session())),
        )
        .and_where(
            Expr::col((lesson_completion::Entity, lesson_completion::Column::TenantId))
                .eq(tenant_id),
        )
        .and_where(
            Expr::col((lesson_completion::Entity, lesson_completion::Column::EnrollmentId))
                .equals((enrollment::Entity, enrollment::Column::Id)),
        )
        .to_owned();
    [
        (Expr::SubQuery(None, Box::new(done.into())), "completed"),
        (Expr::SubQuery(None, Box::new(lessons.into())), "total"),
    ]
}

/// [`ProgressCounts`] of several enrollments: one statement, the counts made by the database
/// (each enrollment joined to its session for the course, see [`count_columns`]). Enrollments
/// of another tenant are not found.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.count = enrollments.len()))]
pub async fn progress_counts_of(
    services: &Services,
    tenant_id: Uuid,
    enrollments: &[Uuid],
) -> AppResult<HashMap<Uuid, ProgressCounts>> {
    use sea_orm::{FromQueryResult, JoinType, QuerySelect};

    #[derive(FromQueryResult)]
    struct Row {
        id: Uuid,
        completed: i64,
        total: i64,
    }
    let mut q =
        scoped::<enrollment::Entity>(tenant_id).select_only().column(enrollment::Column::Id);
    for (expr, name) in count_columns(tenant_id) {
        q = q.expr_as(expr, name);
    }
    let rows = q
        .join(JoinType::InnerJoin, super::enrollments::to_session(tenant_id))
        .filter(enrollment::Column::Id.is_in(enrollments.iter().copied()))
        .into_model::<Row>()
        .all(&services.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, ProgressCounts { completed: r.completed, total: r.total }))
        .collect())
}

/// Completed lesson ids of several enrollments: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.count = enrollments.len()))]
pub async fn completions_of(
    services: &Services,
    tenant_id: Uuid,
    enrollments: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = scoped::<lesson_completion::Entity>(tenant_id)
        .filter(lesson_completion::Column::EnrollmentId.is_in(enrollments.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.enrollment_id, r.lesson_id)))
}

/// Marks a lesson complete for the learner's own active enrollment; completes the enrollment
/// when every lesson of the course is done. Idempotent.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, enrollment.id = %enrollment_id, lesson.id = %lesson_id))]
pub async fn complete_lesson(
    services: &Services,
    actor: &Actor,
    enrollment_id: Uuid,
    lesson_id: Uuid,
) -> AppResult<enrollment::Model> {
    let e = enrollment_by_id(services, actor.tenant_id, enrollment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::may_record_progress(actor, e.learner_id) {
        return Err(AppError::Forbidden);
    }
    match e.status {
        EnrollmentStatus::Active | EnrollmentStatus::Completed => {}
        _ => return Err(AppError::Conflict("this enrollment is not active".into())),
    }
    let s = catalog::session_by_id(services, actor.tenant_id, e.session_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lessons: Vec<lesson::Model> =
        catalog::lessons_of(services, actor.tenant_id, &[s.course_id])
            .await?
            .remove(&s.course_id)
            .unwrap_or_default();
    if !lessons.iter().any(|l| l.id == lesson_id) {
        return Err(AppError::bad_input("input.lessonId", "is not a lesson of this course"));
    }
    let (tenant_id, now) = (actor.tenant_id, services.clock.now());
    let lesson_ids: Vec<Uuid> = lessons.iter().map(|l| l.id).collect();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                // First statement: a write that locks this enrollment, so concurrent completions
                // of the same enrollment take turns (and SQLite takes its write lock up front).
                let live = [EnrollmentStatus::Active, EnrollmentStatus::Completed];
                let locked = enrollment::Entity::update_many()
                    .col_expr(enrollment::Column::Status, Expr::col(enrollment::Column::Status))
                    .filter(enrollment::Column::Id.eq(enrollment_id))
                    .filter(enrollment::Column::Status.is_in(live))
                    .exec(txn)
                    .await?;
                if locked.rows_affected != 1 {
                    return Err(AppError::Conflict("this enrollment is not active".into()));
                }
                lesson_completion::Entity::insert(lesson_completion::ActiveModel {
                    enrollment_id: Set(enrollment_id),
                    lesson_id: Set(lesson_id),
                    tenant_id: Set(tenant_id),
                    completed_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([
                        lesson_completion::Column::EnrollmentId,
                        lesson_completion::Column::LessonId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
                let done: HashSet<Uuid> = scoped::<lesson_completion::Entity>(tenant_id)
                    .filter(lesson_completion::Column::EnrollmentId.eq(enrollment_id))
                    .all(txn)
                    .await?
                    .into_iter()
                    .map(|c| c.lesson_id)
                    .collect();
                if lesson_ids.iter().all(|l| done.contains(l)) {
                    enrollment::Entity::update_many()
                        .col_expr(
                            enrollment::Column::Status,
                            Expr::value(EnrollmentStatus::Completed),
                        )
                        .col_expr(enrollment::Column::CompletedAt, Expr::value(now))
                        .filter(enrollment::Column::Id.eq(enrollment_id))
                        .filter(enrollment::Column::Status.eq(EnrollmentStatus::Active))
                        .exec(txn)
                        .await?;
                }
                Ok(())
            })
        })
        .await?;
    enrollment_by_id(services, actor.tenant_id, enrollment_id).await?.ok_or(AppError::NotFound)
}
