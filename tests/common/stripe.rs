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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};
use sha2::Sha256;

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
    /// Decoded form body (POST) or query (GET), in the order sent, keys as sent
    /// (e.g. `metadata[order_id]`).
    pub form: Vec<(String, String)>,
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

struct Shared {
    secret_key: String,
    publishable_key: String,
    webhook_secret: String,
    state: Mutex<State>,
    /// Keeps webhook deliveries in emission order across concurrent API calls.
    delivery_order: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

struct State {
    webhook_url: Option<String>,
    auto_deliver: bool,
    enabled_events: Vec<String>,
    sign_time: Option<i64>,
    latency: Duration,
    failure: Option<u16>,
    payment_intents: HashMap<String, Value>,
    charges: HashMap<String, Value>,
    refunds: HashMap<String, Value>,
    idempotency: HashMap<String, Saved>,
    events: Vec<StandInEvent>,
    deliveries: Vec<DeliveryAttempt>,
    requests: Vec<RecordedRequest>,
}

/// A response kept for an idempotency key, with what it was for.
struct Saved {
    endpoint: String,
    params: Vec<(String, String)>,
    status: u16,
    body: String,
}

/// What a handler decided: the answer, and the events to deliver before sending it.
struct Answer {
    status: u16,
    body: Value,
    events: Vec<StandInEvent>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            events: Vec::new(),
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn random(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random(24))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>" keyed by the whole secret>`.
fn signature_header(secret: &str, payload: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(err) => panic!("HMAC accepts keys of any length: {err}"),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

impl StripeStandIn {
    /// Starts a stand-in on a free port of 127.0.0.1, its server spawned on the current Tokio
    /// runtime (call it from a `#[tokio::test(flavor = "multi_thread")]`).
    pub async fn start() -> StripeStandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind the Stripe stand-in to 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("the stand-in's local address")
            .port();
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
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
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
            .post(format!(
                "{}/v1/payment_intents/{payment_intent_id}/confirm",
                self.base_url
            ))
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
        let body = response
            .json::<Value>()
            .await
            .expect("the stand-in answers JSON");
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

    /// POSTs `event` to the webhook URL, signed now; returns the HTTP status (0 if no answer).
    ///
    /// # Panics
    /// When no webhook URL is set.
    pub async fn deliver(&self, event: &StandInEvent) -> u16 {
        let status = post_event(&self.shared, &event.payload, None).await;
        lock(&self.shared).deliveries.push(DeliveryAttempt {
            event_id: event.id.clone(),
            status,
        });
        status.unwrap_or(0)
    }

    /// POSTs `payload` as is to the webhook URL with the given `Stripe-Signature` header (none
    /// when `None`); returns the HTTP status (0 if no answer). Not recorded as a delivery.
    ///
    /// # Panics
    /// When no webhook URL is set.
    pub async fn deliver_raw(&self, payload: &str, signature_header: Option<&str>) -> u16 {
        post_event(&self.shared, payload, Some(signature_header))
            .await
            .unwrap_or(0)
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

/// POSTs one event body to the webhook URL. `signature`: `None` signs it now; `Some(h)` sends
/// header `h` (or none). Returns the status, `None` when the webhook did not answer.
async fn post_event(
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
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .body(payload.to_owned());
    let header = match signature {
        None => Some(signature_header(
            &shared.webhook_secret,
            payload,
            sign_time.unwrap_or_else(now),
        )),
        Some(given) => given.map(str::to_owned),
    };
    if let Some(header) = header {
        request = request.header("Stripe-Signature", header);
    }
    request.send().await.ok().map(|r| r.status().as_u16())
}

/// Delivers freshly emitted events in order, if a webhook is set and auto-delivery is on.
async fn auto_deliver(shared: &Shared, events: &[StandInEvent]) {
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
        lock(shared).deliveries.push(DeliveryAttempt {
            event_id: event.id.clone(),
            status,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Secret,
    Publishable,
}

struct RequestInfo {
    id: Option<String>,
    idempotency_key: Option<String>,
}

impl RequestInfo {
    fn none() -> Self {
        Self {
            id: None,
            idempotency_key: None,
        }
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let method = req.method().as_str().to_owned();
    if !path.starts_with("/v1/") {
        return HttpResponse::NotFound().finish();
    }
    let raw = if method == "GET" {
        req.query_string().to_owned()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let form = parse_form(&raw);
    let idempotency_key = header(&req, "Idempotency-Key");
    let request_id = new_id("req");
    let (latency, failure) = {
        let mut state = lock(&shared);
        state.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            idempotency_key: idempotency_key.clone(),
            form: form.clone(),
        });
        (state.latency, state.failure)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let info = RequestInfo {
        id: Some(request_id.clone()),
        idempotency_key,
    };
    if let Some(status) = failure {
        let body = error_body(
            "api_error",
            None,
            "An unknown error occurred. (Stripe stand-in: simulated failure)",
            None,
            Some(&request_id),
        );
        return respond(status, &body.to_string(), &info, false);
    }
    let key = match authenticate(&req, &shared) {
        Ok(key) => key,
        Err(answer) => return respond(answer.status, &pretty(&answer.body), &info, false),
    };
    let params = nest(&form);
    let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let endpoint = format!("{method} {path}");

    let route = match (method.as_str(), &segments[..]) {
        ("POST", ["payment_intents"]) => Some(Route::CreateIntent),
        ("GET", ["payment_intents", id]) => Some(Route::RetrieveIntent((*id).to_owned())),
        ("POST", ["payment_intents", id]) => Some(Route::UpdateIntent((*id).to_owned())),
        ("POST", ["payment_intents", id, "confirm"]) => {
            Some(Route::ConfirmIntent((*id).to_owned()))
        }
        ("POST", ["payment_intents", id, "cancel"]) => Some(Route::CancelIntent((*id).to_owned())),
        ("POST", ["refunds"]) => Some(Route::CreateRefund),
        ("GET", ["refunds", id]) => Some(Route::RetrieveRefund((*id).to_owned())),
        _ => None,
    };
    let Some(route) = route else {
        let message = format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or \
             we can help at https://support.stripe.com/."
        );
        let body = error_body(
            "invalid_request_error",
            None,
            &message,
            None,
            Some(&request_id),
        );
        return respond(404, &pretty(&body), &info, false);
    };
    // Confirming with a publishable key is what Stripe.js does; everything else needs the
    // secret key (retrieving with a publishable key also needs the client secret).
    let publishable_ok = matches!(route, Route::ConfirmIntent(_) | Route::RetrieveIntent(_));
    if key == Key::Publishable && !publishable_ok {
        let body = error_body(
            "invalid_request_error",
            None,
            "This API call cannot be made with a publishable API key. Please use a secret API key. \
             You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
            None,
            Some(&request_id),
        );
        return respond(401, &pretty(&body), &info, false);
    }

    let (status, text, events, replayed) = {
        let mut state = lock(&shared);
        let mut sorted = form.clone();
        sorted.sort();
        let saved = match (&info.idempotency_key, method.as_str()) {
            (Some(k), "POST") => state.idempotency.get(k).map(|s| {
                (
                    s.endpoint == endpoint && s.params == sorted,
                    s.status,
                    s.body.clone(),
                )
            }),
            _ => None,
        };
        match saved {
            Some((true, status, body)) => (status, body, Vec::new(), true),
            Some((false, _, _)) => {
                let message = format!(
                    "Keys for idempotent requests can only be used with the same parameters they \
                     were first used with. Try using a key other than '{}' if you meant to \
                     execute a different request.",
                    info.idempotency_key.clone().unwrap_or_default()
                );
                let body = error_body("idempotency_error", None, &message, None, Some(&request_id));
                (400, pretty(&body), Vec::new(), false)
            }
            None => {
                let answer = route.run(&mut state, &params, key, &info);
                let text = pretty(&answer.body);
                if let (Some(k), "POST") = (&info.idempotency_key, method.as_str()) {
                    state.idempotency.insert(
                        k.clone(),
                        Saved {
                            endpoint,
                            params: sorted,
                            status: answer.status,
                            body: text.clone(),
                        },
                    );
                }
                (answer.status, text, answer.events, false)
            }
        }
    };
    auto_deliver(&shared, &events).await;
    respond(status, &text, &info, replayed)
}

enum Route {
    CreateIntent,
    RetrieveIntent(String),
    UpdateIntent(String),
    ConfirmIntent(String),
    CancelIntent(String),
    CreateRefund,
    RetrieveRefund(String),
}

impl Route {
    fn run(
        &self,
        state: &mut State,
        params: &Map<String, Value>,
        key: Key,
        info: &RequestInfo,
    ) -> Answer {
        match self {
            Route::CreateIntent => create_payment_intent(state, params, info),
            Route::RetrieveIntent(id) => retrieve_payment_intent(state, id, params, key),
            Route::UpdateIntent(id) => update_payment_intent(state, id, params),
            Route::ConfirmIntent(id) => confirm_payment_intent(state, id, params, key, info),
            Route::CancelIntent(id) => cancel_payment_intent(state, id, params, info),
            Route::CreateRefund => create_refund(state, params, info),
            Route::RetrieveRefund(id) => retrieve_refund(state, id),
        }
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn authenticate(req: &HttpRequest, shared: &Shared) -> Result<Key, Answer> {
    let given = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    if given.is_empty() {
        return Err(Answer {
            status: 401,
            body: json!({"error": {
                "message": "You did not provide an API key. You need to provide your API key in \
                            the Authorization header, using Bearer auth (e.g. 'Authorization: \
                            Bearer YOUR_SECRET_KEY').",
                "type": "invalid_request_error"
            }}),
            events: Vec::new(),
        });
    }
    if given == shared.secret_key {
        return Ok(Key::Secret);
    }
    if given == shared.publishable_key {
        return Ok(Key::Publishable);
    }
    let tail: String = given
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let prefix: String = given.chars().take(8).collect();
    Err(Answer {
        status: 401,
        body: json!({"error": {
            "message": format!("Invalid API Key provided: {prefix}****{tail}"),
            "type": "invalid_request_error"
        }}),
        events: Vec::new(),
    })
}

fn respond(status: u16, body: &str, info: &RequestInfo, replayed: bool) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(code);
    response
        .content_type("application/json")
        .insert_header(("Stripe-Version", API_VERSION))
        .insert_header(("Cache-Control", "no-cache, no-store"));
    if let Some(id) = &info.id {
        response.insert_header(("Request-Id", id.as_str()));
    }
    if let Some(key) = &info.idempotency_key {
        response.insert_header(("Idempotency-Key", key.as_str()));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(body.to_owned())
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

// ---------------------------------------------------------------------------------------------
// Form encoding (`a[b][c]=v`, `a[0]=v`, `a[]=v`)

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let digits = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn parse_form(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Turns `metadata[order_id]=7` into `{"metadata": {"order_id": "7"}}`; objects whose keys are
/// all indexes (`a[0]`, `a[]`) become arrays. Leaves are strings.
fn nest(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let path: Vec<String> = match key.split_once('[') {
            None => vec![key.clone()],
            Some((head, rest)) => std::iter::once(head.to_owned())
                .chain(
                    rest.split('[')
                        .map(|seg| seg.trim_end_matches(']').to_owned()),
                )
                .collect(),
        };
        insert(&mut root, &path, value);
    }
    let mut value = Value::Object(root);
    arrays(&mut value);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn insert(map: &mut Map<String, Value>, path: &[String], value: &str) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Value::String(value.to_owned()));
        return;
    }
    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(child) = entry {
        insert(child, rest, value);
    }
}

fn arrays(value: &mut Value) {
    if let Value::Object(map) = value {
        for child in map.values_mut() {
            arrays(child);
        }
        if !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok()) {
            let mut items: Vec<(usize, Value)> = std::mem::take(map)
                .into_iter()
                .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            *value = Value::Array(items.into_iter().map(|(_, v)| v).collect());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

fn error_body(
    type_: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
    request_id: Option<&str>,
) -> Value {
    let mut error = Map::new();
    if let Some(code) = code {
        error.insert("code".into(), json!(code));
        error.insert(
            "doc_url".into(),
            json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            )),
        );
    }
    error.insert("message".into(), json!(message));
    if let Some(param) = param {
        error.insert("param".into(), json!(param));
    }
    if let Some(request_id) = request_id {
        error.insert(
            "request_log_url".into(),
            json!(format!(
                "https://dashboard.stripe.com/test/logs/{request_id}"
            )),
        );
    }
    error.insert("type".into(), json!(type_));
    json!({ "error": error })
}

fn invalid(status: u16, code: Option<&str>, message: &str, param: Option<&str>) -> Answer {
    Answer {
        status,
        body: error_body("invalid_request_error", code, message, param, None),
        events: Vec::new(),
    }
}

fn missing(kind: &str, id: &str, param: &str) -> Answer {
    invalid(
        404,
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

fn unknown_params(params: &Map<String, Value>, allowed: &[&str]) -> Option<Answer> {
    let unknown = params.keys().find(|k| !allowed.contains(&k.as_str()))?;
    Some(invalid(
        400,
        Some("parameter_unknown"),
        &format!("Received unknown parameter: {unknown}"),
        Some(unknown),
    ))
}

fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// A positive integer amount parameter: `Ok(None)` when absent.
fn amount_param(params: &Map<String, Value>, name: &str) -> Result<Option<i64>, Answer> {
    let Some(raw) = str_param(params, name) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(invalid(
            400,
            Some("parameter_invalid_integer"),
            &format!("Invalid positive integer: {raw}"),
            Some(name),
        )),
    }
}

fn metadata_param(params: &Map<String, Value>) -> Result<Map<String, Value>, Answer> {
    let Some(given) = params.get("metadata") else {
        return Ok(Map::new());
    };
    let Value::Object(map) = given else {
        // `metadata=` (empty) clears metadata in Stripe.
        return Ok(Map::new());
    };
    if map.len() > 50 {
        return Err(invalid(
            400,
            None,
            "Invalid metadata: metadata can have up to 50 keys",
            Some("metadata"),
        ));
    }
    for (k, v) in map {
        let Some(v) = v.as_str() else {
            return Err(invalid(
                400,
                None,
                "Invalid metadata: values must be strings",
                Some("metadata"),
            ));
        };
        if k.chars().count() > 40 || v.chars().count() > 500 {
            return Err(invalid(
                400,
                None,
                "Invalid metadata: keys can be up to 40 characters and values up to 500",
                Some(&format!("metadata[{k}]")),
            ));
        }
    }
    Ok(map.clone())
}

fn format_money(amount: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {}",
        amount / 100,
        amount % 100,
        currency.to_ascii_uppercase()
    )
}

// ---------------------------------------------------------------------------------------------
// Objects (shaped like Stripe's canonical fixtures)

fn payment_intent_object(
    id: &str,
    amount: i64,
    currency: &str,
    metadata: Map<String, Value>,
    description: Option<&str>,
    automatic: bool,
    payment_method_types: Vec<String>,
) -> Value {
    json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": { "tip": {} },
        "amount_received": 0,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": if automatic { json!({ "allow_redirects": "always", "enabled": true }) } else { Value::Null },
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic_async",
        "client_secret": format!("{id}_secret_{}", random(25)),
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": null,
        "customer_account": null,
        "description": description,
        "excluded_payment_method_types": null,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": metadata,
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": null,
        "payment_method_configuration_details": if automatic { json!({ "id": "pmc_standin0000000000000000", "parent": null }) } else { Value::Null },
        "payment_method_options": {
            "card": {
                "installments": null,
                "mandate_options": null,
                "network": null,
                "request_three_d_secure": "automatic"
            }
        },
        "payment_method_types": payment_method_types,
        "processing": null,
        "receipt_email": null,
        "review": null,
        "setup_future_usage": null,
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": "requires_payment_method",
        "transfer_data": null,
        "transfer_group": null
    })
}

struct Card {
    brand: &'static str,
    last4: &'static str,
    funding: &'static str,
    decline: Option<(&'static str, &'static str, &'static str)>, // code, decline_code, message
}

fn test_card(payment_method: &str) -> Option<Card> {
    let declined = |code, decline_code, message| Card {
        brand: "visa",
        last4: "0002",
        funding: "credit",
        decline: Some((code, decline_code, message)),
    };
    Some(match payment_method {
        "pm_card_visa" => Card {
            brand: "visa",
            last4: "4242",
            funding: "credit",
            decline: None,
        },
        "pm_card_mastercard" => Card {
            brand: "mastercard",
            last4: "4444",
            funding: "credit",
            decline: None,
        },
        "pm_card_chargeDeclined" => declined(
            "card_declined",
            "generic_decline",
            "Your card was declined.",
        ),
        "pm_card_chargeDeclinedInsufficientFunds" => Card {
            last4: "9995",
            ..declined(
                "card_declined",
                "insufficient_funds",
                "Your card has insufficient funds.",
            )
        },
        "pm_card_chargeDeclinedExpiredCard" => Card {
            last4: "0069",
            ..declined("expired_card", "expired_card", "Your card has expired.")
        },
        _ => return None,
    })
}

fn charge_object(pi: &Value, charge_id: &str, pm_id: &str, card: &Card) -> Value {
    let amount = pi["amount"].as_i64().unwrap_or(0);
    let ok = card.decline.is_none();
    let outcome = match card.decline {
        None => json!({
            "advice_code": null, "network_advice_code": null, "network_decline_code": null,
            "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
            "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized"
        }),
        Some((_, decline_code, _)) => json!({
            "advice_code": "try_again_later", "network_advice_code": null, "network_decline_code": null,
            "network_status": "declined_by_network", "reason": decline_code, "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined"
        }),
    };
    let payment_method_details = json!({
        "card": {
            "amount_authorized": if ok { json!(amount) } else { Value::Null },
            "authorization_code": null,
            "brand": card.brand,
            "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass" },
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "extended_authorization": { "status": "disabled" },
            "fingerprint": "StandInFingerprint",
            "funding": card.funding,
            "incremental_authorization": { "status": "unavailable" },
            "installments": null,
            "last4": card.last4,
            "mandate": null,
            "multicapture": { "status": "unavailable" },
            "network": card.brand,
            "network_token": { "used": false },
            "network_transaction_id": null,
            "overcapture": { "maximum_amount_capturable": amount, "status": "unavailable" },
            "regulated_status": "unregulated",
            "three_d_secure": null,
            "wallet": null
        },
        "type": "card"
    });
    let billing_details = json!({
        "address": { "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null },
        "email": null, "name": null, "phone": null, "tax_id": null
    });
    let mut charge = json!({
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": if ok { amount } else { 0 },
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": if ok { json!(new_id("txn")) } else { Value::Null },
        "billing_details": billing_details,
        "calculated_statement_descriptor": "PUPITRE",
        "captured": ok,
        "created": now(),
        "currency": pi["currency"],
        "customer": null,
        "description": pi["description"],
        "disputed": false
    });
    let rest = json!({
        "failure_balance_transaction": null,
        "failure_code": card.decline.map(|(code, _, _)| code),
        "failure_message": card.decline.map(|(_, _, message)| message),
        "fraud_details": {},
        "livemode": false,
        "metadata": pi["metadata"],
        "on_behalf_of": null,
        "outcome": outcome,
        "paid": ok,
        "payment_intent": pi["id"],
        "payment_method": pm_id,
        "payment_method_details": payment_method_details,
        "receipt_email": null,
        "receipt_number": null,
        "receipt_url": null,
        "refunded": false,
        "review": null,
        "shipping": null,
        "source": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": if ok { "succeeded" } else { "failed" },
        "transfer_data": null,
        "transfer_group": null
    });
    if let (Value::Object(charge), Value::Object(rest)) = (&mut charge, rest) {
        charge.extend(rest);
    }
    charge
}

fn refund_object(
    pi: &Value,
    charge_id: &str,
    amount: i64,
    metadata: Map<String, Value>,
    reason: Option<&str>,
) -> Value {
    json!({
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge_id,
        "created": now(),
        "currency": pi["currency"],
        "customer": null,
        "customer_account": null,
        "destination_details": { "card": { "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund" }, "type": "card" },
        "metadata": metadata,
        "payment_intent": pi["id"],
        "payment_method": pi["payment_method"],
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null
    })
}

/// Records an event carrying a snapshot of `object`.
fn emit(state: &mut State, type_: &str, object: Value, request: &RequestInfo) -> StandInEvent {
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
    let event = StandInEvent {
        id,
        type_: type_.to_owned(),
        payload: pretty(&body),
    };
    state.events.push(event.clone());
    event
}

// ---------------------------------------------------------------------------------------------
// Endpoints

fn create_payment_intent(
    state: &mut State,
    params: &Map<String, Value>,
    info: &RequestInfo,
) -> Answer {
    const ALLOWED: &[&str] = &[
        "amount",
        "currency",
        "metadata",
        "description",
        "automatic_payment_methods",
        "payment_method_types",
        "capture_method",
        "confirm",
        "payment_method",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "return_url",
        "expand",
    ];
    if let Some(err) = unknown_params(params, ALLOWED) {
        return err;
    }
    let amount = match amount_param(params, "amount") {
        Ok(Some(amount)) => amount,
        Ok(None) => {
            return invalid(
                400,
                Some("parameter_missing"),
                "Missing required param: amount.",
                Some("amount"),
            );
        }
        Err(err) => return err,
    };
    let Some(currency) = str_param(params, "currency") else {
        return invalid(
            400,
            Some("parameter_missing"),
            "Missing required param: currency.",
            Some("currency"),
        );
    };
    const CURRENCIES: &[&str] = &[
        "eur", "usd", "gbp", "chf", "cad", "aud", "jpy", "sek", "nok", "dkk", "pln",
    ];
    if !CURRENCIES.contains(&currency) {
        return invalid(
            400,
            None,
            &format!(
                "Invalid currency: {currency}. Stripe currently supports these currencies: {}",
                CURRENCIES.join(", ")
            ),
            Some("currency"),
        );
    }
    if amount < 50 {
        return invalid(
            400,
            Some("amount_too_small"),
            &format!(
                "Amount must be at least 0.50 {}",
                currency.to_ascii_uppercase()
            ),
            Some("amount"),
        );
    }
    let metadata = match metadata_param(params) {
        Ok(m) => m,
        Err(err) => return err,
    };
    let explicit_types: Option<Vec<String>> = params
        .get("payment_method_types")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    let automatic = params
        .get("automatic_payment_methods")
        .and_then(|a| a.get("enabled"))
        .and_then(Value::as_str)
        .map_or(explicit_types.is_none(), |v| v == "true");
    let types = explicit_types.unwrap_or_else(|| vec!["card".to_owned(), "link".to_owned()]);
    let capture_method = str_param(params, "capture_method").unwrap_or("automatic_async");
    let id = new_id("pi");
    let mut pi = payment_intent_object(
        &id,
        amount,
        currency,
        metadata,
        str_param(params, "description"),
        automatic,
        types,
    );
    pi["capture_method"] = json!(capture_method);
    state.payment_intents.insert(id.clone(), pi.clone());
    let created = emit(state, "payment_intent.created", pi.clone(), info);
    if str_param(params, "confirm") == Some("true") {
        let mut confirm = Map::new();
        if let Some(pm) = str_param(params, "payment_method") {
            confirm.insert("payment_method".into(), json!(pm));
        }
        let mut answer = confirm_payment_intent(state, &id, &confirm, Key::Secret, info);
        answer.events.insert(0, created);
        return answer;
    }
    Answer {
        status: 200,
        body: pi,
        events: vec![created],
    }
}

fn client_secret_matches(pi: &Value, params: &Map<String, Value>) -> bool {
    matches!((pi["client_secret"].as_str(), str_param(params, "client_secret")), (Some(a), Some(b)) if a == b)
}

fn retrieve_payment_intent(
    state: &mut State,
    id: &str,
    params: &Map<String, Value>,
    key: Key,
) -> Answer {
    let Some(pi) = state.payment_intents.get(id) else {
        return missing("payment_intent", id, "intent");
    };
    if key == Key::Publishable && !client_secret_matches(pi, params) {
        return missing("payment_intent", id, "intent");
    }
    Answer::ok(pi.clone())
}

fn unexpected_state(pi: &Value, action: &str, allowed: &str) -> Answer {
    let status = pi["status"].as_str().unwrap_or("unknown");
    let mut answer = invalid(
        400,
        Some("payment_intent_unexpected_state"),
        &format!(
            "You cannot {action} this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be {action}ed: {allowed}."
        ),
        None,
    );
    answer.body["error"]["payment_intent"] = pi.clone();
    answer
}

fn confirm_payment_intent(
    state: &mut State,
    id: &str,
    params: &Map<String, Value>,
    key: Key,
    info: &RequestInfo,
) -> Answer {
    const ALLOWED: &[&str] = &[
        "payment_method",
        "client_secret",
        "return_url",
        "expected_payment_method_type",
        "use_stripe_sdk",
        "expand",
        "receipt_email",
        "setup_future_usage",
        "payment_method_options",
        "mandate_data",
        "off_session",
        "shipping",
        "key",
        "_stripe_version",
    ];
    if let Some(err) = unknown_params(params, ALLOWED) {
        return err;
    }
    let Some(pi) = state.payment_intents.get(id).cloned() else {
        return missing("payment_intent", id, "intent");
    };
    if key == Key::Publishable && !client_secret_matches(&pi, params) {
        return missing("payment_intent", id, "intent");
    }
    let status = pi["status"].as_str().unwrap_or_default();
    if !matches!(
        status,
        "requires_payment_method" | "requires_confirmation" | "requires_action"
    ) {
        let mut answer = unexpected_state(
            &pi,
            "confirm",
            "requires_confirmation, requires_action, requires_payment_method",
        );
        answer.body["error"]["message"] = json!(format!(
            "You cannot confirm this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_action, requires_payment_method."
        ));
        return answer;
    }
    let Some(pm_name) = str_param(params, "payment_method") else {
        return invalid(
            400,
            Some("parameter_missing"),
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent, pass a payment method.",
            Some("payment_method"),
        );
    };
    let Some(card) = test_card(pm_name) else {
        return invalid(
            400,
            Some("resource_missing"),
            &format!("No such PaymentMethod: '{pm_name}'"),
            Some("payment_method"),
        );
    };
    let pm_id = new_id("pm");
    let charge_id = new_id("ch");
    let charge = charge_object(&pi, &charge_id, &pm_id, &card);
    state.charges.insert(charge_id.clone(), charge.clone());
    let mut pi = pi;
    pi["latest_charge"] = json!(charge_id);
    match card.decline {
        None => {
            pi["status"] = json!("succeeded");
            pi["amount_received"] = pi["amount"].clone();
            pi["payment_method"] = json!(pm_id);
            pi["last_payment_error"] = Value::Null;
            state.payment_intents.insert(id.to_owned(), pi.clone());
            let events = vec![
                emit(state, "charge.succeeded", charge, info),
                emit(state, "payment_intent.succeeded", pi.clone(), info),
            ];
            Answer {
                status: 200,
                body: pi,
                events,
            }
        }
        Some((code, decline_code, message)) => {
            let error = json!({
                "charge": charge_id,
                "code": code,
                "decline_code": decline_code,
                "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                "message": message,
                "type": "card_error"
            });
            pi["status"] = json!("requires_payment_method");
            pi["payment_method"] = Value::Null;
            pi["last_payment_error"] = error.clone();
            state.payment_intents.insert(id.to_owned(), pi.clone());
            let events = vec![
                emit(state, "charge.failed", charge, info),
                emit(state, "payment_intent.payment_failed", pi.clone(), info),
            ];
            let mut body = json!({ "error": error });
            body["error"]["payment_intent"] = pi;
            body["error"]["request_log_url"] = json!(format!(
                "https://dashboard.stripe.com/test/logs/{}",
                info.id.clone().unwrap_or_default()
            ));
            Answer {
                status: 402,
                body,
                events,
            }
        }
    }
}

/// `POST /v1/payment_intents/{id}`: changes the amount (and metadata) of an intent that has not
/// been paid yet, as Stripe allows.
fn update_payment_intent(state: &mut State, id: &str, params: &Map<String, Value>) -> Answer {
    if let Some(err) = unknown_params(params, &["amount", "metadata", "description", "expand"]) {
        return err;
    }
    let Some(mut pi) = state.payment_intents.get(id).cloned() else {
        return missing("payment_intent", id, "intent");
    };
    let status = pi["status"].as_str().unwrap_or_default().to_owned();
    if !matches!(status.as_str(), "requires_payment_method" | "requires_confirmation" | "requires_action") {
        return unexpected_state(&pi, "update", "requires_payment_method, requires_confirmation, requires_action");
    }
    if let Some(raw) = str_param(params, "amount") {
        match raw.parse::<i64>() {
            Ok(a) if a >= 1 => {
                pi["amount"] = json!(a);
            }
            _ => return invalid(400, Some("parameter_invalid_integer"), "Invalid integer: amount", Some("amount")),
        }
    }
    if let Some(Value::Object(m)) = params.get("metadata") {
        for (k, v) in m {
            pi["metadata"][k] = v.clone();
        }
    }
    if let Some(d) = str_param(params, "description") {
        pi["description"] = json!(d);
    }
    state.payment_intents.insert(id.to_owned(), pi.clone());
    Answer { status: 200, body: pi, events: Vec::new() }
}

fn cancel_payment_intent(
    state: &mut State,
    id: &str,
    params: &Map<String, Value>,
    info: &RequestInfo,
) -> Answer {
    if let Some(err) = unknown_params(params, &["cancellation_reason", "expand"]) {
        return err;
    }
    let Some(mut pi) = state.payment_intents.get(id).cloned() else {
        return missing("payment_intent", id, "intent");
    };
    let status = pi["status"].as_str().unwrap_or_default();
    if !matches!(
        status,
        "requires_payment_method"
            | "requires_capture"
            | "requires_confirmation"
            | "requires_action"
            | "processing"
    ) {
        let mut answer = unexpected_state(
            &pi,
            "cancel",
            "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing",
        );
        answer.body["error"]["message"] = json!(format!(
            "You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."
        ));
        return answer;
    }
    pi["status"] = json!("canceled");
    pi["canceled_at"] = json!(now());
    pi["cancellation_reason"] =
        str_param(params, "cancellation_reason").map_or(Value::Null, |r| json!(r));
    state.payment_intents.insert(id.to_owned(), pi.clone());
    let events = vec![emit(state, "payment_intent.canceled", pi.clone(), info)];
    Answer {
        status: 200,
        body: pi,
        events,
    }
}

fn create_refund(state: &mut State, params: &Map<String, Value>, info: &RequestInfo) -> Answer {
    const ALLOWED: &[&str] = &[
        "payment_intent",
        "charge",
        "amount",
        "metadata",
        "reason",
        "expand",
        "instructions_email",
    ];
    if let Some(err) = unknown_params(params, ALLOWED) {
        return err;
    }
    let amount = match amount_param(params, "amount") {
        Ok(a) => a,
        Err(err) => return err,
    };
    let metadata = match metadata_param(params) {
        Ok(m) => m,
        Err(err) => return err,
    };
    let reason = str_param(params, "reason");
    if let Some(r) = reason
        && !matches!(r, "duplicate" | "fraudulent" | "requested_by_customer")
    {
        return invalid(
            400,
            None,
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            Some("reason"),
        );
    }
    let pi = match (
        str_param(params, "payment_intent"),
        str_param(params, "charge"),
    ) {
        (Some(pi_id), _) => match state.payment_intents.get(pi_id) {
            Some(pi) => pi.clone(),
            None => return missing("payment_intent", pi_id, "payment_intent"),
        },
        (None, Some(ch_id)) => {
            let Some(pi_id) = state
                .charges
                .get(ch_id)
                .and_then(|c| c["payment_intent"].as_str().map(str::to_owned))
            else {
                return missing("charge", ch_id, "charge");
            };
            match state.payment_intents.get(&pi_id) {
                Some(pi) => pi.clone(),
                None => return missing("charge", ch_id, "charge"),
            }
        }
        (None, None) => {
            return invalid(
                400,
                Some("parameter_missing"),
                "One of the following params should be provided for this request: payment_intent or charge.",
                None,
            );
        }
    };
    let pi_id = pi["id"].as_str().unwrap_or_default().to_owned();
    let charge_id = pi["latest_charge"].as_str().unwrap_or_default().to_owned();
    let succeeded = pi["status"] == "succeeded";
    let Some(mut charge) = state.charges.get(&charge_id).cloned().filter(|_| succeeded) else {
        return invalid(
            400,
            None,
            &format!("This PaymentIntent ({pi_id}) does not have a successful charge to refund."),
            Some("payment_intent"),
        );
    };
    let charged = charge["amount"].as_i64().unwrap_or(0);
    let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
    let remaining = charged - refunded;
    if remaining <= 0 {
        return invalid(
            400,
            Some("charge_already_refunded"),
            &format!("Charge {charge_id} has already been refunded."),
            None,
        );
    }
    let currency = pi["currency"].as_str().unwrap_or_default().to_owned();
    let amount = amount.unwrap_or(remaining);
    if amount > remaining {
        return invalid(
            400,
            None,
            &format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                format_money(amount, &currency),
                format_money(remaining, &currency)
            ),
            Some("amount"),
        );
    }
    let refund = refund_object(&pi, &charge_id, amount, metadata, reason);
    let refund_id = refund["id"].as_str().unwrap_or_default().to_owned();
    state.refunds.insert(refund_id, refund.clone());
    charge["amount_refunded"] = json!(refunded + amount);
    charge["refunded"] = json!(refunded + amount == charged);
    state.charges.insert(charge_id, charge.clone());
    let events = vec![
        emit(state, "charge.refunded", charge, info),
        emit(state, "refund.created", refund.clone(), info),
    ];
    Answer {
        status: 200,
        body: refund,
        events,
    }
}

fn retrieve_refund(state: &mut State, id: &str) -> Answer {
    match state.refunds.get(id) {
        Some(refund) => Answer::ok(refund.clone()),
        None => missing("refund", id, "id"),
    }
}
