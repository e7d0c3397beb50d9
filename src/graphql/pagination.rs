//! Relay-style cursor pagination helpers: opaque cursors, a capped `first`.

use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Largest page a client may ask for.
pub const MAX_FIRST: i32 = 100;

/// Checks `first` (1..=100) and decodes `after`.
pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    kind: &str,
) -> AppResult<(u64, Option<Uuid>)> {
    let first = first.unwrap_or(20);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(AppError::bad_input("first", format!("must be between 1 and {MAX_FIRST}")));
    }
    let after = match after {
        None => None,
        Some(c) => Some(
            decode_cursor(&c, kind)
                .ok_or_else(|| AppError::bad_input("after", "is not a valid cursor"))?,
        ),
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

/// The cursor of the row at `offset` in an offset-paginated list of `kind`.
pub fn offset_cursor(kind: &str, offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}-offset:{offset}"))
}

/// The offset of the row after `cursor`; bounded, so a forged cursor can neither overflow nor
/// reach the database as an absurd OFFSET.
pub fn after_offset(kind: &str, cursor: &str) -> AppResult<u64> {
    const MAX_OFFSET: u64 = 1_000_000;
    let prefix = format!("{kind}-offset:");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(&prefix).and_then(|n| n.parse::<u64>().ok()))
        .filter(|n| *n < MAX_OFFSET)
        .map(|n| n + 1)
        .ok_or_else(|| AppError::bad_input("after", "is not a valid cursor"))
}

/// `first` (default 20) checked against `max`.
pub fn page_size(first: Option<i32>, max: i32) -> AppResult<u64> {
    let first = first.unwrap_or(20);
    if !(1..=max).contains(&first) {
        return Err(AppError::bad_input("first", format!("must be between 1 and {max}")));
    }
    Ok(first as u64)
}

/// `first` (default 20) checked against `max`, and the offset after `after`.
pub fn offset_page(
    first: Option<i32>,
    after: Option<&str>,
    kind: &str,
    max: i32,
) -> AppResult<(u64, u64)> {
    let first = page_size(first, max)?;
    let offset = match after {
        Some(c) => after_offset(kind, c)?,
        None => 0,
    };
    Ok((first, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(after_offset("order", &offset_cursor("order", 41)).unwrap(), 42);
        assert!(
            after_offset("course", &offset_cursor("order", 1)).is_err(),
            "a cursor of another list"
        );
        assert!(after_offset("order", &offset_cursor("order", u64::MAX)).is_err(), "no overflow");
        assert!(after_offset("order", "not base64 !").is_err());
        assert!(offset_page(Some(0), None, "order", 50).is_err());
        assert!(offset_page(Some(51), None, "order", 50).is_err());
        assert_eq!(offset_page(None, None, "order", 50).unwrap(), (20, 0));
    }
}
