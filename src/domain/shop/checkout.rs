//! Checkout: an order created in the two steps the [shop](super) describes (order, lines and
//! seats in one transaction; then the PaymentIntent, outside any transaction, undone if Stripe
//! fails), and the idempotent replay of a request whose key was seen before.
//!
//! A replay must be the same request (same buyer, learner, sessions, currency and billing
//! details, compared by hash); it may finish a step 2 that never happened, never start another
//! order. This module must never log the billing name or address, nor the client secret.

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::address::address_json;
use super::pricing::price;
use super::{
    OrderRecord, OrderRequest, OrderStatus, apply_payment, lines_of, order_by_id, seat_order,
};
use crate::domain::Services;
use crate::domain::learning::{self, EnrollmentStatus};
use crate::domain::payments::accounts::{Account, account_for};
use crate::domain::payments::{GatewayError, IntentStatus, IntentView};
use crate::domain::tenancy::scoped;
use crate::entities::{order, order_line};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// Checks the idempotency key: 8–100 characters of `[A-Za-z0-9_.:-]`.
pub fn parse_idempotency_key(field: &str, raw: &str) -> AppResult<String> {
    let k = raw.trim();
    if !(8..=100).contains(&k.len())
        || !k.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    {
        return Err(AppError::bad_input(
            field,
            "must be 8 to 100 characters among letters, digits, `_`, `.`, `:` and `-`",
        ));
    }
    Ok(k.to_owned())
}

