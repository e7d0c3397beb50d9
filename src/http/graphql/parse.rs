//! Reading a GraphQL-over-HTTP request before anything runs: the response type the client
//! accepts, the request parameters the spec allows (and their types), a cheap bound on the
//! number of JSON values in a body, and which operation a document would run. Pure functions of
//! the request: no I/O, no SQL, no GraphQL execution.

use actix_web::HttpRequest;
use actix_web::http::header;
use async_graphql::parser::types::OperationType;
use serde_json::{Map, Value};

use crate::http::respond::Media;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub(super) const JSON: &str = "application/json";

/// Picks the response type: `application/graphql-response+json` when the client lists it
/// first (or alone), `application/json` for `application/json`, `*/*` or no `Accept` at all.
pub(super) fn negotiate(req: &HttpRequest) -> Option<Media> {
    let Some(raw) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    crate::http::best_of(raw, |ty| match ty {
        GRAPHQL_RESPONSE => Some(Media::GraphqlResponse),
        JSON | "*/*" | "application/*" => Some(Media::Json),
        _ => None,
    })
}

/// A request body that is not a valid GraphQL-over-HTTP request.
pub(super) struct Invalid(pub(super) String);

/// Checks the parameter types the spec requires and builds the async-graphql request.
pub(super) fn to_request(obj: Map<String, Value>) -> Result<async_graphql::Request, Invalid> {
    match obj.get("query") {
        Some(Value::String(_)) => {}
        _ => return Err(Invalid("`query` must be a string".into())),
    }
    let mut clean = Map::new();
    for (k, v) in obj {
        match (k.as_str(), &v) {
            (_, Value::Null) => {}
            ("query", _) => {
                clean.insert(k, v);
            }
            ("operationName", Value::String(_)) => {
                clean.insert(k, v);
            }
            ("variables" | "extensions", Value::Object(_)) => {
                clean.insert(k, v);
            }
            ("operationName", _) => {
                return Err(Invalid("`operationName` must be a string or null".into()));
            }
            ("variables", _) => {
                return Err(Invalid("`variables` must be an object or null".into()));
            }
            ("extensions", _) => {
                return Err(Invalid("`extensions` must be an object or null".into()));
            }
            _ => {}
        }
    }
    serde_json::from_value(Value::Object(clean))
        .map_err(|e| Invalid(format!("invalid request: {e}")))
}

/// JSON values one request body may hold. Parsed, a value takes tens of bytes (and async-graphql
/// copies the variables once more), so a 1 MB body of `[0,0,0,…]` would take ~80 MB; no
/// operation of this API needs more than a few hundred values.
pub(super) const MAX_JSON_VALUES: usize = 20_000;

/// An upper bound of the number of values in a JSON text, without parsing it: one more than the
/// separators and openings (`,` `:` `[` `{`) outside strings.
pub(super) fn json_values(body: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (1usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b':' | b'[' | b'{' => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// async-graphql's upload placeholder: a client must never send it itself (its parser would
/// panic on a malformed one, and a well-formed one would point at a file that is not there).
pub(super) const UPLOAD_MARKER: &[u8] = b"#__graphql_file__";

/// The operation a GET would run, if the document parses.
pub(super) fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    operation_type_of(&doc, operation_name)
}

/// The operation `operation_name` (or the only one) of a parsed document.
pub(super) fn operation_type_of(
    doc: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    let ops: Vec<_> = doc.operations.iter().collect();
    match operation_name {
        Some(name) => ops
            .into_iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op.node.ty),
        None if ops.len() == 1 => ops.first().map(|(_, op)| op.node.ty),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_counted_outside_strings_only() {
        assert_eq!(json_values(br#"{"query":"{ a, b: c [d] }"}"#), 3);
        assert_eq!(json_values(br#"[0,0,0]"#), 4);
        assert_eq!(
            json_values(br#"{"a":"x\",:[{"}"#),
            3,
            "an escaped quote does not end the string"
        );
    }
}
