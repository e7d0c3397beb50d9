//! Learning: enrollments (with the capacity guard), lesson completion and progress, rosters,
//! live classes and their attendance statistics and recordings.
//!
//! Capacity is decided by the database: a seat is taken by
//! `UPDATE sessions SET seats_taken = seats_taken + 1 WHERE id = ? AND seats_taken < capacity`
//! as the first statement of the enrollment transaction (on SQLite this also takes the write
//! lock up front, so concurrent transactions queue instead of failing on a stale snapshot), and
//! a partial unique index refuses a second live enrollment of the same learner in a session.
//! The reserve / activate / cancel operations take a connection so the shop can run them inside
//! its own order transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::Services;
use super::catalog::{self, CourseStatus};
use super::tenancy::scoped;
use super::types::HttpsUrl;
use crate::entities::{
    enrollment, lesson, lesson_completion, live_class, live_class_attendance, order_line, session,
};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

pub use crate::entities::enums::EnrollmentStatus;

impl EnrollmentStatus {
    /// Paid up (or free) and not cancelled: the learner takes part in the session (joins its
    /// room, watches its recordings).
    pub fn is_live(self) -> bool {
        matches!(self, EnrollmentStatus::Active | EnrollmentStatus::Completed)
    }
}

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
async fn bookable(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(session::Model, crate::entities::course::Model)> {
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

/// Enrollments of several learners (not cancelled), newest first: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, learner.count = learners.len()))]
pub async fn enrollments_of(
    services: &Services,
    tenant_id: Uuid,
    learners: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<enrollment::Model>>> {
    let rows = scoped::<enrollment::Entity>(tenant_id)
        .filter(enrollment::Column::LearnerId.is_in(learners.iter().copied()))
        .filter(enrollment::Column::Status.ne(EnrollmentStatus::Cancelled))
        .order_by_desc(enrollment::Column::CreatedAt)
        .all(&services.db)
        .await?;
    let mut map: HashMap<Uuid, Vec<enrollment::Model>> = HashMap::new();
    for r in rows {
        map.entry(r.learner_id).or_default().push(r);
    }
    Ok(map)
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
    let mut map: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        map.entry(r.enrollment_id).or_default().push(r.lesson_id);
    }
    Ok(map)
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

/// A meeting to schedule.
#[derive(Clone, Debug)]
pub struct LiveClassDraft {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub recorded: bool,
}

/// A live class with what the policy needs about it: its session's instructor (who may watch
/// its recording).
#[derive(Clone, Debug)]
pub struct LiveClassRecord {
    pub class: live_class::Model,
    pub instructor: Option<Uuid>,
}

/// Schedules a live class for a session (admin, or the session's instructor).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, session.id = %session_id))]
pub async fn schedule_live_class(
    services: &Services,
    actor: &Actor,
    session_id: Uuid,
    d: LiveClassDraft,
) -> AppResult<LiveClassRecord> {
    let s = catalog::session_by_id(services, actor.tenant_id, session_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::may_schedule_live_class(actor, s.instructor_id) {
        return Err(AppError::Forbidden);
    }
    if s.cancelled {
        return Err(AppError::Conflict("this session is cancelled".into()));
    }
    if d.ends_at <= d.starts_at {
        return Err(AppError::bad_input("input.endsAt", "must be after startsAt"));
    }
    let m = live_class::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        session_id,
        title: d.title,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        recorded: d.recorded,
        recording_ref: None,
    };
    live_class::Entity::insert(live_class::ActiveModel::from(m.clone()))
        .exec_without_returning(&services.db)
        .await?;
    Ok(LiveClassRecord { class: m, instructor: s.instructor_id })
}

/// One participant's statistics, as sent by the virtual-classroom integration.
#[derive(Clone, Debug)]
pub struct Participation {
    pub learner_id: Uuid,
    pub joined_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
    pub talk_seconds: i32,
    pub chat_messages: i32,
    pub hand_raises: i32,
    pub poll_answers: i32,
}

/// Records (replaces) attendance statistics and optionally the recording reference of a live
/// class. Integration accounts only; every participant must be enrolled in the session; all or
/// nothing.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, live_class.id = %live_class_id))]
pub async fn record_live_class(
    services: &Services,
    actor: &Actor,
    live_class_id: Uuid,
    participants: Vec<Participation>,
    recording_ref: Option<HttpsUrl>,
) -> AppResult<LiveClassRecord> {
    if !policy::may_report_attendance(actor) {
        return Err(AppError::Forbidden);
    }
    if participants.len() > 1000 {
        return Err(AppError::bad_input(
            "input.participants",
            "at most 1000 participants per report",
        ));
    }
    let lc = scoped::<live_class::Entity>(actor.tenant_id)
        .filter(live_class::Column::Id.eq(live_class_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let enrolled: HashSet<Uuid> = roster(services, actor.tenant_id, lc.session_id)
        .await?
        .into_iter()
        .map(|e| e.learner_id)
        .collect();
    for (i, p) in participants.iter().enumerate() {
        if !enrolled.contains(&p.learner_id) {
            return Err(AppError::bad_input(
                format!("input.participants.{i}.learnerId"),
                "is not enrolled in this session",
            ));
        }
        if p.left_at < p.joined_at {
            return Err(AppError::bad_input(
                format!("input.participants.{i}.leftAt"),
                "must not be before joinedAt",
            ));
        }
        if [p.talk_seconds, p.chat_messages, p.hand_raises, p.poll_answers].iter().any(|n| *n < 0) {
            return Err(AppError::bad_input(
                format!("input.participants.{i}"),
                "counts must not be negative",
            ));
        }
    }
    if recording_ref.is_some() && !lc.recorded {
        return Err(AppError::bad_input("input.recordingRef", "this live class is not recorded"));
    }
    let tenant_id = actor.tenant_id;
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                for p in participants {
                    live_class_attendance::Entity::delete_many()
                        .filter(live_class_attendance::Column::LiveClassId.eq(live_class_id))
                        .filter(live_class_attendance::Column::LearnerId.eq(p.learner_id))
                        .exec(txn)
                        .await?;
                    live_class_attendance::Entity::insert(live_class_attendance::ActiveModel {
                        live_class_id: Set(live_class_id),
                        learner_id: Set(p.learner_id),
                        tenant_id: Set(tenant_id),
                        joined_at: Set(p.joined_at),
                        left_at: Set(p.left_at),
                        talk_seconds: Set(p.talk_seconds),
                        chat_messages: Set(p.chat_messages),
                        hand_raises: Set(p.hand_raises),
                        poll_answers: Set(p.poll_answers),
                    })
                    .exec_without_returning(txn)
                    .await?;
                }
                if let Some(r) = recording_ref {
                    live_class::Entity::update_many()
                        .col_expr(live_class::Column::RecordingRef, Expr::value(r.into_inner()))
                        .filter(live_class::Column::Id.eq(live_class_id))
                        .exec(txn)
                        .await?;
                }
                Ok(())
            })
        })
        .await?;
    let class = scoped::<live_class::Entity>(actor.tenant_id)
        .filter(live_class::Column::Id.eq(live_class_id))
        .one(&services.db)
        .await?
        .unwrap_or(lc);
    let instructor = catalog::session_by_id(services, actor.tenant_id, class.session_id)
        .await?
        .and_then(|x| x.instructor_id);
    Ok(LiveClassRecord { class, instructor })
}

/// Live classes of several sessions, by start: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.count = sessions.len()))]
pub async fn live_classes_of(
    services: &Services,
    tenant_id: Uuid,
    sessions: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<live_class::Model>>> {
    let rows = scoped::<live_class::Entity>(tenant_id)
        .filter(live_class::Column::SessionId.is_in(sessions.iter().copied()))
        .order_by_asc(live_class::Column::StartsAt)
        .all(&services.db)
        .await?;
    let mut map: HashMap<Uuid, Vec<live_class::Model>> = HashMap::new();
    for r in rows {
        map.entry(r.session_id).or_default().push(r);
    }
    Ok(map)
}

/// Attendance rows of several learners: one query.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, learner.count = learners.len()))]
pub async fn attendance_of(
    services: &Services,
    tenant_id: Uuid,
    learners: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<live_class_attendance::Model>>> {
    let rows = scoped::<live_class_attendance::Entity>(tenant_id)
        .filter(live_class_attendance::Column::LearnerId.is_in(learners.iter().copied()))
        .all(&services.db)
        .await?;
    let mut map: HashMap<Uuid, Vec<live_class_attendance::Model>> = HashMap::new();
    for r in rows {
        map.entry(r.learner_id).or_default().push(r);
    }
    Ok(map)
}

/// When a live class's recording stops being available: the tenant keeps recordings 7 or 14
/// days after the class (SPEC §5).
pub fn recording_expires_at(lc: &live_class::Model, retention_days: i64) -> DateTime<Utc> {
    lc.ends_at + Duration::days(retention_days)
}

/// The recording of `lc` as `actor` may see it (`policy::may_watch_recording`): `FORBIDDEN`
/// unless they hold a live enrollment in its session (`own`: the actor's enrollments) or are
/// its `instructor`; `None` when there is none or once it has expired at `now`.
pub fn recording(
    actor: &Actor,
    lc: &live_class::Model,
    instructor: Option<Uuid>,
    own: &[enrollment::Model],
    retention_days: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let enrolled = own.iter().any(|e| {
        Some(e.learner_id) == actor.user_id && e.session_id == lc.session_id && e.status.is_live()
    });
    if !policy::may_watch_recording(actor, enrolled, instructor) {
        return Err(AppError::Forbidden);
    }
    let expired = recording_expires_at(lc, retention_days) <= now;
    Ok(if expired { None } else { lc.recording_ref.clone() })
}