fn request_hash(buyer: Uuid, learner: Uuid, r: &OrderRequest) -> String {
    let canonical = json!({
        "buyer": buyer,
        "learner": learner,
        "sessions": r.sessions,
        "currency": r.currency,
        "billing": [&r.billing_name, &r.billing_address.line1, &r.billing_address.line2, &r.billing_address.postal_code,
                    &r.billing_address.city, &r.billing_address.country],
    });
    Sha256::digest(canonical.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates an order (or returns the one already made with this idempotency key), holds its
/// seats and creates its PaymentIntent. See the [shop's documentation](super) for the two steps.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    order.id = tracing::field::Empty,
))]
pub async fn create_order(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    r: OrderRequest,
) -> AppResult<OrderRecord> {
    let buyer = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let learner = r.learner.unwrap_or(buyer);
    if !policy::acts_for(actor, relations, learner) {
        return Err(AppError::Forbidden);
    }
    let hash = request_hash(buyer, learner, &r);
    if let Some(existing) = by_key(services, actor.tenant_id, buyer, &r.idempotency_key).await? {
        return replay(services, existing, &hash).await;
    }
    let now = services.clock.now();
    let (priced, currency) = price(services, actor.tenant_id, &r, learner, now).await?;
    let hold_secs = match services.tenants.by_id(actor.tenant_id).await? {
        Some(t) => t.order_hold_secs.unwrap_or(services.shop.hold_secs),
        None => services.shop.hold_secs,
    };
    let hold = now + Duration::seconds(hold_secs);
    let order_id = Uuid::now_v7();
    tracing::Span::current().record("order.id", tracing::field::display(order_id));
    let subtotal: i64 = priced.iter().map(|l| l.course.price_cents).sum();
    let total: i64 = priced.iter().map(|l| l.total).sum();
    let tax: i64 = priced.iter().map(|l| l.tax).sum();
    if total > 0 {
        // A tenant whose payments nobody takes is told so before anything is written.
        account_for(services, actor.tenant_id).await?;
    }
    let model = order::Model {
        id: order_id,
        tenant_id: actor.tenant_id,
        buyer_id: Some(buyer),
        learner_id: Some(learner),
        status: OrderStatus::Pending,
        currency: currency.clone(),
        subtotal_cents: subtotal,
        discount_cents: subtotal - total,
        tax_cents: tax,
        total_cents: total,
        refunded_cents: 0,
        idempotency_key: r.idempotency_key.clone(),
        request_hash: hash.clone(),
        billing_name: r.billing_name.clone(),
        billing_address: address_json(&r.billing_address),
        payment_intent_id: None,
        client_secret: None,
        last_payment_error: None,
        hold_expires_at: hold,
        paid_at: None,
        closed_at: None,
        created_at: now,
        updated_at: now,
    };

    // Step 1: the order, its lines and its seats, all or nothing.
    let txn = services.db.begin().await?;
    if let Err(e) = order::Entity::insert(order::ActiveModel::from(model.clone()))
        .exec_without_returning(&txn)
        .await
    {
        let e = AppError::from(e);
        drop(txn);
        if e.is_unique_violation() {
            // The same key raced in from another request: answer like a replay.
            let existing =
                by_key(services, actor.tenant_id, buyer, &r.idempotency_key).await?.ok_or(e)?;
            return replay(services, existing, &hash).await;
        }
        return Err(e);
    }
    // Seats are taken in session-id order so that two orders for the same sessions lock them
    // in the same order.
    let mut seat_order: Vec<usize> = (0..priced.len()).collect();
    seat_order.sort_by_key(|&i| priced[i].session.id);
    let mut enrollments = vec![None; priced.len()];
    for i in seat_order {
        let e = learning::take_seat(
            &txn,
            actor.tenant_id,
            priced[i].session.id,
            learner,
            EnrollmentStatus::PendingPayment,
            now,
            Some(hold),
        )
        .await
        .map_err(|e| match e {
            AppError::Conflict(m) => AppError::Conflict(format!("line {i}: {m}")),
            other => other,
        })?;
        enrollments[i] = Some(e.id);
    }
    let mut lines = Vec::with_capacity(priced.len());
    for (i, (l, enrollment)) in priced.iter().zip(enrollments).enumerate() {
        let label =
            format!("{} — session du {}", l.course.title, l.session.starts_at.format("%d/%m/%Y"));
        lines.push(order_line::Model {
            id: Uuid::now_v7(),
            tenant_id: actor.tenant_id,
            order_id,
            position: i as i32,
            session_id: l.session.id,
            course_id: l.course.id,
            description: label,
            unit_price_cents: l.course.price_cents,
            tax_rate_bp: l.course.tax_rate_bp,
            discount_cents: l.course.price_cents - l.total,
            tax_cents: l.tax,
            total_cents: l.total,
            enrollment_id: enrollment,
        });
    }
    order_line::Entity::insert_many(lines.iter().cloned().map(order_line::ActiveModel::from))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;

    // Fully discounted (an approved application at 100 %): nothing to pay, no PaymentIntent.
    if total == 0 {
        let txn = services.db.begin().await?;
        let free = IntentView {
            id: String::new(),
            client_secret: None,
            status: IntentStatus::Succeeded,
            amount: 0,
            amount_received: 0,
            currency: currency.to_lowercase(),
            metadata: Default::default(),
            last_error: None,
        };
        apply_payment(&txn, services, &model, &free).await?;
        txn.commit().await?;
        let order =
            order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
        return Ok(OrderRecord { order, lines });
    }

    // Step 2: the PaymentIntent, outside any transaction.
    if let Err(e) = attach_intent(services, &model).await {
        undo_order(services, &model, &lines).await?;
        return Err(gateway_error(e, "nothing was kept, retry later"));
    }
    let order =
        order_by_id(services, actor.tenant_id, order_id).await?.ok_or(AppError::NotFound)?;
    Ok(OrderRecord { order, lines })
}

/// The tenant's Stripe account, for the steps whose errors are the gateway's.
pub(super) async fn gateway_of(
    services: &Services,
    tenant_id: Uuid,
) -> Result<std::sync::Arc<Account>, GatewayError> {
    account_for(services, tenant_id).await.map_err(|e| GatewayError::Unavailable(e.to_string()))
}

