//! The JSON objects the stand-in answers with and puts into events (PaymentIntent, charge,
//! refund), shaped like Stripe's canonical fixtures, and Stripe's test payment methods.

use serde_json::{Map, Value, json};

use super::state::{new_id, now, random};

pub(super) fn payment_intent_object(
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

pub(super) struct Card {
    brand: &'static str,
    last4: &'static str,
    funding: &'static str,
    pub(super) decline: Option<(&'static str, &'static str, &'static str)>, // code, decline_code, message
}

pub(super) fn test_card(payment_method: &str) -> Option<Card> {
    let declined = |code, decline_code, message| Card {
        brand: "visa",
        last4: "0002",
        funding: "credit",
        decline: Some((code, decline_code, message)),
    };
    Some(match payment_method {
        "pm_card_visa" => Card { brand: "visa", last4: "4242", funding: "credit", decline: None },
        "pm_card_mastercard" => {
            Card { brand: "mastercard", last4: "4444", funding: "credit", decline: None }
        }
        "pm_card_chargeDeclined" => {
            declined("card_declined", "generic_decline", "Your card was declined.")
        }
        "pm_card_chargeDeclinedInsufficientFunds" => Card {
            last4: "9995",
            ..declined("card_declined", "insufficient_funds", "Your card has insufficient funds.")
        },
        "pm_card_chargeDeclinedExpiredCard" => Card {
            last4: "0069",
            ..declined("expired_card", "expired_card", "Your card has expired.")
        },
        _ => return None,
    })
}

pub(super) fn charge_object(pi: &Value, charge_id: &str, pm_id: &str, card: &Card) -> Value {
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

pub(super) fn refund_object(
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
