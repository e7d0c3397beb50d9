//! Enrollments as people make them and read them: a learner (or their guardian) enrolls in a
//! session of a free course or cancels, and the reads behind the API and the policy (one
//! enrollment, the enrollments of many learners in one query, a session's roster, the learners
//! of an instructor).
//!
//! Who acts for whom is `policy::acts_for`; who may read a roster is decided by the caller
//! (`visibility::roster`), never here. Paid courses are booked through the shop, not here.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, DbErr, FromQueryResult, JoinType, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, Select, TransactionTrait,
};
use uuid::Uuid;

use super::EnrollmentStatus;
use super::progress::{self, ProgressCounts};
use super::seats::{bookable, release, take_seat};
use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::tenancy::{join_within, scoped};
use crate::entities::{course, enrollment, session};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// Enrolls the actor (or their ward) in a session of a free, published course.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, session.id = %session_id))]
pub async fn enroll(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    session_id: Uuid,
    learner: Option<Uuid>,
) -> AppResult<enrollment::Model> {
    let me = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let learner = learner.unwrap_or(me);
    if !policy::acts_for(actor, relations, learner) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let (_, c) = bookable(services, actor.tenant_id, session_id, now).await?;
    if c.price_cents > 0 {
        return Err(AppError::Conflict(
            "this course is not free: order it through the shop".into(),
        ));
    }
    let tenant_id = actor.tenant_id;
    Ok(services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                take_seat(txn, tenant_id, session_id, learner, EnrollmentStatus::Active, now, None)
                    .await
            })
        })
        .await?)
}

/// Cancels an enrollment (the learner or their guardian) and frees the seat.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, enrollment.id = %enrollment_id))]
pub async fn cancel(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    enrollment_id: Uuid,
) -> AppResult<enrollment::Model> {
    let e = enrollment_by_id(services, actor.tenant_id, enrollment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::acts_for(actor, relations, e.learner_id) {
        return Err(AppError::Forbidden);
    }
    if e.status == EnrollmentStatus::Completed {
        return Err(AppError::Conflict("a completed enrollment cannot be cancelled".into()));
    }
    release(&services.db, actor.tenant_id, enrollment_id, services.clock.now()).await?;
    enrollment_by_id(services, actor.tenant_id, enrollment_id).await?.ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.id = %id))]
pub async fn enrollment_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<enrollment::Model>> {
    Ok(scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// The live (not cancelled) enrollments of several learners, newest first.
fn live_enrollments_of(tenant_id: Uuid, learners: &[Uuid]) -> Select<enrollment::Entity> {
    scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::LearnerId.is_in(learners.iter().copied()))
        .filter(enrollment::Column::Status.ne(EnrollmentStatus::Cancelled))
        .order_by_desc(enrollment::Column::CreatedAt)
}

/// Enrollments of several learners (not cancelled), newest first: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, learner.count = learners.len()))]
pub async fn enrollments_of(
    services: &Services,
    tenant_id: Uuid,
    learners: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<enrollment::Model>>> {
    let rows = live_enrollments_of(tenant_id, learners).all(&services.db).await?;
    Ok(group(rows, |r| (r.learner_id, r)))
}

/// The join from an enrollment to its session, within the tenant.
pub(super) fn to_session(tenant_id: Uuid) -> sea_orm::RelationDef {
    join_within::<enrollment::Entity, session::Entity>(
        enrollment::Column::SessionId,
        session::Column::Id,
        tenant_id,
    )
}

/// A live enrollment as its learner's list shows it: with its session, the session's course
/// and how far it is.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub enrollment: enrollment::Model,
    pub session: session::Model,
    pub course: course::Model,
    pub progress: ProgressCounts,
}

impl FromQueryResult for Enrolled {
    fn from_query_result(row: &QueryResult, _: &str) -> Result<Self, DbErr> {
        Ok(Enrolled {
            enrollment: enrollment::Model::from_query_result(row, "A_")?,
            session: session::Model::from_query_result(row, "B_")?,
            course: course::Model::from_query_result(row, "C_")?,
            progress: ProgressCounts {
                completed: row.try_get("", "completed")?,
                total: row.try_get("", "total")?,
            },
        })
    }
}

/// The live enrollments of several learners, newest first, each with its session, the
/// session's course and its progress (counted by the database): one statement whatever their
/// number, so that a learner's list costs one round trip (`tests/learning.rs` counts them).
/// Sessions and courses are joined within the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, learner.count = learners.len()))]
pub async fn enrolled_of(
    services: &Services,
    tenant_id: Uuid,
    learners: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Enrolled>>> {
    use sea_orm::sea_query::{IntoIden, SelectExpr};
    use sea_orm::{IdenStatic, Iterable, QueryTrait};

    let mut q = live_enrollments_of(tenant_id, learners)
        .join(JoinType::InnerJoin, to_session(tenant_id))
        .join(
            JoinType::InnerJoin,
            join_within::<session::Entity, course::Entity>(
                session::Column::CourseId,
                course::Column::Id,
                tenant_id,
            ),
        )
        // The enrollment's columns as `A_…`, the session's as `B_…` (sea-orm's names).
        .select_also(session::Entity);
    for col in course::Column::iter() {
        QueryTrait::query(&mut q).expr(SelectExpr {
            expr: col.select_as(col.into_expr()),
            alias: Some(format!("C_{}", col.as_str()).into_iden()),
            window: None,
        });
    }
    for (expr, name) in progress::count_columns(tenant_id) {
        q = q.expr_as(expr, name);
    }
    let statement = services.db.get_database_backend().build(QueryTrait::as_query(&q));
    let rows = Enrolled::find_by_statement(statement).all(&services.db).await?;
    Ok(group(rows, |e| (e.enrollment.learner_id, e)))
}

/// The live enrollments of a session, for its roster. Access is decided by the caller through
/// [`policy::may_read_roster`] (see `visibility::roster`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.id = %session_id))]
pub async fn roster(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
) -> AppResult<Vec<enrollment::Model>> {
    Ok(scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::SessionId.eq(session_id))
        .filter(enrollment::Column::Status.ne(EnrollmentStatus::Cancelled))
        .order_by_asc(enrollment::Column::CreatedAt)
        .all(&services.db)
        .await?)
}

/// Learners of the sessions `instructor` teaches (live enrollments): the instructor column of
/// the need-to-know matrix.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, instructor.id = %instructor))]
pub async fn learners_of_instructor(
    services: &Services,
    tenant_id: Uuid,
    instructor: Uuid,
) -> AppResult<HashSet<Uuid>> {
    let sessions: Vec<Uuid> = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::InstructorId.eq(instructor))
        .all(&services.db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if sessions.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::SessionId.is_in(sessions))
        .filter(enrollment::Column::Status.ne(EnrollmentStatus::Cancelled))
        .all(&services.db)
        .await?
        .into_iter()
        .map(|e| e.learner_id)
        .collect())
}
