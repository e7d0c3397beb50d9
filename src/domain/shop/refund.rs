//! Refunds by billing staff, full or partial, through Stripe.
//!
//! Three steps, so that no transaction is open while Stripe is called and two refunds can never
//! together exceed what was paid: (1) lock the order, check the amount against what is left
//! (paid − refunded − refunds in flight) and write the refund as `pending`; (2) ask Stripe,
//! with `pupitre-refund-<refund id>` as idempotency key; (3) record the outcome, once (the
//! first write moves the refund from `pending` to `succeeded`): the order's refunded amount and
//! status, the credit note, and, for a full refund, the enrollments cancelled and their seats
//! freed. When Stripe refuses, the refund is `failed` and its amount is free again. When Stripe
//! cannot be reached (it may still have refunded), the refund stays `pending` and the refund
//! job sends it again with the same key until Stripe answers: never a second refund.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{OrderStatus, invoice, order_by_id, release_seats};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::batch::group;
use crate::domain::outbox::{MailKind, queue_mail};
use crate::domain::payments::GatewayError;
use crate::domain::tenancy::scoped;
use crate::entities::{invoice as invoice_entity, order, refund};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column};

pub use crate::entities::enums::RefundStatus;

/// What a refund produced.
#[derive(Clone, Debug)]
pub struct RefundResult {
    pub order: order::Model,
    pub refund: refund::Model,
    pub credit_note: invoice_entity::Model,
}