/// Creates the order's PaymentIntent (Stripe idempotency key `pupitre-order-<id>`, so a second
/// attempt for the same order gets the same intent) and attaches it to the still-pending order.
async fn attach_intent(services: &Services, o: &order::Model) -> Result<(), GatewayError> {
    let metadata = [("order_id", o.id.to_string()), ("tenant_id", o.tenant_id.to_string())];
    let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let description = format!("Pupitre order {}", o.id.simple());
    let key = format!("pupitre-order-{}", o.id);
    let account = gateway_of(services, o.tenant_id).await?;
    let gw = &account.gateway;
    let intent = services
        .payments
        .stats
        .time(gw.create_payment_intent(
            o.total_cents,
            &o.currency.to_lowercase(),
            &metadata,
            &description,
            &key,
        ))
        .await?;
    let attached = order::Entity::update_many()
        .col_expr(order::Column::PaymentIntentId, Expr::value(intent.id.clone()))
        .col_expr(order::Column::ClientSecret, Expr::value(intent.client_secret.clone()))
        .col_expr(order::Column::Status, Expr::value(OrderStatus::AwaitingPayment))
        .col_expr(order::Column::UpdatedAt, Expr::value(services.clock.now()))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(OrderStatus::Pending))
        .filter(order::Column::PaymentIntentId.is_null())
        .exec(&services.db)
        .await
        .map_err(|e| GatewayError::Protocol(format!("attaching the PaymentIntent: {e}")))?;
    if attached.rows_affected != 1 {
        tracing::info!(order.id = %o.id, "PaymentIntent already attached (or the order left the pending state)");
    }
    // A discount approved while the intent was being created lowered the order, not the intent.
    let now_total = order::Entity::find_by_id(o.id)
        .one(&services.db)
        .await
        .map_err(|e| GatewayError::Protocol(format!("re-reading the order: {e}")))?
        .map(|x| x.total_cents);
    if let Some(t) = now_total.filter(|t| *t != intent.amount && *t > 0) {
        services
            .payments
            .stats
            .time(gw.update_payment_intent_amount(
                &intent.id,
                t,
                &format!("pupitre-discount-{}-{t}", o.id),
            ))
            .await?;
    }
    Ok(())
}

/// The compensation of a failed step 2: order gone, seats back. The delete comes first so that
/// on SQLite the transaction starts with a write (and takes the write lock at once).
async fn undo_order(
    services: &Services,
    model: &order::Model,
    lines: &[order_line::Model],
) -> AppResult<()> {
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    order::Entity::delete_many().filter(order::Column::Id.eq(model.id)).exec(&txn).await?;
    for e in seat_order(lines) {
        learning::release(&txn, model.tenant_id, e, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Maps a Stripe failure to what the client can act on; `then` tells what became of the
/// operation when Stripe could not be reached.
pub fn gateway_error(e: GatewayError, then: &'static str) -> AppError {
    match e {
        GatewayError::Unavailable(_) => AppError::Unavailable { then, source: Box::new(e) },
        GatewayError::Rejected { ref code, .. }
            if code == "amount_too_small" || code == "amount_too_large" =>
        {
            AppError::bad_input(
                "input.lines",
                "the order total is outside what the payment provider accepts",
            )
        }
        other => AppError::internal("calling the payment provider", other),
    }
}

async fn by_key(
    services: &Services,
    tenant_id: Uuid,
    buyer: Uuid,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(scoped::<order::Entity>(tenant_id)
        .filter(order::Column::BuyerId.eq(buyer))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(&services.db)
        .await?)
}

async fn replay(services: &Services, existing: order::Model, hash: &str) -> AppResult<OrderRecord> {
    if existing.request_hash != hash {
        return Err(AppError::Conflict(
            "this idempotency key was already used for a different order".into(),
        ));
    }
    let mut existing = existing;
    if existing.status == OrderStatus::Pending
        && existing.payment_intent_id.is_none()
        && existing.hold_expires_at > services.clock.now()
    {
        // Step 2 never finished (a crash, or the first request is still at it): finish it. The
        // same Stripe key gives the same intent; if Stripe is down the order stays as it is.
        attach_intent(services, &existing)
            .await
            .map_err(|e| gateway_error(e, "the order is kept, retry later"))?;
        existing = order_by_id(services, existing.tenant_id, existing.id)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let lines = lines_of(services, existing.tenant_id, &[existing.id])
        .await?
        .remove(&existing.id)
        .unwrap_or_default();
    Ok(OrderRecord { order: existing, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_bounded_and_plain() {
        assert!(parse_idempotency_key("k", "checkout-2026-11-26:abc").is_ok());
        assert!(parse_idempotency_key("k", "short").is_err());
        assert!(parse_idempotency_key("k", "has space in it").is_err());
        assert!(parse_idempotency_key("k", &"x".repeat(101)).is_err());
    }
}
