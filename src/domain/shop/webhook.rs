//! Stripe webhook events → order transitions, each event exactly once: the shop's side of
//! `/webhooks/stripe`. Whether a delivery is genuine and what Stripe's JSON says are the
//! payments area's (`payments::verify_signature`, `payments::events`); what an event does to an
//! order is decided here, with the shop's own transitions (`lifecycle`). The dependency runs one
//! way: the shop uses payments, payments never calls the shop.
//!
//! The event id is written to `payment_events` in the same transaction as its effect: a second
//! delivery (even a concurrent one) finds it or collides with it and changes nothing; a failed
//! effect rolls the id back so that Stripe's retry is processed. Events may arrive in any order:
//! the order's state machine only moves forward (see the shop's module), so a late `processing` or
//! `payment_failed` after `succeeded` is recorded as stale and ignored. When an event does not
//! say enough (an unknown `payment_intent.*` type, an object whose status contradicts its type,
//! a missing amount), the PaymentIntent is fetched from Stripe and its current state applied.
//!
//! An event that can never apply is recorded and acknowledged (2xx), never refused with a 5xx
//! that Stripe would retry for days: an intent Stripe does not know (`resource_missing`), or an
//! unclear event whose object carries no id to ask Stripe about. Failures that may pass (Stripe
//! unreachable, 5xx, timeouts, our database) answer 5xx and record nothing, so the retry is
//! processed.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::{
    OrderStatus, PaymentOutcome, apply_payment, cancel_unpaid, gateway_error, mark_unpaid_state,
    order_by_id,
};
use crate::domain::Services;
use crate::domain::payments::accounts::{account_for, installation_tenant};
use crate::domain::payments::events::{announced, intent_from_json, is_intent_id, parse_event};
use crate::domain::payments::{
    GatewayError, IntentStatus, IntentView, SignatureError, verify_signature,
};
pub use crate::entities::enums::PaymentEventOutcome;
use crate::entities::{order, payment_event};
use crate::error::AppError;

