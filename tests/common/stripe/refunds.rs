//! The refund endpoints: create (by PaymentIntent or charge, only on a successful charge, never
//! more than what is left) and retrieve.

use serde_json::{Map, Value, json};

use super::answer::{Answer, invalid, missing};
use super::objects::refund_object;
use super::params::{amount_param, format_money, metadata_param, str_param, unknown_params};
use super::server::RequestInfo;
use super::state::State;
use super::webhook::emit;

pub(super) fn create_refund(
    state: &mut State,
    params: &Map<String, Value>,
    info: &RequestInfo,
) -> Answer {
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
    let pi = match (str_param(params, "payment_intent"), str_param(params, "charge")) {
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
    Answer { status: 200, body: refund, events }
}

pub(super) fn retrieve_refund(state: &mut State, id: &str) -> Answer {
    match state.refunds.get(id) {
        Some(refund) => Answer::ok(refund.clone()),
        None => missing("refund", id, "id"),
    }
}
