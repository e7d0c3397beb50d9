//! Stripe webhook events → order transitions, each event exactly once.
//!
//! The event id is written to `payment_events` in the same transaction as its effect: a second
//! delivery (even a concurrent one) finds it or collides with it and changes nothing; a failed
//! effect rolls the id back so that Stripe's retry is processed. Events may arrive in any order:
//! the order's state machine only moves forward (see `shop`), so a late `processing` or
//! `payment_failed` after `succeeded` is recorded as stale and ignored. When an event does not
//! say enough (an unknown `payment_intent.*` type, an object whose status contradicts its type,
//! a missing amount), the PaymentIntent is fetched from Stripe and its current state applied.
//!
//! An event that can never apply is recorded and acknowledged (2xx), never refused with a 5xx
//! that Stripe would retry for days: an intent Stripe does not know (`resource_missing`), or an
//! unclear event whose object carries no id to ask Stripe about. Failures that may pass (Stripe
//! unreachable, 5xx, timeouts, our database) answer 5xx and record nothing, so the retry is
//! processed.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use super::{GatewayError, IntentStatus, IntentView, SignatureError, verify_signature};
use crate::domain::Services;
use crate::domain::shop::{self, OrderStatus, PaymentOutcome};
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

struct Envelope {
    id: String,
    type_: String,
    created: chrono::DateTime<chrono::Utc>,
    object: Value,
}

fn envelope(payload: &[u8]) -> Result<Envelope, WebhookError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|_| WebhookError::Payload("invalid JSON"))?;
    if v["object"] != "event" {
        return Err(WebhookError::Payload("not an event object"));
    }
    let id = v["id"]
        .as_str()
        .filter(|s| s.starts_with("evt_") && s.len() <= 255)
        .ok_or(WebhookError::Payload("missing event id"))?;
    let type_ = v["type"]
        .as_str()
        .filter(|s| s.len() <= 255)
        .ok_or(WebhookError::Payload("missing event type"))?;
    let created = v["created"]
        .as_i64()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .ok_or(WebhookError::Payload("missing created"))?;
    let object = v["data"]["object"].clone();
    if !object.is_object() {
        return Err(WebhookError::Payload("missing data.object"));
    }
    Ok(Envelope { id: id.to_owned(), type_: type_.to_owned(), created, object })
}

/// Reads the PaymentIntent of an event as Stripe serialises it.
pub fn intent_from_json(v: &Value) -> Option<IntentView> {
    if v["object"] != "payment_intent" {
        return None;
    }
    let status = match v["status"].as_str()? {
        "requires_payment_method" => IntentStatus::RequiresPaymentMethod,
        "requires_confirmation" => IntentStatus::RequiresConfirmation,
        "requires_action" => IntentStatus::RequiresAction,
        "processing" => IntentStatus::Processing,
        "requires_capture" => IntentStatus::RequiresCapture,
        "canceled" => IntentStatus::Canceled,
        "succeeded" => IntentStatus::Succeeded,
        _ => return None,
    };
    let metadata: HashMap<String, String> = v["metadata"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let err = &v["last_payment_error"];
    Some(IntentView {
        id: v["id"].as_str()?.to_owned(),
        client_secret: None,
        status,
        amount: v["amount"].as_i64()?,
        amount_received: v["amount_received"].as_i64().unwrap_or(0),
        currency: v["currency"].as_str()?.to_owned(),
        metadata,
        last_error: err["code"].as_str().or_else(|| err["message"].as_str()).map(str::to_owned),
    })
}

/// The status a `payment_intent.*` event type announces, for the types whose meaning is clear.
fn announced(type_: &str) -> Option<IntentStatus> {
    Some(match type_ {
        "payment_intent.succeeded" => IntentStatus::Succeeded,
        "payment_intent.processing" => IntentStatus::Processing,
        "payment_intent.payment_failed" => IntentStatus::RequiresPaymentMethod,
        "payment_intent.canceled" => IntentStatus::Canceled,
        _ => return None,
    })
}

async fn order_of(
    services: &Services,
    intent: &IntentView,
) -> Result<Option<order::Model>, AppError> {
    let by_meta = match (intent.metadata.get("tenant_id"), intent.metadata.get("order_id")) {
        (Some(t), Some(o)) => match (Uuid::parse_str(t), Uuid::parse_str(o)) {
            (Ok(t), Ok(o)) => shop::order_by_id(services, t, o).await?,
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
    // Webhooks are deployment-wide: the intent id is unique across tenants.
    Ok(order::Entity::find()
        .filter(order::Column::PaymentIntentId.eq(intent.id.as_str()))
        .one(&services.db)
        .await?)
}

/// Whether `s` can be a PaymentIntent id (what the gateway accepts in a URL path).
fn is_intent_id(s: &str) -> bool {
    s.len() > 3
        && s.len() <= 255
        && s.starts_with("pi_")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Verifies, parses and processes one delivery of `/webhooks/stripe`.
#[tracing::instrument(skip_all, fields(
    stripe.event = tracing::field::Empty,
    tenant.id = tracing::field::Empty,
    order.id = tracing::field::Empty,
))]
pub async fn handle(
    services: &Services,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<WebhookOutcome, WebhookError> {
    let p = &services.payments;
    let now = services.clock.now();
    verify_signature(
        payload,
        signature,
        p.webhook_secret.expose().as_bytes(),
        p.tolerance_secs,
        now.timestamp(),
    )?;
    let ev = envelope(payload)?;
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
                match p.stats.time(p.gateway.retrieve_payment_intent(id)).await {
                    Ok(fetched) => intent = Some(fetched),
                    Err(GatewayError::Rejected { code, .. }) if code == "resource_missing" => {
                        // Stripe will never know it: retrying cannot help. Recorded, acknowledged.
                        tracing::warn!(stripe.event = %ev.id, stripe.type = %ev.type_, stripe.payment_intent = %id,
                            "webhook names a PaymentIntent Stripe does not know: recorded and acknowledged, nothing applied");
                        unknown_intent = true;
                    }
                    Err(e) => {
                        return Err(shop::gateway_error(
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
        Some(i) => order_of(services, i).await?,
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
            tenant_id: order.as_ref().map(|o| o.tenant_id),
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
            IntentStatus::Succeeded => match shop::apply_payment(&txn, services, o, i).await? {
                PaymentOutcome::Applied => PaymentEventOutcome::Applied,
                PaymentOutcome::AlreadyDone => PaymentEventOutcome::Stale,
                PaymentOutcome::Mismatch => PaymentEventOutcome::Mismatch,
                PaymentOutcome::SeatsGone => PaymentEventOutcome::SeatsGone,
            },
            IntentStatus::Processing => {
                if shop::mark_unpaid_state(&txn, o.id, OrderStatus::AwaitingPayment, None, now)
                    .await?
                {
                    PaymentEventOutcome::Applied
                } else {
                    PaymentEventOutcome::Stale
                }
            }
            IntentStatus::RequiresPaymentMethod if i.last_error.is_some() => {
                let err = i.last_error.clone().map(|e| e.chars().take(200).collect::<String>());
                if shop::mark_unpaid_state(&txn, o.id, OrderStatus::PaymentFailed, err, now).await?
                {
                    PaymentEventOutcome::Applied
                } else {
                    PaymentEventOutcome::Stale
                }
            }
            IntentStatus::Canceled => {
                if shop::cancel_unpaid(&txn, o, now).await? {
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
            .time(p.gateway.create_refund(&i.id, None, &[("reason", reason.as_str())], &key))
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
