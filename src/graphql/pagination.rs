//! Relay-style cursor pagination helpers: opaque cursors, a capped `first`.

use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Largest page a client may ask for.
pub const MAX_FIRST: i32 = 100;

/// Checks `first` (1..=100) and decodes `after`.
pub fn page_args(first: Option<i32>, after: Option<String>, kind: &str) -> AppResult<(u64, Option<Uuid>)> {
    let first = first.unwrap_or(20);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(AppError::bad_input("first", format!("must be between 1 and {MAX_FIRST}")));
    }
    let after = match after {
        None => None,
        Some(c) => Some(decode_cursor(&c, kind).ok_or_else(|| AppError::bad_input("after", "is not a valid cursor"))?),
    };
    Ok((first as u64, after))
}

pub fn encode_cursor(kind: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn decode_cursor(cursor: &str, kind: &str) -> Option<Uuid> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let id = text.strip_prefix(kind)?.strip_prefix(':')?;
    Uuid::parse_str(id).ok()
}

/// Parses a GraphQL `ID` holding a UUID.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not a valid id"))
}