/// Why a delivery was refused (Stripe sees a 4xx or 5xx and retries the latter).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("signature refused: {0}")]
    Signature(#[from] SignatureError),
    #[error("not a Stripe event: {0}")]
    Payload(&'static str),
    /// No tenant answers on this endpoint, or the tenant has no Stripe account.
    #[error("no Stripe account answers on this endpoint")]
    NoAccount,
    #[error(transparent)]
    Internal(#[from] AppError),
}

/// What processing one delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Processed now, with what it did (stored on the event's record).
    Processed(PaymentEventOutcome),
    /// This event id was processed before: nothing changed.
    Duplicate,
}

async fn order_of(
    services: &Services,
    tenant_id: Uuid,
    intent: &IntentView,
) -> Result<Option<order::Model>, AppError> {
    let by_meta = match (intent.metadata.get("tenant_id"), intent.metadata.get("order_id")) {
        (Some(t), Some(o)) => match (Uuid::parse_str(t), Uuid::parse_str(o)) {
            // Only the endpoint's tenant: another tenant's intent is not this account's.
            (Ok(t), Ok(o)) if t == tenant_id => order_by_id(services, t, o).await?,
            (Ok(_), Ok(_)) => return Ok(None),
            _ => None,
        },
        _ => None,
    };
    if let Some(o) = by_meta {
        // The order must be the one this intent was made for (or not yet attached to any).
        if o.payment_intent_id.as_deref().is_none_or(|p| p == intent.id) {
            return Ok(Some(o));
        }
        return Ok(None);
    }
    Ok(order::Entity::find()
        .filter(order::Column::TenantId.eq(tenant_id))
        .filter(order::Column::PaymentIntentId.eq(intent.id.as_str()))
        .one(&services.db)
        .await?)
}

/// Verifies, parses and processes one delivery of `/webhooks/stripe/<tenant slug>` (`tenant`
/// given) or `/webhooks/stripe` (the tenant the installation's keys serve), with the signing
/// secret of that tenant's Stripe account; only that tenant's orders are looked at.
#[tracing::instrument(skip_all, fields(
    stripe.event = tracing::field::Empty,
    tenant.id = tracing::field::Empty,
    order.id = tracing::field::Empty,
))]
pub async fn handle(
    services: &Services,
    tenant: Option<&str>,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<WebhookOutcome, WebhookError> {
    let p = &services.payments;
    let now = services.clock.now();
    let tenant_id = match tenant {
        Some(slug) => services.tenants.by_slug(slug).await?.map(|t| t.id),
        None => installation_tenant(services).await?,
    }
    .ok_or(WebhookError::NoAccount)?;
    let account = account_for(services, tenant_id).await.map_err(|e| match e {
        AppError::Unavailable { .. } => WebhookError::NoAccount,
        other => WebhookError::Internal(other),
    })?;
    verify_signature(
        payload,
        signature,
        account.webhook_secret.expose().as_bytes(),
        p.tolerance_secs,
        now.timestamp(),
    )?;
    let ev = parse_event(payload).map_err(WebhookError::Payload)?;
    let span = tracing::Span::current();
    span.record("stripe.event", ev.id.as_str());
    tracing::info!(stripe.event = %ev.id, stripe.type = %ev.type_, "webhook received");
    if payment_event::Entity::find_by_id(ev.id.clone())
        .one(&services.db)
        .await
        .map_err(AppError::from)?
        .is_some()
    {
        return Ok(WebhookOutcome::Duplicate);
    }

    let mut intent =
        if ev.type_.starts_with("payment_intent.") { intent_from_json(&ev.object) } else { None };
    // The intent id an event names, kept on its record even when Stripe does not know it.
    let mut named_intent = None;
    let mut unknown_intent = false;
    if ev.type_.starts_with("payment_intent.") {
        let announced = announced(&ev.type_);
        // `created` says nothing an order needs: recorded, no call to Stripe.
        let unclear = ev.type_ != "payment_intent.created"
            && match (&intent, announced) {
                (None, _) | (_, None) => true,
                (Some(i), Some(a)) => i.status != a,
            };
        if unclear {
            // When in doubt, ask Stripe for the intent's current state; never act on the
            // doubtful object itself.
            intent = None;
            if let Some(id) = ev.object["id"].as_str().filter(|s| is_intent_id(s)) {
                named_intent = Some(id.to_owned());
                match p.stats.time(account.gateway.retrieve_payment_intent(id)).await {
                    Ok(fetched) => intent = Some(fetched),
                    Err(GatewayError::Rejected { code, .. }) if code == "resource_missing" => {
                        // Stripe will never know it: retrying cannot help. Recorded, acknowledged.
                        tracing::warn!(stripe.event = %ev.id, stripe.type = %ev.type_, stripe.payment_intent = %id,
                            "webhook names a PaymentIntent Stripe does not know: recorded and acknowledged, nothing applied");
                        unknown_intent = true;
                    }
                    Err(e) => {
                        return Err(gateway_error(
                            e,
                            "the event will be processed when Stripe sends it again",
                        )
                        .into());
                    }
                }
            } else {
                tracing::warn!(stripe.event = %ev.id, stripe.type = %ev.type_,
                    "unclear webhook without a PaymentIntent id to ask Stripe about: recorded and acknowledged, nothing applied");
            }
        }
    }

    let order = match &intent {
        Some(i) => order_of(services, tenant_id, i).await?,
        None => None,
    };
    if let Some(o) = &order {
        span.record("tenant.id", tracing::field::display(o.tenant_id));
        span.record("order.id", tracing::field::display(o.id));
    }
    let txn = services.db.begin().await.map_err(AppError::from)?;
    let inserted =
        payment_event::Entity::insert(payment_event::ActiveModel::from(payment_event::Model {
            id: ev.id.clone(),
            // The endpoint's tenant, even when no order matched: offboarding finds it.
            tenant_id: Some(tenant_id),
            event_type: ev.type_.clone(),
            payment_intent_id: intent.as_ref().map(|i| i.id.clone()).or(named_intent),
            order_id: order.as_ref().map(|o| o.id),
            outcome: PaymentEventOutcome::Processing,
            created_at: ev.created,
            processed_at: now,
        }))
        .exec_without_returning(&txn)
        .await;
    if let Err(e) = inserted {
        let e = AppError::from(e);
        if e.is_unique_violation() {
            return Ok(WebhookOutcome::Duplicate);
        }
        return Err(e.into());
    }
    let outcome = match (&intent, &order) {
        (None, _) if unknown_intent => PaymentEventOutcome::UnknownIntent,
        (None, _) => PaymentEventOutcome::Ignored,
        (Some(_), None) => PaymentEventOutcome::UnknownOrder,
        (Some(i), Some(o)) => match i.status {
            IntentStatus::Succeeded => match apply_payment(&txn, services, o, i).await? {
                PaymentOutcome::Applied => PaymentEventOutcome::Applied,
                PaymentOutcome::AlreadyDone => PaymentEventOutcome::Stale,
                PaymentOutcome::Mismatch => PaymentEventOutcome::Mismatch,
                PaymentOutcome::SeatsGone => PaymentEventOutcome::SeatsGone,
            },
            IntentStatus::Processing => {
                if mark_unpaid_state(&txn, o.id, OrderStatus::AwaitingPayment, None, now).await? {
                    PaymentEventOutcome::Applied
                } else {
                    PaymentEventOutcome::Stale
                }
            }
            IntentStatus::RequiresPaymentMethod if i.last_error.is_some() => {
                let err = i.last_error.clone().map(|e| e.chars().take(200).collect::<String>());
                if mark_unpaid_state(&txn, o.id, OrderStatus::PaymentFailed, err, now).await? {
                    PaymentEventOutcome::Applied
                } else {
                    PaymentEventOutcome::Stale
                }
            }
            IntentStatus::Canceled => {
                if cancel_unpaid(&txn, o, now).await? {
                    PaymentEventOutcome::Applied
                } else {
                    PaymentEventOutcome::Stale
                }
            }
            _ => PaymentEventOutcome::Ignored,
        },
    };
    payment_event::Entity::update_many()
        .col_expr(payment_event::Column::Outcome, Expr::value(outcome))
        .filter(payment_event::Column::Id.eq(ev.id.as_str()))
        .exec(&txn)
        .await
        .map_err(AppError::from)?;
    txn.commit().await.map_err(AppError::from)?;
    if outcome == PaymentEventOutcome::SeatsGone
        && let Some(i) = &intent
    {
        // Paid for seats that are no longer there: give the money back (idempotent per intent).
        let key = format!("pupitre-autorefund-{}", i.id);
        let reason = outcome.to_string();
        match p
            .stats
            .time(account.gateway.create_refund(&i.id, None, &[("reason", reason.as_str())], &key))
            .await
        {
            Ok(_) => {
                tracing::warn!(stripe.event = %ev.id, "payment for an expired order whose seats are gone: refunded")
            }
            Err(e) => {
                tracing::error!(stripe.event = %ev.id, error = %e, "payment for an expired order whose seats are gone: the refund failed, refund it by hand")
            }
        }
    }
    tracing::info!(stripe.event = %ev.id, outcome = %outcome, "webhook processed");
    Ok(WebhookOutcome::Processed(outcome))
}
