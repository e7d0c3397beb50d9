//! An order's life after checkout: a payment applied (enrollments activated or taken again,
//! invoice issued, receipt queued in the [`outbox`](crate::domain::outbox)), a declined or
//! processing payment recorded, an unpaid order cancelled with its seats given back, and the
//! expiry of unpaid orders whose hold has passed.
//!
//! Every transition is a guarded UPDATE (`… WHERE status IN (…)`) that says whether it moved,
//! so webhooks, the expiry job and staff actions can race and only one of them acts. Seats are
//! always freed in session-id order (`seat_order`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::pricing::reprice;
use super::{OrderStatus, invoice, seat_order};
use crate::domain::Services;
use crate::domain::learning::{self, EnrollmentStatus};
use crate::domain::outbox::{MailKind, queue_mail};
use crate::domain::payments::{IntentStatus, IntentView};
use crate::domain::tenancy::scoped;
use crate::entities::{order, order_line};
use crate::error::{AppError, AppResult};

/// The outcome of applying a payment to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The order became paid now (enrollments activated, invoice issued, receipt queued).
    Applied,
    /// Already paid (or further): nothing to do.
    AlreadyDone,
    /// The amount or currency does not match the order: not applied, flagged in the logs.
    Mismatch,
    /// The order had been cancelled and its seats could not all be taken back.
    SeatsGone,
}

/// Marks an order paid inside `txn`: enrollments activated (or re-taken, for an order that
/// expired meanwhile), invoice issued with the next number, receipt queued. Guarded: only an
/// unpaid (or cancelled-unpaid) order moves.
#[tracing::instrument(skip_all, fields(tenant.id = %order.tenant_id, order.id = %order.id))]
pub async fn apply_payment<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    services: &Services,
    order: &order::Model,
    intent: &IntentView,
) -> AppResult<PaymentOutcome> {
    // A savepoint: an order whose seats cannot all be had stays exactly as it was.
    let sp = conn.begin().await?;
    let outcome = apply_payment_in(&sp, services, order, intent).await?;
    if matches!(outcome, PaymentOutcome::SeatsGone | PaymentOutcome::Mismatch) {
        sp.rollback().await?;
    } else {
        sp.commit().await?;
    }
    Ok(outcome)
}

async fn apply_payment_in<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    services: &Services,
    order: &order::Model,
    intent: &IntentView,
) -> AppResult<PaymentOutcome> {
    if intent.status != IntentStatus::Succeeded {
        return Ok(PaymentOutcome::AlreadyDone);
    }
    if !intent.currency.eq_ignore_ascii_case(&order.currency) {
        tracing::error!(order.id = %order.id, "payment currency differs from the order; not applied");
        return Ok(PaymentOutcome::Mismatch);
    }
    let mut order = order.clone();
    if intent.amount_received != order.total_cents {
        // A discount granted while the buyer was paying may have reached Stripe and not the
        // order (or the other way round): price the order again with the discounts approved
        // now; it is paid if that is what was received.
        let total = reprice(conn, &order).await?;
        if total != intent.amount_received {
            tracing::error!(order.id = %order.id, "payment amount differs from the order; not applied");
            return Ok(PaymentOutcome::Mismatch);
        }
        order = scoped::<order::Entity>(order.tenant_id)
            .filter(order::Column::Id.eq(order.id))
            .one(conn)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let order = &order;
    let now = services.clock.now();
    // An order the expiry job cancelled (unpaid) can still be paid: its seats are taken again
    // below if they are free.
    let mut from = OrderStatus::UNPAID.to_vec();
    from.push(OrderStatus::Cancelled);
    let mut moved = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Paid))
        .col_expr(order::Column::PaidAt, Expr::value(now))
        .col_expr(order::Column::ClosedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(order::Column::LastPaymentError, Expr::value(Option::<String>::None))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    if !intent.id.is_empty() {
        moved = moved.col_expr(order::Column::PaymentIntentId, Expr::value(intent.id.clone()));
    }
    let moved = moved
        .filter(order::Column::Id.eq(order.id))
        .filter(order::Column::Status.is_in(from))
        .filter(order::Column::PaidAt.is_null())
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(PaymentOutcome::AlreadyDone);
    }
    let mut lines = scoped::<order_line::Entity>(order.tenant_id)
        .filter(order_line::Column::OrderId.eq(order.id))
        .order_by_asc(order_line::Column::SessionId)
        .all(conn)
        .await?;
    let learner = order.learner_id.or(order.buyer_id).ok_or(AppError::NotFound)?;
    // Session-id order, as everywhere seats are taken or given back (see `seat_order`).
    for l in &lines {
        let activated = match l.enrollment_id {
            Some(e) => learning::activate_paid(conn, order.tenant_id, e, now).await?,
            None => false,
        };
        if !activated {
            // The hold expired and the seat went back: take one again, if any is left.
            match learning::take_seat(
                conn,
                order.tenant_id,
                l.session_id,
                learner,
                EnrollmentStatus::Active,
                now,
                None,
            )
            .await
            {
                Ok(e) => {
                    order_line::Entity::update_many()
                        .col_expr(order_line::Column::EnrollmentId, Expr::value(e.id))
                        .filter(order_line::Column::Id.eq(l.id))
                        .exec(conn)
                        .await?;
                }
                Err(AppError::Conflict(_)) => return Ok(PaymentOutcome::SeatsGone),
                Err(e) => return Err(e),
            }
        }
    }
    lines.sort_by_key(|l| l.position);
    let inv = invoice::issue_invoice(conn, order, &lines, now).await?;
    queue_mail(
        conn,
        order.tenant_id,
        order.buyer_id,
        MailKind::PaymentReceipt,
        json!({ "orderId": order.id, "invoiceId": inv.id }),
        now,
    )
    .await?;
    Ok(PaymentOutcome::Applied)
}

