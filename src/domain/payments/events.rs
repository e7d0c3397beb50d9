//! Stripe's webhook events as Stripe sends them: the event envelope, the PaymentIntent inside
//! it, and what an event type announces. Reading only: what an event does to an order is the
//! shop's (`shop::webhook`), and whether it is genuine is
//! [`verify_signature`](super::verify_signature)'s.
//!
//! Nothing here trusts an event beyond its shape: a field that is missing or of the wrong type
//! makes the whole event (or the intent) unreadable, never a default.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{IntentStatus, IntentView};

/// The envelope of one Stripe event: its id (`evt_…`), type, creation time and `data.object`.
#[derive(Debug)]
pub struct StripeEvent {
    pub id: String,
    pub type_: String,
    pub created: DateTime<Utc>,
    pub object: Value,
}

/// Reads a webhook body as a Stripe event; the error says which part is missing.
pub fn parse_event(payload: &[u8]) -> Result<StripeEvent, &'static str> {
    let v: Value = serde_json::from_slice(payload).map_err(|_| "invalid JSON")?;
    if v["object"] != "event" {
        return Err("not an event object");
    }
    let id = v["id"]
        .as_str()
        .filter(|s| s.starts_with("evt_") && s.len() <= 255)
        .ok_or("missing event id")?;
    let type_ = v["type"].as_str().filter(|s| s.len() <= 255).ok_or("missing event type")?;
    let created = v["created"]
        .as_i64()
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or("missing created")?;
    let object = v["data"]["object"].clone();
    if !object.is_object() {
        return Err("missing data.object");
    }
    Ok(StripeEvent { id: id.to_owned(), type_: type_.to_owned(), created, object })
}

/// Reads the PaymentIntent of an event as Stripe serialises it.
pub fn intent_from_json(v: &Value) -> Option<IntentView> {
    if v["object"] != "payment_intent" {
        return None;
    }
    let status = IntentStatus::from_stripe(v["status"].as_str()?)?;
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
pub fn announced(type_: &str) -> Option<IntentStatus> {
    Some(match type_ {
        "payment_intent.succeeded" => IntentStatus::Succeeded,
        "payment_intent.processing" => IntentStatus::Processing,
        "payment_intent.payment_failed" => IntentStatus::RequiresPaymentMethod,
        "payment_intent.canceled" => IntentStatus::Canceled,
        _ => return None,
    })
}

/// Whether `s` can be a PaymentIntent id (what the gateway accepts in a URL path).
pub fn is_intent_id(s: &str) -> bool {
    s.len() > 3
        && s.len() <= 255
        && s.starts_with("pi_")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
