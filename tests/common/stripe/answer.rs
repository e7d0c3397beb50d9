//! What an endpoint decides (status, body, events to deliver first) and Stripe's error objects
//! (`invalid_request_error` with `code`, `doc_url`, `param`), with Stripe's HTTP statuses.

use serde_json::{Map, Value, json};

use super::StandInEvent;

/// What a handler decided: the answer, and the events to deliver before sending it.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) events: Vec<StandInEvent>,
}

impl Answer {
    pub(super) fn ok(body: Value) -> Self {
        Self { status: 200, body, events: Vec::new() }
    }
}

pub(super) fn error_body(
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
            json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))),
        );
    }
    error.insert("message".into(), json!(message));
    if let Some(param) = param {
        error.insert("param".into(), json!(param));
    }
    if let Some(request_id) = request_id {
        error.insert(
            "request_log_url".into(),
            json!(format!("https://dashboard.stripe.com/test/logs/{request_id}")),
        );
    }
    error.insert("type".into(), json!(type_));
    json!({ "error": error })
}

pub(super) fn invalid(
    status: u16,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Answer {
    Answer {
        status,
        body: error_body("invalid_request_error", code, message, param, None),
        events: Vec::new(),
    }
}

pub(super) fn missing(kind: &str, id: &str, param: &str) -> Answer {
    invalid(404, Some("resource_missing"), &format!("No such {kind}: '{id}'"), Some(param))
}

pub(super) fn unexpected_state(pi: &Value, action: &str, allowed: &str) -> Answer {
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
