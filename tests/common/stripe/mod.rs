//! A local, stateful stand-in for the Stripe API, for integration tests only.
//!
//! It listens on `127.0.0.1` (a free port), speaks Stripe's wire format (form-encoded requests
//! with `metadata[key]=value` brackets, JSON answers shaped like Stripe's own objects, Stripe
//! error objects with Stripe's HTTP statuses, `Idempotency-Key` replay) well enough for the
//! async-stripe client to decode every answer, and emits Stripe-shaped events that it signs
//! exactly as Stripe does (`Stripe-Signature: t=…,v1=<hex HMAC-SHA256 of "t.body">`) and POSTs
//! to the app's webhook URL before it answers the API call that caused them.
//!
//! Modelled: PaymentIntents (create, retrieve, confirm with Stripe's test payment methods
//! `pm_card_visa`, `pm_card_mastercard`, `pm_card_chargeDeclined`,
//! `pm_card_chargeDeclinedInsufficientFunds`, `pm_card_chargeDeclinedExpiredCard`, cancel),
//! their charges, and refunds (create, retrieve). Not modelled: customers, manual capture,
//! 3-D Secure, disputes, lists, `expand`, webhook retries.
//!
//! Events, as Stripe emits them: `payment_intent.created` (on create, so it reaches the webhook
//! while the app still waits for its create call), `charge.succeeded` + `payment_intent.succeeded`,
//! `charge.failed` + `payment_intent.payment_failed`, `payment_intent.canceled`, and
//! `charge.refunded` + `refund.created`. [`StripeStandIn::set_enabled_events`] narrows what is
//! delivered, like a webhook endpoint's `enabled_events`; deliveries are not retried.
//!
//! Like the real Stripe, a request whose client gave up (timeout) may still take effect once the
//! configured latency has passed, and an idempotency key replays its first answer (4xx included)
//! with `Idempotent-Replayed: true`.
//!
//! It must never be used outside tests, never reach the real Stripe, and never be started by the
//! application itself: the app under test only ever sees its `base_url`.
//!
//! Files: `state` (what the stand-in remembers), `server` (the HTTP front: keys, routing,
//! idempotency, latency and failure injection), `form` (Stripe's bracketed form encoding),
//! `answer` (Stripe error objects), `params` (parameter checks), `objects` (PaymentIntent,
//! charge and refund JSON), `payment_intents` and `refunds` (the endpoints), `webhook` (events:
//! making, signing, delivering).

mod answer;
mod form;
mod objects;
mod params;
mod payment_intents;
mod refunds;
mod server;
mod state;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use serde_json::Value;

use form::encode_form;
use server::{RequestInfo, handle};
use state::{Shared, State, lock, random};
use webhook::{emit, post_event, signature_header};

/// The API version written into events (the one async-stripe 1.0.0-rc.10 pins).
pub const API_VERSION: &str = "2026-09-30.endive";

/// An event the stand-in emitted (or was asked to make).
#[derive(Clone, Debug)]
pub struct StandInEvent {
    /// `evt_…`
    pub id: String,
    /// e.g. `payment_intent.succeeded`
    pub type_: String,
    /// The exact JSON body that is (or would be) POSTed to the webhook URL.
    pub payload: String,
}

/// One `/v1` call the stand-in received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// e.g. `/v1/payment_intents`
    pub path: String,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// The API key the call was made with (the `Authorization: Bearer` value).
    pub api_key: String,
    /// Decoded form body (POST) or query (GET), in the order sent, keys as sent
    /// (e.g. `metadata[order_id]`).
    pub form: Vec<(String, String)>,
    /// What the stand-in answered: HTTP status and JSON body (a Stripe object or error).
    /// `None` while the call is still being answered (e.g. during the configured latency).
    pub answer: Option<(u16, Value)>,
}

