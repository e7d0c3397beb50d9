//! Admin writes on sessions (cohorts): creation, changes (the capacity never below the seats
//! taken) and cancellation, which cancels the session's live enrollments and frees their seats.
//! Each write commits with its audit record; refunds are the shop's.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::readers::{course, session_by_id};
use super::{Format, next_start, record, require_admin};
use crate::domain::Services;
use crate::domain::types::HttpsUrl;
use crate::entities::enums::{EnrollmentStatus, StoredRole};
use crate::entities::{session, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::Actor;

/// A new session (cohort), parsed.
#[derive(Clone, Debug)]
pub struct SessionDraft {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub instructor_id: Option<Uuid>,
    pub capacity: i32,
    pub location: Option<String>,
    pub virtual_room: Option<HttpsUrl>,
}

async fn check_instructor(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
    field: &str,
) -> AppResult<()> {
    let ok = crate::domain::accounts::held_roles(tenant_id)
        .filter(user_role::Column::UserId.eq(id))
        .filter(user_role::Column::Role.eq(StoredRole::Instructor))
        .one(&services.db)
        .await?
        .is_some();
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(field, "is not an instructor of this organisation"))
    }
}

fn check_session_shape(format: Format, d: &SessionDraft) -> AppResult<()> {
    if d.ends_at <= d.starts_at {
        return Err(AppError::bad_input("input.endsAt", "must be after startsAt"));
    }
    if !(1..=10_000).contains(&d.capacity) {
        return Err(AppError::bad_input("input.capacity", "must be between 1 and 10000"));
    }
    match format {
        Format::InPerson if d.location.is_none() => {
            Err(AppError::bad_input("input.location", "is required for an in-person course"))
        }
        Format::VirtualClass if d.virtual_room.is_none() => {
            Err(AppError::bad_input("input.virtualRoom", "is required for a virtual-class course"))
        }
        _ => Ok(()),
    }
}

/// Adds a session to a course (admin).
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        course.id = %course_id,
    )
)]
pub async fn create_session(
    services: &Services,
    actor: &Actor,
    course_id: Uuid,
    d: SessionDraft,
) -> AppResult<session::Model> {
    require_admin(actor)?;
    let c = course(services, actor.tenant_id, course_id).await?.ok_or(AppError::NotFound)?;
    check_session_shape(c.format, &d)?;
    if let Some(i) = d.instructor_id {
        check_instructor(services, actor.tenant_id, i, "input.instructorId").await?;
    }
    let now = services.clock.now();
    let model = session::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        course_id,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        instructor_id: d.instructor_id,
        capacity: d.capacity,
        seats_taken: 0,
        location: d.location,
        virtual_room: d.virtual_room.map(HttpsUrl::into_inner),
        cancelled: false,
        created_at: now,
    };
    let (m, actor) = (model.clone(), actor.clone());
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                session::Entity::insert(session::ActiveModel::from(m.clone()))
                    .exec_without_returning(txn)
                    .await?;
                next_start::refresh(txn, m.course_id, now).await?;
                record(txn, &actor, now, "session.created", m.id).await
            })
        })
        .await?;
    Ok(model)
}

/// Changes a session's dates, instructor, capacity or place (admin). The capacity can never go
/// below the seats already taken: the check is part of the UPDATE itself.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        session.id = %id,
    )
)]
pub async fn update_session(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    d: SessionDraft,
) -> AppResult<session::Model> {
    require_admin(actor)?;
    let s = session_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let c = course(services, actor.tenant_id, s.course_id).await?.ok_or(AppError::NotFound)?;
    check_session_shape(c.format, &d)?;
    if let Some(i) = d.instructor_id {
        check_instructor(services, actor.tenant_id, i, "input.instructorId").await?;
    }
    let (now, course_id) = (services.clock.now(), s.course_id);
    let actor = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let res = session::Entity::update_many()
                    .col_expr(session::Column::StartsAt, Expr::value(d.starts_at))
                    .col_expr(session::Column::EndsAt, Expr::value(d.ends_at))
                    .col_expr(session::Column::InstructorId, Expr::value(d.instructor_id))
                    .col_expr(session::Column::Capacity, Expr::value(d.capacity))
                    .col_expr(session::Column::Location, Expr::value(d.location))
                    .col_expr(
                        session::Column::VirtualRoom,
                        Expr::value(d.virtual_room.map(HttpsUrl::into_inner)),
                    )
                    .filter(session::Column::Id.eq(id))
                    .filter(session::Column::SeatsTaken.lte(d.capacity))
                    .exec(txn)
                    .await?;
                if res.rows_affected != 1 {
                    return Err(AppError::bad_input(
                        "input.capacity",
                        "is below the number of seats already taken",
                    ));
                }
                next_start::refresh(txn, course_id, now).await?;
                record(txn, &actor, now, "session.updated", id).await
            })
        })
        .await?;
    session_by_id(services, s.tenant_id, id).await?.ok_or(AppError::NotFound)
}

/// Cancels a session (admin): it leaves the catalogue, its live enrollments are cancelled and its
/// seats freed, in one transaction with the audit record. Returns how many enrollments were
/// cancelled (refunds of paid ones belong to the shop). Idempotent.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        session.id = %id,
    )
)]
pub async fn cancel_session(services: &Services, actor: &Actor, id: Uuid) -> AppResult<u64> {
    require_admin(actor)?;
    let s = session_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let (actor, now, course_id) = (actor.clone(), services.clock.now(), s.course_id);
    Ok(services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                session::Entity::update_many()
                    .col_expr(session::Column::Cancelled, Expr::value(true))
                    .col_expr(session::Column::SeatsTaken, Expr::value(0))
                    .filter(session::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                let live = [EnrollmentStatus::PendingPayment, EnrollmentStatus::Active];
                let cancelled = crate::entities::enrollment::Entity::update_many()
                    .col_expr(
                        crate::entities::enrollment::Column::Status,
                        Expr::value(EnrollmentStatus::Cancelled),
                    )
                    .col_expr(crate::entities::enrollment::Column::CancelledAt, Expr::value(now))
                    .filter(crate::entities::enrollment::Column::SessionId.eq(id))
                    .filter(crate::entities::enrollment::Column::Status.is_in(live))
                    .exec(txn)
                    .await?
                    .rows_affected;
                next_start::refresh(txn, course_id, now).await?;
                record(txn, &actor, now, "session.cancelled", id).await?;
                Ok(cancelled)
            })
        })
        .await?)
}
