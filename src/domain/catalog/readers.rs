//! Reads by id, and the batch readers behind the GraphQL loaders: each takes many ids and
//! answers in one query, grouped by the id asked about.
//!
//! Instructors are read here by public display name only, never by e-mail or full identity.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, JoinType, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
};
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::in_order::{InOrder, ReadInOrder, read_rows};
use crate::domain::tenancy::{join_within, scoped};
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

/// Upcoming sessions by course, and the public names of their instructors by id.
pub struct SessionsAndInstructors {
    pub sessions: HashMap<Uuid, Vec<session::Model>>,
    pub instructors: HashMap<Uuid, String>,
}

/// Upcoming sessions of several courses, as [`upcoming_sessions_of`], with the public names of
/// their instructors ([`instructor_names`]' rule) joined in: one query for both.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = courses.len()))]
pub async fn upcoming_sessions_and_instructors(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<SessionsAndInstructors> {
    let instructor = join_within::<session::Entity, user::Entity>(
        session::Column::InstructorId,
        user::Column::Id,
        tenant_id,
    );
    let [first, last, display] = INSTRUCTOR_NAMES;
    let statement = sessions_query(tenant_id, courses, Some(services.clock.now()))
        .join(JoinType::LeftJoin, instructor)
        .column_as(user::Column::FirstName, first)
        .column_as(user::Column::LastName, last)
        .column_as(user::Column::DisplayName, display)
        .build(services.db.get_database_backend());
    let rows = services.db.query_all_raw(statement).await?;
    let mut names = HashMap::new();
    let mut sessions: HashMap<Uuid, Vec<session::Model>> = HashMap::new();
    for row in read_rows(&rows, WithInstructor::read)? {
        if let (Some(id), Some(name)) = (row.session.instructor_id, row.name) {
            names.insert(id, name);
        }
        sessions.entry(row.session.course_id).or_default().push(row.session);
    }
    Ok(SessionsAndInstructors { sessions, instructors: names })
}

/// A session and its instructor's public name (when it has one of this tenant).
struct WithInstructor {
    session: session::Model,
    name: Option<String>,
}

impl WithInstructor {
    /// A row of [`upcoming_sessions_and_instructors`]' statement: the session's columns in
    /// order, then the instructor's names ([`INSTRUCTOR_NAMES`]).
    fn read(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        let session = session::Model::read_in_order(r)?;
        let [first, last, display] = INSTRUCTOR_NAMES;
        let first: Option<String> = r.read(first)?;
        let last: Option<String> = r.read(last)?;
        let display: Option<String> = r.read(display)?;
        Ok(WithInstructor {
            session,
            name: first.map(|first| public_name(first, &last.unwrap_or_default(), display)),
        })
    }
}

/// The instructor's names in [`upcoming_sessions_and_instructors`]' statement, after the
/// session's columns.
const INSTRUCTOR_NAMES: [&str; 3] =
    ["instructor_first_name", "instructor_last_name", "instructor_display_name"];

fn sessions_query(
    tenant_id: Uuid,
    courses: &[Uuid],
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> Select<session::Entity> {
    let mut q = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::CourseId.is_in(courses.iter().copied()))
        .filter(session::Column::Cancelled.eq(false));
    if let Some(t) = after {
        q = q.filter(session::Column::StartsAt.gt(t));
    }
    q.order_by_asc(session::Column::StartsAt).order_by_asc(session::Column::Id)
}

async fn sessions_after(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> AppResult<HashMap<Uuid, Vec<session::Model>>> {
    let rows = sessions_query(tenant_id, courses, after).all(&services.db).await?;
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
        .map(|(id, first, last, display)| (id, public_name(first, &last, display)))
        .collect())
}

/// The chosen display name, else the first name and the initial of the last ("Inès M.").
fn public_name(first: String, last: &str, display: Option<String>) -> String {
    display.unwrap_or_else(|| match last.chars().next() {
        Some(i) => format!("{first} {i}."),
        None => first,
    })
}