/// Moves an unpaid order to `to` (processing clears a failure; a decline records it).
#[tracing::instrument(skip_all, fields(order.id = %order_id))]
pub async fn mark_unpaid_state<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    to: OrderStatus,
    error: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let from: &[OrderStatus] = match to {
        OrderStatus::AwaitingPayment => &[OrderStatus::Pending, OrderStatus::PaymentFailed],
        OrderStatus::PaymentFailed => &[OrderStatus::Pending, OrderStatus::AwaitingPayment],
        _ => &[],
    };
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::LastPaymentError, Expr::value(error))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().copied()))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Cancels an unpaid order and frees its seats, in `conn`'s transaction. Guarded and idempotent.
#[tracing::instrument(skip_all, fields(tenant.id = %order.tenant_id, order.id = %order.id))]
pub async fn cancel_unpaid<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Cancelled))
        .col_expr(order::Column::ClosedAt, Expr::value(now))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order.id))
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    release_seats(conn, order, now).await?;
    Ok(true)
}

/// Frees the seats of every line of `order`.
#[tracing::instrument(skip_all, fields(tenant.id = %order.tenant_id, order.id = %order.id))]
pub async fn release_seats<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let lines = scoped::<order_line::Entity>(order.tenant_id)
        .filter(order_line::Column::OrderId.eq(order.id))
        .all(conn)
        .await?;
    for e in seat_order(&lines) {
        learning::release(conn, order.tenant_id, e, now).await?;
    }
    Ok(())
}

/// Expires unpaid orders whose hold has passed (every tenant), at most `batch` per call, each
/// through [`settle_or_cancel`]. Safe on several instances at once.
#[tracing::instrument(skip_all, fields(batch))]
pub async fn expire_orders(services: &Services, batch: u64) -> AppResult<ExpiryReport> {
    let now = services.clock.now();
    let due = order::Entity::find()
        .filter(order::Column::Status.is_in(OrderStatus::UNPAID))
        .filter(order::Column::HoldExpiresAt.lte(now))
        .order_by_asc(order::Column::HoldExpiresAt)
        .limit(batch)
        .all(&services.db)
        .await?;
    let mut report = ExpiryReport::default();
    for o in due {
        match settle_or_cancel(services, &o).await? {
            Settled::Paid => report.paid += 1,
            Settled::Cancelled => report.cancelled += 1,
            Settled::Deferred => report.deferred += 1,
            Settled::Unchanged => {}
        }
    }
    // Seats are freed only through their order (never by `learning::release_expired_holds`,
    // which would free the seats of an order kept because Stripe could not be asked).
    Ok(report)
}

/// What [`settle_or_cancel`] did with an unpaid order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Stripe had taken the payment: it is applied instead (the order is paid).
    Paid,
    /// Cancelled, its seats freed.
    Cancelled,
    /// Stripe could not be asked, or the payment cannot be applied: try again later.
    Deferred,
    /// Already paid or cancelled meanwhile.
    Unchanged,
}

/// The shop's one way to end an unpaid order (the expiry job and erasure use it): for an order
/// with a PaymentIntent, Stripe is asked first; a payment that succeeded is applied instead;
/// otherwise the intent is cancelled at Stripe before the seats are freed, so no late payment
/// can land on a cancelled order. Each database change is its own transaction; guarded and
/// idempotent.
#[tracing::instrument(skip_all, fields(tenant.id = %o.tenant_id, order.id = %o.id))]
pub async fn settle_or_cancel(services: &Services, o: &order::Model) -> AppResult<Settled> {
    if let Some(pi) = &o.payment_intent_id {
        let account = match super::checkout::gateway_of(services, o.tenant_id).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(order.id = %o.id, error = %e, "no Stripe account to check the PaymentIntent of an unpaid order");
                return Ok(Settled::Deferred);
            }
        };
        let gw = &account.gateway;
        match services.payments.stats.time(gw.retrieve_payment_intent(pi)).await {
            Ok(intent) if intent.status == IntentStatus::Succeeded => {
                let txn = services.db.begin().await?;
                let settled = match apply_payment(&txn, services, o, &intent).await? {
                    PaymentOutcome::Applied => Settled::Paid,
                    PaymentOutcome::AlreadyDone => Settled::Unchanged,
                    other => {
                        tracing::error!(order.id = %o.id, outcome = ?other, "an unpaid order's payment cannot be applied; it needs a look");
                        Settled::Deferred
                    }
                };
                txn.commit().await?;
                return Ok(settled);
            }
            Ok(intent) if intent.status != IntentStatus::Canceled => {
                if let Err(e) = services.payments.stats.time(gw.cancel_payment_intent(pi)).await {
                    // Maybe paid meanwhile, maybe Stripe is down: try again later.
                    tracing::warn!(order.id = %o.id, error = %e, "could not cancel the PaymentIntent of an unpaid order");
                    return Ok(Settled::Deferred);
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(order.id = %o.id, error = %e, "could not check the PaymentIntent of an unpaid order");
                return Ok(Settled::Deferred);
            }
        }
    }
    let txn = services.db.begin().await?;
    let cancelled = cancel_unpaid(&txn, o, services.clock.now()).await?;
    txn.commit().await?;
    Ok(if cancelled { Settled::Cancelled } else { Settled::Unchanged })
}

/// What one expiry round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    pub cancelled: u64,
    pub paid: u64,
    pub deferred: u64,
}