/// One webhook POST made by the stand-in.
#[derive(Clone, Debug)]
pub struct DeliveryAttempt {
    /// The event delivered.
    pub event_id: String,
    /// The webhook's HTTP status, `None` when it did not answer.
    pub status: Option<u16>,
}

/// A running stand-in. Dropping it asks its server to stop.
pub struct StripeStandIn {
    /// e.g. `http://127.0.0.1:PORT`, no trailing slash: the app's Stripe API base.
    pub base_url: String,
    /// The only secret key accepted (`sk_test_…`).
    pub secret_key: String,
    /// The publishable key accepted for confirming with a client secret (`pk_test_…`).
    pub publishable_key: String,
    /// The webhook signing secret (`whsec_…`).
    pub webhook_secret: String,
    shared: Arc<Shared>,
    handle: ServerHandle,
}

impl Drop for StripeStandIn {
    fn drop(&mut self) {
        // `stop` sends its command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}

impl StripeStandIn {
    /// Starts a stand-in on a free port of 127.0.0.1, its server spawned on the current Tokio
    /// runtime (call it from a `#[tokio::test(flavor = "multi_thread")]`).
    pub async fn start() -> StripeStandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind the Stripe stand-in to 127.0.0.1:0");
        let port = listener.local_addr().expect("the stand-in's local address").port();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(0)
            .build()
            .expect("build the stand-in's HTTP client");
        let shared = Arc::new(Shared {
            secret_key: format!("sk_test_{}", random(24)),
            publishable_key: format!("pk_test_{}", random(24)),
            webhook_secret: format!("whsec_{}", random(32)),
            state: Mutex::new(State {
                other_secret_keys: Vec::new(),
                webhook_url: None,
                auto_deliver: true,
                enabled_events: Vec::new(),
                sign_time: None,
                latency: Duration::ZERO,
                failure: None,
                payment_intents: HashMap::new(),
                charges: HashMap::new(),
                refunds: HashMap::new(),
                idempotency: HashMap::new(),
                events: Vec::new(),
                deliveries: Vec::new(),
                requests: Vec::new(),
            }),
            delivery_order: tokio::sync::Mutex::new(()),
            http,
        });
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen on the stand-in's socket")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        StripeStandIn {
            base_url: format!("http://127.0.0.1:{port}"),
            secret_key: shared.secret_key.clone(),
            publishable_key: shared.publishable_key.clone(),
            webhook_secret: shared.webhook_secret.clone(),
            shared,
            handle,
        }
    }

    /// Where events are POSTed (the app's webhook endpoint, full URL).
    pub fn set_webhook_url(&self, url: &str) {
        lock(&self.shared).webhook_url = Some(url.to_owned());
    }

    /// Whether events are POSTed as they happen (default on). Off: they are only recorded.
    pub fn set_auto_deliver(&self, on: bool) {
        lock(&self.shared).auto_deliver = on;
    }

    /// Like a Stripe webhook endpoint's `enabled_events`: only these types are delivered
    /// automatically (all are still recorded). Empty (the default): every type.
    pub fn set_enabled_events(&self, types: &[&str]) {
        lock(&self.shared).enabled_events = types.iter().map(|t| (*t).to_owned()).collect();
    }

    /// Signs deliveries (automatic and [`Self::deliver`]) as made at this Unix time instead of
    /// the wall clock, for an app under test whose clock is not the wall clock. `None`: now.
    pub fn set_sign_time(&self, timestamp: Option<i64>) {
        lock(&self.shared).sign_time = timestamp;
    }

    /// Every `/v1` answer waits this long first (simulates a slow or hung Stripe).
    pub fn set_latency(&self, d: Duration) {
        lock(&self.shared).latency = d;
    }

    /// `Some(500)`, `Some(503)`…: every `/v1` call answers that status with a Stripe
    /// `api_error` body, changing nothing. `None`: back to normal.
    pub fn set_failure(&self, status: Option<u16>) {
        lock(&self.shared).failure = status;
    }

