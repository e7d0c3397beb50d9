//! What the stand-in remembers between calls (intents, charges, refunds, idempotency keys,
//! events, deliveries, requests) and the knobs a test turned; plus the id and clock helpers.
//! It holds no HTTP and no Stripe rules.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;

use super::{DeliveryAttempt, RecordedRequest, StandInEvent};

pub(super) struct Shared {
    pub(super) secret_key: String,
    pub(super) publishable_key: String,
    pub(super) webhook_secret: String,
    pub(super) state: Mutex<State>,
    /// Keeps webhook deliveries in emission order across concurrent API calls.
    pub(super) delivery_order: tokio::sync::Mutex<()>,
    pub(super) http: reqwest::Client,
}

pub(super) struct State {
    /// Secret keys of further accounts (`StripeStandIn::add_account`), accepted like the first.
    pub(super) other_secret_keys: Vec<String>,
    pub(super) webhook_url: Option<String>,
    pub(super) auto_deliver: bool,
    pub(super) enabled_events: Vec<String>,
    pub(super) sign_time: Option<i64>,
    pub(super) latency: Duration,
    pub(super) failure: Option<u16>,
    pub(super) payment_intents: HashMap<String, Value>,
    pub(super) charges: HashMap<String, Value>,
    pub(super) refunds: HashMap<String, Value>,
    pub(super) idempotency: HashMap<String, Saved>,
    pub(super) events: Vec<StandInEvent>,
    pub(super) deliveries: Vec<DeliveryAttempt>,
    pub(super) requests: Vec<RecordedRequest>,
}

/// A response kept for an idempotency key, with what it was for.
pub(super) struct Saved {
    pub(super) endpoint: String,
    pub(super) params: Vec<(String, String)>,
    pub(super) status: u16,
    pub(super) body: String,
}

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random(24))
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
