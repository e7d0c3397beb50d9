//! Events: recording them as Stripe shapes them, signing them as Stripe does
//! (`Stripe-Signature: t=…,v1=<hex HMAC-SHA256 of "t.body">`) and POSTing them to the app's
//! webhook URL, in emission order. Deliveries are never retried.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::server::{RequestInfo, pretty};
use super::state::{Shared, State, lock, new_id, now};
use super::{API_VERSION, DeliveryAttempt, StandInEvent};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>" keyed by the whole secret>`.
pub(super) fn signature_header(secret: &str, payload: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(err) => panic!("HMAC accepts keys of any length: {err}"),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

/// POSTs one event body to the webhook URL. `signature`: `None` signs it now; `Some(h)` sends
/// header `h` (or none). Returns the status, `None` when the webhook did not answer.
pub(super) async fn post_event(
    shared: &Shared,
    payload: &str,
    signature: Option<Option<&str>>,
) -> Option<u16> {
    let (url, sign_time) = {
        let state = lock(shared);
        (state.webhook_url.clone(), state.sign_time)
    };
    let Some(url) = url else {
        panic!("Stripe stand-in: set_webhook_url before delivering events");
    };
    let mut request = shared
        .http
        .post(url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .body(payload.to_owned());
    let header = match signature {
        None => {
            Some(signature_header(&shared.webhook_secret, payload, sign_time.unwrap_or_else(now)))
        }
        Some(given) => given.map(str::to_owned),
    };
    if let Some(header) = header {
        request = request.header("Stripe-Signature", header);
    }
    request.send().await.ok().map(|r| r.status().as_u16())
}

/// Delivers freshly emitted events in order, if a webhook is set and auto-delivery is on.
pub(super) async fn auto_deliver(shared: &Shared, events: &[StandInEvent]) {
    if events.is_empty() {
        return;
    }
    let _in_order = shared.delivery_order.lock().await;
    for event in events {
        let (on, enabled) = {
            let state = lock(shared);
            let enabled =
                state.enabled_events.is_empty() || state.enabled_events.contains(&event.type_);
            (state.auto_deliver && state.webhook_url.is_some(), enabled)
        };
        if !on {
            return;
        }
        if !enabled {
            continue;
        }
        let status = post_event(shared, &event.payload, None).await;
        lock(shared).deliveries.push(DeliveryAttempt { event_id: event.id.clone(), status });
    }
}

/// Records an event carrying a snapshot of `object`.
pub(super) fn emit(
    state: &mut State,
    type_: &str,
    object: Value,
    request: &RequestInfo,
) -> StandInEvent {
    let id = new_id("evt");
    let body = json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": request.id, "idempotency_key": request.idempotency_key },
        "type": type_
    });
    let event = StandInEvent { id, type_: type_.to_owned(), payload: pretty(&body) };
    state.events.push(event.clone());
    event
}
