//! Refunds by billing staff, full or partial, through Stripe.
//!
//! Three steps, so that no transaction is open while Stripe is called and two refunds can never
//! together exceed what was paid: (1) lock the order, check the amount against what is left
//! (paid − refunded − refunds in flight) and write the refund as `pending`; (2) ask Stripe,
//! with the refund id as idempotency key; (3) record the outcome: on success the order's
//! refunded amount and status, the credit note, and, for a full refund, the enrollments
//! cancelled and their seats freed; on failure the refund is marked `failed` and its amount is
//! free again.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{OrderStatus, invoice, order_by_id, queue_mail, release_seats};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::tenancy::scoped;
use crate::entities::{invoice as invoice_entity, order, refund};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column};

/// What a refund produced.
#[derive(Clone, Debug)]
pub struct RefundResult {
    pub order: order::Model,
    pub refund: refund::Model,
    pub credit_note: invoice_entity::Model,
}

/// Refunds `amount` (all that is left when `None`) of a paid order. Billing staff only.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, order.id = %order_id))]
pub async fn refund_order(services: &Services, actor: &Actor, order_id: Uuid, amount: Option<i64>, reason: Option<String>) -> AppResult<RefundResult> {
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
    let o = scoped::<order::Entity>(actor.tenant_id).filter(order::Column::Id.eq(order_id)).one(&txn).await?.ok_or(AppError::NotFound)?;
    if !matches!(OrderStatus::parse(&o.status), Some(OrderStatus::Paid | OrderStatus::PartiallyRefunded)) {
        return Err(AppError::Conflict("only a paid order can be refunded".into()));
    }
    let pi = o.payment_intent_id.clone().ok_or_else(|| AppError::Conflict("this order has no payment".into()))?;
    let in_flight: i64 = scoped::<refund::Entity>(actor.tenant_id)
        .filter(refund::Column::OrderId.eq(order_id))
        .filter(refund::Column::Status.eq("pending"))
        .all(&txn)
        .await?
        .iter()
        .map(|r| r.amount_cents)
        .sum();
    let left = o.total_cents - o.refunded_cents - in_flight;
    let amount = amount.unwrap_or(left);
    if amount < 1 || amount > left {
        return Err(AppError::bad_input("input.amountCents", format!("must be between 1 and {left} (what is left to refund)")));
    }
    let r = refund::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        order_id,
        amount_cents: amount,
        status: "pending".into(),
        reason: reason.clone(),
        stripe_refund_id: None,
        requested_by: actor.user_id,
        created_at: now,
        completed_at: None,
    };
    refund::Entity::insert(refund::ActiveModel::from(r.clone())).exec_without_returning(&txn).await?;
    txn.commit().await?;

    // Step 2: Stripe.
    let metadata = [("order_id", order_id.to_string()), ("refund_id", r.id.to_string())];
    let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = services
        .payments
        .stats
        .time(services.payments.gateway.create_refund(&pi, Some(amount), &metadata, &format!("pupitre-refund-{}", r.id)))
        .await;
    let stripe_refund = match res {
        Ok(sr) => sr,
        Err(e) => {
            refund::Entity::update_many()
                .col_expr(refund::Column::Status, Expr::value("failed"))
                .col_expr(refund::Column::CompletedAt, Expr::value(services.clock.now()))
                .filter(refund::Column::Id.eq(r.id))
                .exec(&services.db)
                .await?;
            return Err(super::gateway_error(e));
        }
    };

    // Step 3: the outcome, the credit note and, for a full refund, the seats.
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    // Re-read under the lock: other refunds may have completed since step 1.
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
        .col_expr(order::Column::Status, Expr::value(status.as_str()))
        .col_expr(order::Column::ClosedAt, Expr::value(if full { Some(now) } else { None }))
        .filter(order::Column::Id.eq(order_id))
        .exec(&txn)
        .await?;
    let done = refund::Model { status: "succeeded".into(), stripe_refund_id: Some(stripe_refund.id.clone()), completed_at: Some(now), ..r };
    refund::Entity::update(refund::ActiveModel {
        id: Set(done.id),
        status: Set(done.status.clone()),
        stripe_refund_id: Set(done.stripe_refund_id.clone()),
        completed_at: Set(done.completed_at),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    if full {
        release_seats(&txn, &current, now).await?;
    }
    let credit_note = invoice::issue_credit_note(&txn, &current, &done, now).await?;
    queue_mail(&txn, actor.tenant_id, current.buyer_id, "refund_receipt", json!({ "orderId": order_id, "creditNoteId": credit_note.id }), now).await?;
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
    let order = order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
    Ok(RefundResult { order, refund: done, credit_note })
}

async fn order_by_id_in<C: sea_orm::ConnectionTrait>(conn: &C, tenant_id: Uuid, id: Uuid) -> AppResult<order::Model> {
    scoped::<order::Entity>(tenant_id).filter(order::Column::Id.eq(id)).one(conn).await?.ok_or(AppError::NotFound)
}

/// Refunds of several orders, oldest first.
pub async fn refunds_of(services: &Services, tenant_id: Uuid, orders: &[Uuid]) -> AppResult<std::collections::HashMap<Uuid, Vec<refund::Model>>> {
    use sea_orm::QueryOrder;
    let rows = scoped::<refund::Entity>(tenant_id)
        .filter(refund::Column::OrderId.is_in(orders.iter().copied()))
        .order_by_asc(refund::Column::CreatedAt)
        .all(&services.db)
        .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<refund::Model>> = std::collections::HashMap::new();
    for r in rows {
        out.entry(r.order_id).or_default().push(r);
    }
    Ok(out)
}
