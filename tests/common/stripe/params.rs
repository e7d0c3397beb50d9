//! Parameter checks shared by the endpoints, refusing as Stripe does: unknown parameters,
//! positive integer amounts, metadata limits.

use serde_json::{Map, Value};

use super::answer::{Answer, invalid};

pub(super) fn unknown_params(params: &Map<String, Value>, allowed: &[&str]) -> Option<Answer> {
    let unknown = params.keys().find(|k| !allowed.contains(&k.as_str()))?;
    Some(invalid(
        400,
        Some("parameter_unknown"),
        &format!("Received unknown parameter: {unknown}"),
        Some(unknown),
    ))
}

pub(super) fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// A positive integer amount parameter: `Ok(None)` when absent.
pub(super) fn amount_param(params: &Map<String, Value>, name: &str) -> Result<Option<i64>, Answer> {
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

pub(super) fn metadata_param(params: &Map<String, Value>) -> Result<Map<String, Value>, Answer> {
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

pub(super) fn format_money(amount: i64, currency: &str) -> String {
    format!("{}.{:02} {}", amount / 100, amount % 100, currency.to_ascii_uppercase())
}
