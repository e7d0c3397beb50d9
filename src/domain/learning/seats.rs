//! Seats: the capacity guard and the holds of pending payments. A seat is taken by a guarded
//! `UPDATE … seats_taken + 1 … WHERE seats_taken < capacity`, the first statement of its
//! transaction, and given back by the matching `- 1`; every status change is a guarded UPDATE,
//! so the shop, the expiry job and learners can race safely.
//!
//! The functions that take a connection (`take_seat`, `activate`, `activate_paid`, `release`)
//! run inside the caller's transaction, in a savepoint where they write several rows: the shop
//! holds and frees the seats of an order with them. Publication and start date are checked by
//! `reserve` and `enroll` (see `bookable`), never by the connection-level pieces.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::EnrollmentStatus;
use crate::domain::Services;
use crate::domain::catalog::{self, CourseStatus};
use crate::domain::tenancy::scoped;
use crate::entities::{course, enrollment, order_line, session};
use crate::error::{AppError, AppResult};

const SOLD_OUT: &str = "this session is sold out";
const ALREADY: &str = "already enrolled in this session";

/// Takes a seat and writes the enrollment, inside its own savepoint of `conn` (a connection or
/// the caller's transaction): a refused enrollment gives its seat back and leaves the caller's
/// transaction usable. The seat update comes first and also checks that the session is not
/// cancelled (callers check publication and start date: see `reserve` and `enroll`). `CONFLICT`
/// when sold out or already enrolled.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.id = %session_id, learner.id = %learner_id))]
pub async fn take_seat<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
    learner_id: Uuid,
    status: EnrollmentStatus,
    now: DateTime<Utc>,
    hold_expires_at: Option<DateTime<Utc>>,
) -> AppResult<enrollment::Model> {
    let txn = conn.begin().await?;
    let taken = session::Entity::update_many()
        .col_expr(session::Column::SeatsTaken, Expr::col(session::Column::SeatsTaken).add(1))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::TenantId.eq(tenant_id))
        .filter(session::Column::Cancelled.eq(false))
        .filter(Expr::col(session::Column::SeatsTaken).lt(Expr::col(session::Column::Capacity)))
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(AppError::Conflict(SOLD_OUT.into()));
    }
    let model = enrollment::Model {
        id: Uuid::now_v7(),
        tenant_id,
        session_id,
        learner_id,
        status,
        created_at: now,
        hold_expires_at,
        activated_at: (status == EnrollmentStatus::Active).then_some(now),
        completed_at: None,
        cancelled_at: None,
    };
    enrollment::Entity::insert(enrollment::ActiveModel::from(model.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict(ALREADY))?;
    txn.commit().await?;
    Ok(model)
}

/// Turns a reserved (pending-payment) enrollment into an active one.
/// A hold that has expired can no longer be activated (its seat may be someone else's).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.id = %enrollment_id))]
pub async fn activate<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    activate_where(conn, tenant_id, enrollment_id, now, true).await
}

/// Activates a reserved enrollment whose payment has been received, even if its hold has just
/// expired: as long as it is still pending its seat was never given back, so it is still this
/// learner's. Returns false when the reservation was already released (or activated).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.id = %enrollment_id))]
pub async fn activate_paid<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    activate_where(conn, tenant_id, enrollment_id, now, false).await
}

async fn activate_where<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
    hold_must_be_live: bool,
) -> AppResult<bool> {
    let mut q = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::Status, Expr::value(EnrollmentStatus::Active))
        .col_expr(enrollment::Column::ActivatedAt, Expr::value(now))
        .col_expr(enrollment::Column::HoldExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(enrollment::Column::Id.eq(enrollment_id))
        .filter(enrollment::Column::TenantId.eq(tenant_id))
        .filter(enrollment::Column::Status.eq(EnrollmentStatus::PendingPayment));
    if hold_must_be_live {
        q = q.filter(enrollment::Column::HoldExpiresAt.gt(now));
    }
    Ok(q.exec(conn).await?.rows_affected == 1)
}

/// Cancels a pending or active enrollment and frees its seat, in a savepoint of `conn`.
/// Returns false when there was nothing to cancel (already cancelled, or completed): idempotent.
///
/// Locks in the same order as [`take_seat`] (the session row, then the enrollment) so a
/// cancellation racing an enrollment cannot deadlock; the seat update is the first write.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.id = %enrollment_id))]
pub async fn release<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    tenant_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    release_where(conn, tenant_id, enrollment_id, now, false).await
}