/// Refunds `amount` (all that is left when `None`) of a paid order. Billing staff only.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    order.id = %order_id,
))]
pub async fn refund_order(
    services: &Services,
    actor: &Actor,
    order_id: Uuid,
    amount: Option<i64>,
    reason: Option<String>,
) -> AppResult<RefundResult> {
    if !policy::may_refund(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();

    // Step 1: reserve the amount under the order's lock.
    let txn = services.db.begin().await?;
    // The first statement is a write: it takes the order's row lock (PostgreSQL) or the write
    // lock (SQLite) before anything is read.
    let touched = order::Entity::update_many()
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::TenantId.eq(actor.tenant_id))
        .exec(&txn)
        .await?;
    if touched.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    let o = scoped::<order::Entity>(actor.tenant_id)
        .filter(order::Column::Id.eq(order_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
        return Err(AppError::Conflict("only a paid order can be refunded".into()));
    }
    let pi = o
        .payment_intent_id
        .clone()
        .ok_or_else(|| AppError::Conflict("this order has no payment".into()))?;
    let in_flight: i64 = scoped::<refund::Entity>(actor.tenant_id)
        .filter(refund::Column::OrderId.eq(order_id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .all(&txn)
        .await?
        .iter()
        .map(|r| r.amount_cents)
        .sum();
    let left = o.total_cents - o.refunded_cents - in_flight;
    if left <= 0 {
        return Err(AppError::Conflict(if in_flight > 0 {
            "the rest of this order is being refunded".into()
        } else {
            "nothing is left to refund".into()
        }));
    }
    let amount = amount.unwrap_or(left);
    if amount < 1 || amount > left {
        return Err(AppError::bad_input(
            "input.amountCents",
            format!("must be between 1 and {left} (what is left to refund)"),
        ));
    }
    let r = refund::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        order_id,
        amount_cents: amount,
        status: RefundStatus::Pending,
        reason: reason.clone(),
        stripe_refund_id: None,
        requested_by: actor.user_id,
        created_at: now,
        completed_at: None,
    };
    refund::Entity::insert(refund::ActiveModel::from(r.clone()))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;

    // Steps 2 and 3.
    match send(services, &r, &pi).await {
        Sent::Done(stripe_id) => complete(services, actor, r.id, &stripe_id).await,
        Sent::Refused(e) => Err(e),
        Sent::Unknown(e) => {
            Err(super::gateway_error(e, "the refund is pending and will be retried automatically"))
        }
    }
}

enum Sent {
    Done(String),
    /// Stripe refused: the refund is marked failed.
    Refused(AppError),
    /// Stripe could not be reached or answered something unreadable: the refund stays pending.
    Unknown(GatewayError),
}

/// Step 2: asks Stripe (again, for a retry: the key makes it the same refund).
async fn send(services: &Services, r: &refund::Model, pi: &str) -> Sent {
    let metadata = [("order_id", r.order_id.to_string()), ("refund_id", r.id.to_string())];
    let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let account = match super::checkout::gateway_of(services, r.tenant_id).await {
        Ok(a) => a,
        Err(e) => return Sent::Unknown(e),
    };
    let gw = &account.gateway;
    let res = services
        .payments
        .stats
        .time(gw.create_refund(
            pi,
            Some(r.amount_cents),
            &metadata,
            &format!("pupitre-refund-{}", r.id),
        ))
        .await;
    match res {
        Ok(sr) => Sent::Done(sr.id),
        Err(GatewayError::Rejected { code, .. }) => {
            let failed = refund::Entity::update_many()
                .col_expr(refund::Column::Status, Expr::value(RefundStatus::Failed))
                .col_expr(refund::Column::CompletedAt, Expr::value(services.clock.now()))
                .filter(refund::Column::Id.eq(r.id))
                .filter(refund::Column::Status.eq(RefundStatus::Pending))
                .exec(&services.db)
                .await;
            match failed {
                Ok(_) => Sent::Refused(AppError::Conflict(format!(
                    "the payment provider refused the refund ({code})"
                ))),
                Err(e) => Sent::Refused(e.into()),
            }
        }
        Err(e) => Sent::Unknown(e),
    }
}

/// Step 3, exactly once per refund: the refund, the order, the credit note, the seats, the
/// audit entry and the receipt, in one transaction.
async fn complete(
    services: &Services,
    actor: &Actor,
    refund_id: Uuid,
    stripe_id: &str,
) -> AppResult<RefundResult> {
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let moved = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(RefundStatus::Succeeded))
        .col_expr(refund::Column::StripeRefundId, Expr::value(stripe_id))
        .col_expr(refund::Column::CompletedAt, Expr::value(now))
        .filter(refund::Column::Id.eq(refund_id))
        .filter(refund::Column::TenantId.eq(actor.tenant_id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict("this refund was already completed".into()));
    }
    let done = scoped::<refund::Entity>(actor.tenant_id)
        .filter(refund::Column::Id.eq(refund_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let order_id = done.order_id;
    let amount = done.amount_cents;
    order::Entity::update_many()
        .col_expr(order::Column::RefundedCents, Expr::col(order::Column::RefundedCents).add(amount))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .exec(&txn)
        .await?;
    let current = order_by_id_in(&txn, actor.tenant_id, order_id).await?;
    let full = current.refunded_cents >= current.total_cents;
    let status = if full { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status))
        .col_expr(order::Column::ClosedAt, Expr::value(if full { Some(now) } else { None }))
        .filter(order::Column::Id.eq(order_id))
        .exec(&txn)
        .await?;
    if full {
        release_seats(&txn, &current, now).await?;
    }
    let credit_note = invoice::issue_credit_note(&txn, &current, &done, now).await?;
    queue_mail(
        &txn,
        actor.tenant_id,
        current.buyer_id,
        MailKind::RefundReceipt,
        json!({ "orderId": order_id, "creditNoteId": credit_note.id }),
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: if full { "order.refunded" } else { "order.partially_refunded" },
            category: Some(Category::Billing),
            subject_id: current.buyer_id,
            purpose: Column::Billing.purpose(),
            details: Some(json!({ "orderId": order_id, "refundId": done.id, "amountCents": amount, "creditNote": credit_note.number })),
        },
    )
    .await?;
    txn.commit().await?;
    let order =
        order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
    Ok(RefundResult { order, refund: done, credit_note })
}

/// Sends again every refund left pending for more than `min_age` (Stripe was unreachable, or
/// the process stopped between steps), with its original key, and records the outcome. For the
/// job; safe on several instances (completion happens once).
#[tracing::instrument(skip_all)]
pub async fn retry_pending_refunds(
    services: &Services,
    min_age: chrono::Duration,
) -> AppResult<u64> {
    let before = services.clock.now() - min_age;
    let pending = refund::Entity::find()
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .filter(refund::Column::CreatedAt.lte(before))
        .limit(100)
        .all(&services.db)
        .await?;
    let mut completed = 0;
    for r in pending {
        let Some(o) = order_by_id(services, r.tenant_id, r.order_id).await? else { continue };
        let Some(pi) = o.payment_intent_id.clone() else { continue };
        match send(services, &r, &pi).await {
            Sent::Done(stripe_id) => {
                match complete(services, &Actor::system(r.tenant_id), r.id, &stripe_id).await {
                    Ok(_) => completed += 1,
                    Err(AppError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Sent::Refused(e) => {
                tracing::warn!(refund.id = %r.id, error = %e, "a pending refund was refused by Stripe")
            }
            Sent::Unknown(e) => {
                tracing::warn!(refund.id = %r.id, error = %e, "a pending refund is still waiting for Stripe")
            }
        }
    }
    Ok(completed)
}

async fn order_by_id_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<order::Model> {
    scoped::<order::Entity>(tenant_id)
        .filter(order::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Refunds of several orders, oldest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn refunds_of(
    services: &Services,
    tenant_id: Uuid,
    orders: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<refund::Model>>> {
    use sea_orm::QueryOrder;
    let rows = scoped::<refund::Entity>(tenant_id)
        .filter(refund::Column::OrderId.is_in(orders.iter().copied()))
        .order_by_asc(refund::Column::CreatedAt)
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.order_id, r)))
}
