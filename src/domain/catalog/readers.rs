//! Reads by id, and the batch readers behind the GraphQL loaders: each takes many ids and
//! answers in one query, grouped by the id asked about.
//!
//! Instructors are read here by public display name only, never by e-mail or full identity.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::{course, course_tag, lesson, session, user};
use crate::error::AppResult;

/// One course of the tenant, whatever its status (admin and internal use).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, course.id = %id))]
pub async fn course(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<course::Model>> {
    Ok(scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// One session of the tenant, cancelled or not.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.id = %id))]
pub async fn session_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<session::Model>> {
    Ok(scoped::<session::Entity>(tenant_id)
        .filter(session::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// Sessions (not cancelled) of several courses, by start date: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn sessions_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<session::Model>>> {
    sessions_after(services, tenant_id, courses, None).await
}

/// Upcoming sessions (not cancelled, not started) of several courses, by start date: one query,
/// an index range per course (`ix_sessions_course_start`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn upcoming_sessions_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<session::Model>>> {
    sessions_after(services, tenant_id, courses, Some(services.clock.now())).await
}

async fn sessions_after(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> AppResult<HashMap<Uuid, Vec<session::Model>>> {
    let mut q = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::CourseId.is_in(courses.iter().copied()))
        .filter(session::Column::Cancelled.eq(false));
    if let Some(t) = after {
        q = q.filter(session::Column::StartsAt.gt(t));
    }
    let rows = q.order_by_asc(session::Column::StartsAt).all(&services.db).await?;
    Ok(group(rows, |s| (s.course_id, s)))
}

/// Lessons of several courses, in order: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn lessons_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<lesson::Model>>> {
    let rows = scoped::<lesson::Entity>(tenant_id)
        .filter(lesson::Column::CourseId.is_in(courses.iter().copied()))
        .order_by_asc(lesson::Column::Position)
        .all(&services.db)
        .await?;
    Ok(group(rows, |l| (l.course_id, l)))
}

/// Tags of several courses: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn tags_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows = scoped::<course_tag::Entity>(tenant_id)
        .filter(course_tag::Column::CourseId.is_in(courses.iter().copied()))
        .order_by_asc(course_tag::Column::Tag)
        .all(&services.db)
        .await?;
    Ok(group(rows, |t| (t.course_id, t.tag)))
}

/// Courses by id (any status): one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = ids.len()))]
pub async fn courses_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, course::Model>> {
    let rows = scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

/// Sessions by id: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = ids.len()))]
pub async fn sessions_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, session::Model>> {
    let rows = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|s| (s.id, s)).collect())
}

/// Public display names of instructors: the chosen display name, else first name and the
/// initial of the last name ("Inès M."). Never e-mail or full identity.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = ids.len()))]
pub async fn instructor_names(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String, String, Option<String>)> = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::FirstName)
        .column(user::Column::LastName)
        .column(user::Column::DisplayName)
        .into_tuple()
        .all(&services.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, first, last, display)| {
            let name = display.unwrap_or_else(|| match last.chars().next() {
                Some(i) => format!("{first} {i}."),
                None => first,
            });
            (id, name)
        })
        .collect())
}
