//! The PaymentIntent endpoints: create, retrieve, confirm (Stripe's test payment methods; a
//! decline answers 402), update an unpaid amount, cancel. Each checks the intent's status as
//! Stripe does and records the events Stripe would emit.

use serde_json::{Map, Value, json};

use super::answer::{Answer, invalid, missing, unexpected_state};
use super::objects::{charge_object, payment_intent_object, test_card};
use super::params::{amount_param, metadata_param, str_param, unknown_params};
use super::server::{Key, RequestInfo};
use super::state::{State, new_id, now};
use super::webhook::emit;

pub(super) fn create_payment_intent(
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
    const CURRENCIES: &[&str] =
        &["eur", "usd", "gbp", "chf", "cad", "aud", "jpy", "sek", "nok", "dkk", "pln"];
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
            &format!("Amount must be at least 0.50 {}", currency.to_ascii_uppercase()),
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
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect());
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
    Answer { status: 200, body: pi, events: vec![created] }
}

fn client_secret_matches(pi: &Value, params: &Map<String, Value>) -> bool {
    matches!((pi["client_secret"].as_str(), str_param(params, "client_secret")), (Some(a), Some(b)) if a == b)
}

pub(super) fn retrieve_payment_intent(
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

pub(super) fn confirm_payment_intent(
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
    if !matches!(status, "requires_payment_method" | "requires_confirmation" | "requires_action") {
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
            Answer { status: 200, body: pi, events }
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
            Answer { status: 402, body, events }
        }
    }
}

/// `POST /v1/payment_intents/{id}`: changes the amount (and metadata) of an intent that has not
/// been paid yet, as Stripe allows.
pub(super) fn update_payment_intent(
    state: &mut State,
    id: &str,
    params: &Map<String, Value>,
) -> Answer {
    if let Some(err) = unknown_params(params, &["amount", "metadata", "description", "expand"]) {
        return err;
    }
    let Some(mut pi) = state.payment_intents.get(id).cloned() else {
        return missing("payment_intent", id, "intent");
    };
    let status = pi["status"].as_str().unwrap_or_default().to_owned();
    if !matches!(
        status.as_str(),
        "requires_payment_method" | "requires_confirmation" | "requires_action"
    ) {
        return unexpected_state(
            &pi,
            "update",
            "requires_payment_method, requires_confirmation, requires_action",
        );
    }
    if let Some(raw) = str_param(params, "amount") {
        match raw.parse::<i64>() {
            Ok(a) if a >= 1 => {
                pi["amount"] = json!(a);
            }
            _ => {
                return invalid(
                    400,
                    Some("parameter_invalid_integer"),
                    "Invalid integer: amount",
                    Some("amount"),
                );
            }
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

pub(super) fn cancel_payment_intent(
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
    Answer { status: 200, body: pi, events }
}