    /// Confirms a PaymentIntent the way Stripe.js does in the buyer's browser: over HTTP with
    /// the publishable key and the intent's client secret. Returns the HTTP status and body
    /// (the PaymentIntent, or a Stripe error object, e.g. 402 for a declined card).
    pub async fn confirm(&self, payment_intent_id: &str, payment_method: &str) -> (u16, Value) {
        let client_secret = self
            .payment_intent(payment_intent_id)
            .and_then(|pi| pi["client_secret"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let response = self
            .shared
            .http
            .post(format!("{}/v1/payment_intents/{payment_intent_id}/confirm", self.base_url))
            .bearer_auth(&self.publishable_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode_form(&[
                ("payment_method", payment_method),
                ("client_secret", &client_secret),
            ]))
            .send()
            .await
            .expect("reach the stand-in's confirm endpoint");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("the stand-in answers JSON");
        (status, body)
    }

    /// Every event emitted or made so far, oldest first.
    pub fn events(&self) -> Vec<StandInEvent> {
        lock(&self.shared).events.clone()
    }

    /// Every webhook POST made so far (automatic and via [`Self::deliver`]), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        lock(&self.shared).deliveries.clone()
    }

    /// Records (without delivering) a synthetic event carrying `object`, as Stripe would shape
    /// it for an action taken outside the API (e.g. in the Dashboard).
    pub fn make_event(&self, type_: &str, object: Value) -> StandInEvent {
        let mut state = lock(&self.shared);
        emit(&mut state, type_, object, &RequestInfo::none())
    }

    /// The `Stripe-Signature` header value Stripe would send for `payload` at `timestamp`.
    pub fn sign(&self, payload: &str, timestamp: i64) -> String {
        signature_header(&self.webhook_secret, payload, timestamp)
    }

    /// Opens another account on this stand-in (another organisation's Stripe account): its
    /// secret key is accepted like the first, and [`RecordedRequest::api_key`] tells which
    /// account each call used. Returns the account's secret key and webhook signing secret
    /// (sign its events with [`StripeStandIn::sign_with`]; automatic deliveries use the first
    /// account's secret and URL).
    pub fn add_account(&self) -> (String, String) {
        let key = format!("sk_test_{}", random(24));
        lock(&self.shared).other_secret_keys.push(key.clone());
        (key, format!("whsec_{}", random(32)))
    }

    /// The `Stripe-Signature` header for `payload` under `secret` at `timestamp`.
    pub fn sign_with(secret: &str, payload: &str, timestamp: i64) -> String {
        signature_header(secret, payload, timestamp)
    }

    /// POSTs `event` to the webhook URL, signed now; returns the HTTP status (0 if no answer).
    ///
    /// # Panics
    /// When no webhook URL is set.
    pub async fn deliver(&self, event: &StandInEvent) -> u16 {
        let status = post_event(&self.shared, &event.payload, None).await;
        lock(&self.shared).deliveries.push(DeliveryAttempt { event_id: event.id.clone(), status });
        status.unwrap_or(0)
    }

    /// POSTs `payload` as is to the webhook URL with the given `Stripe-Signature` header (none
    /// when `None`); returns the HTTP status (0 if no answer). Not recorded as a delivery.
    ///
    /// # Panics
    /// When no webhook URL is set.
    pub async fn deliver_raw(&self, payload: &str, signature_header: Option<&str>) -> u16 {
        post_event(&self.shared, payload, Some(signature_header)).await.unwrap_or(0)
    }

    /// Every `/v1` call received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// The current state of a PaymentIntent, as `GET /v1/payment_intents/{id}` would show it.
    pub fn payment_intent(&self, id: &str) -> Option<Value> {
        lock(&self.shared).payment_intents.get(id).cloned()
    }

    /// The current state of a charge (`ch_…`, see a PaymentIntent's `latest_charge`).
    pub fn charge(&self, id: &str) -> Option<Value> {
        lock(&self.shared).charges.get(id).cloned()
    }
}
