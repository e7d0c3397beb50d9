//! How a billing address is stored: one JSON shape (camelCase keys) on an order's
//! `billing_address` column and in invoice snapshots, read back for the API and the invoice.
//!
//! An address is personal data: this module only converts it and must never log it.

use super::PostalAddress;

/// How a billing address is stored on orders and in invoice snapshots (JSON, camelCase keys).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAddress {
    line1: String,
    line2: Option<String>,
    postal_code: String,
    city: String,
    country: String,
}

/// The stored form of a billing address.
pub fn address_value(a: &PostalAddress) -> serde_json::Value {
    let s = StoredAddress {
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        country: a.country.clone(),
    };
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

pub(super) fn address_json(a: &PostalAddress) -> String {
    address_value(a).to_string()
}

/// The billing address stored on an order or invoice.
pub fn stored_address(raw: &str) -> Option<PostalAddress> {
    stored_address_value(&serde_json::from_str(raw).ok()?)
}

/// A billing address from its stored form (an order's column or an invoice snapshot).
pub fn stored_address_value(v: &serde_json::Value) -> Option<PostalAddress> {
    let s: StoredAddress = serde_json::from_value(v.clone()).ok()?;
    Some(PostalAddress {
        line1: s.line1,
        line2: s.line2,
        postal_code: s.postal_code,
        city: s.city,
        country: s.country,
    })
}