/// [`release`], or with `only_expired_hold` only a pending enrollment whose hold has expired at
/// `now` (checked in the cancelling UPDATE itself, so a payment that lands meanwhile wins).
async fn release_where<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    tenant_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
    only_expired_hold: bool,
) -> AppResult<bool> {
    let Some(e) = scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::Id.eq(enrollment_id))
        .one(conn)
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let live: &[EnrollmentStatus] = if only_expired_hold {
        &[EnrollmentStatus::PendingPayment]
    } else {
        &[EnrollmentStatus::PendingPayment, EnrollmentStatus::Active]
    };
    if !live.contains(&e.status) {
        return Ok(false);
    }
    let txn = conn.begin().await?;
    session::Entity::update_many()
        .col_expr(session::Column::SeatsTaken, Expr::col(session::Column::SeatsTaken).sub(1))
        .filter(session::Column::Id.eq(e.session_id))
        .filter(session::Column::SeatsTaken.gt(0))
        .exec(&txn)
        .await?;
    let mut cancel = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::Status, Expr::value(EnrollmentStatus::Cancelled))
        .col_expr(enrollment::Column::CancelledAt, Expr::value(now))
        .filter(enrollment::Column::Id.eq(enrollment_id))
        .filter(enrollment::Column::Status.is_in(live.iter().copied()));
    if only_expired_hold {
        cancel = cancel.filter(enrollment::Column::HoldExpiresAt.lte(now));
    }
    let res = cancel.exec(&txn).await?;
    if res.rows_affected != 1 {
        // Cancelled by someone else meanwhile: give the seat back untouched.
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

/// Reserves a seat for `learner` until `hold_until` (status pending payment), in its own
/// transaction: what the shop does when an order is created.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.id = %session_id, learner.id = %learner))]
pub async fn reserve(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    learner: Uuid,
    hold_until: DateTime<Utc>,
) -> AppResult<enrollment::Model> {
    let now = services.clock.now();
    if hold_until <= now {
        return Err(AppError::bad_input("holdUntil", "must be in the future"));
    }
    bookable(services, tenant_id, session_id, now).await?;
    take_seat(
        &services.db,
        tenant_id,
        session_id,
        learner,
        EnrollmentStatus::PendingPayment,
        now,
        Some(hold_until),
    )
    .await
}

/// A session one may still book: of a published course, not cancelled, not started.
pub(super) async fn bookable(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(session::Model, course::Model)> {
    let s =
        catalog::session_by_id(services, tenant_id, session_id).await?.ok_or(AppError::NotFound)?;
    let c = catalog::course(services, tenant_id, s.course_id).await?.ok_or(AppError::NotFound)?;
    if c.status != CourseStatus::Published || s.cancelled {
        return Err(AppError::NotFound);
    }
    if s.starts_at <= now {
        return Err(AppError::Conflict("this session has already started".into()));
    }
    Ok((s, c))
}

/// Activates a reservation in its own transaction (see [`activate`]).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, enrollment.id = %enrollment_id))]
pub async fn activate_reservation(
    services: &Services,
    tenant_id: Uuid,
    enrollment_id: Uuid,
) -> AppResult<bool> {
    activate(&services.db, tenant_id, enrollment_id, services.clock.now()).await
}

/// Cancels every pending-payment enrollment of the tenant whose hold has expired and frees its
/// seat, except those held by an order (the shop expires those with their order); returns how
/// many. Idempotent and safe to run from several instances at once (each
/// cancellation is a guarded update).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn release_expired_holds(services: &Services, tenant_id: Uuid) -> AppResult<u64> {
    let now = services.clock.now();
    // Holds of orders are the shop's: it frees them with their order, after asking Stripe.
    let of_orders = sea_orm::sea_query::Query::select()
        .column(order_line::Column::EnrollmentId)
        .from(order_line::Entity)
        .and_where(order_line::Column::EnrollmentId.is_not_null())
        .to_owned();
    let expired = scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::Status.eq(EnrollmentStatus::PendingPayment))
        .filter(enrollment::Column::HoldExpiresAt.lte(now))
        .filter(enrollment::Column::Id.not_in_subquery(of_orders))
        .all(&services.db)
        .await?;
    let mut released = 0;
    for e in expired {
        if release_where(&services.db, tenant_id, e.id, now, true).await? {
            released += 1;
        }
    }
    Ok(released)
}
