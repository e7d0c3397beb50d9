//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): POST JSON (single or a
//! capped batch), GET for queries only (a mutation over GET → 405), content negotiation between
//! `application/graphql-response+json` and `application/json`, and the spec's status codes.
//!
//! Authentication and tenant resolution happen before execution without SQL ([`super::viewer`]:
//! the token is verified cryptographically; tenants come from a cached directory); the session
//! is checked lazily by the first resolver that needs the actor, so a request rejected by
//! validation runs no SQL.
//!
//! One file per step: `parse` (what the client sent and accepts), `execute` (running the
//! operations and shaping the response) and `multipart` (uploads); this file holds the three
//! route handlers, which only read the request and hand it on.

mod execute;
mod manifest;
mod multipart;
mod parse;
mod persisted;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use serde_json::{Map, Value};

use execute::execute;
pub use manifest::{Manifest, ManifestError};
use multipart::multipart;
pub use multipart::multipart_body_limit;
use parse::{
    Invalid, JSON, MAX_JSON_VALUES, UPLOAD_MARKER, json_values, negotiate, operation_type,
    to_request,
};
pub use persisted::{Mode as PersistedMode, Persisted};

use super::respond::{Media, bad_request, error_response};
use super::{AppState, request_id};
use crate::config::Settings;
use crate::domain::Services;
use crate::error::ErrorCode;
use crate::graphql::{Limits, PupitreSchema};

/// The schema `/graphql` serves, with the depth, complexity and introspection settings.
/// Built once at start-up (`startup`), so that only `http` knows the GraphQL layer.
pub fn schema(settings: &Settings, services: Services) -> PupitreSchema {
    crate::graphql::build_schema(
        Limits {
            max_depth: settings.graphql_max_depth,
            max_complexity: settings.graphql_max_complexity,
            introspection: settings.introspection,
        },
        Some(services),
    )
}

/// The SDL of that schema, as `pupitre schema` prints it and `graphql/schema.graphql` keeps it.
pub fn sdl() -> String {
    crate::graphql::sdl()
}

/// The answer to a request whose persisted document was not found or is not allowed. Apollo
/// and urql clients recognise `PersistedQueryNotFound` by its message and code and resend the
/// text; with `application/json` it is a 200, as those clients expect.
pub(super) fn persisted_refusal(
    state: &AppState,
    media: Media,
    rid: &str,
    refusal: persisted::Refusal,
) -> HttpResponse {
    use persisted::Refusal;
    let status = match media {
        Media::GraphqlResponse => StatusCode::BAD_REQUEST,
        Media::Json => StatusCode::OK,
    };
    let (code, message) = match refusal {
        Refusal::NotFound => (ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound"),
        Refusal::NotInList => (
            ErrorCode::PersistedQueryNotInList,
            "only registered operations run on this server (trusted documents): add the operation to graphql/operations/ and run `pupitre operations register`",
        ),
        Refusal::Invalid(msg) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                rid,
                ErrorCode::BadUserInput,
                msg,
                Some("extensions.persistedQuery"),
            );
        }
    };
    state.metrics.graphql_error(code.as_str());
    error_response(status, media, rid, code, message, None)
}

/// The answer to a body that was not read to its end (413, 408, 400), in the GraphQL error
/// shape. The connection is closed after it: the rest of the body is never read.
pub(super) fn body_error_response(
    e: &super::body::BodyError,
    media: Media,
    rid: &str,
) -> HttpResponse {
    let mut r =
        error_response(e.status(), media, rid, ErrorCode::BadUserInput, &e.to_string(), None);
    r.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    r
}

/// `POST /graphql`. The body is read only once the request is known to be acceptable, and
/// within the limit of its content type: `max_body_bytes` for JSON, the multipart limit for
/// signed-in uploads (see [`multipart`]).
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let rid = request_id(&req);
    let Some(media) = negotiate(&req) else {
        return HttpResponse::NotAcceptable()
            .body("accept application/graphql-response+json or application/json");
    };
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut ct = content_type.split(';');
    let essence = ct.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset_ok = ct.all(|p| {
        p.trim()
            .to_ascii_lowercase()
            .strip_prefix("charset=")
            .is_none_or(|c| c.trim_matches('"') == "utf-8")
    });
    if essence == "multipart/form-data" {
        return multipart(&req, &state, media, &rid, content_type, payload).await;
    }
    // Refused before reading: a body we would not parse is not worth receiving.
    if essence != JSON || !charset_ok {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            &rid,
            ErrorCode::BadUserInput,
            "send the request as application/json (utf-8)",
            None,
        );
    }
    let limit = super::body::Limit {
        max_bytes: state.settings.max_body_bytes,
        timeout: state.settings.body_read_timeout(),
        pace: super::body::Pace::Whole,
    };
    let body = match super::body::read_all(&req, payload, limit).await {
        Ok(b) => b,
        Err(e) => return body_error_response(&e, media, &rid),
    };
    if body.windows(UPLOAD_MARKER.len()).any(|w| w == UPLOAD_MARKER) {
        return bad_request(media, &rid, "files are sent as a multipart request");
    }
    if json_values(&body) > MAX_JSON_VALUES {
        let msg = format!("the body holds more than {MAX_JSON_VALUES} JSON values");
        return bad_request(media, &rid, &msg);
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return bad_request(media, &rid, "the body is not valid JSON");
        }
    };
    let (items, batch) = match parsed {
        Value::Object(o) => (vec![o], false),
        Value::Array(a) => {
            if a.is_empty() || a.len() > state.settings.graphql_max_batch {
                let msg =
                    format!("a batch holds 1 to {} operations", state.settings.graphql_max_batch);
                return bad_request(media, &rid, &msg);
            }
            let mut objs = Vec::with_capacity(a.len());
            for v in a {
                match v {
                    Value::Object(o) => objs.push(o),
                    _ => {
                        return bad_request(media, &rid, "batch items must be objects");
                    }
                }
            }
            (objs, true)
        }
        _ => {
            return bad_request(media, &rid, "the body must be a JSON object");
        }
    };
    let mut requests = Vec::with_capacity(items.len());
    for mut o in items {
        if let Err(refusal) = state.persisted.resolve(&mut o) {
            return persisted_refusal(&state, media, &rid, refusal);
        }
        match to_request(o) {
            Ok(r) => requests.push(r),
            Err(Invalid(msg)) => {
                return bad_request(media, &rid, &msg);
            }
        }
    }
    execute(&req, &state, media, requests, batch).await
}

/// `GET /graphql`: GraphiQL for a browser (development), queries for everyone else.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id(&req);
    let params: HashMap<String, String> =
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if state.settings.graphiql
        && wants_html
        && !params.contains_key("query")
        && !params.contains_key("extensions")
    {
        let html = async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Pupitre")
            .finish();
        return HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html);
    }
    let Some(media) = negotiate(&req) else {
        return HttpResponse::NotAcceptable()
            .body("accept application/graphql-response+json or application/json");
    };
    let mut obj = Map::new();
    if let Some(q) = params.get("query") {
        obj.insert("query".into(), Value::String(q.clone()));
    }
    let op_name = params.get("operationName").filter(|s| !s.is_empty());
    if let Some(n) = op_name {
        obj.insert("operationName".into(), Value::String(n.clone()));
    }
    for key in ["variables", "extensions"] {
        if let Some(raw) = params.get(key).filter(|s| !s.is_empty()) {
            match serde_json::from_str::<Value>(raw) {
                Ok(v) => {
                    obj.insert(key.into(), v);
                }
                Err(_) => {
                    let msg = format!("`{key}` must be a JSON object");
                    return bad_request(media, &rid, &msg);
                }
            }
        }
    }
    // A catalogue read may name its document by hash only (a URL a CDN can cache).
    if let Err(refusal) = state.persisted.resolve(&mut obj) {
        return persisted_refusal(&state, media, &rid, refusal);
    }
    let Some(Value::String(query)) = obj.get("query") else {
        return bad_request(media, &rid, "missing `query` parameter");
    };
    if let Some(ty) = operation_type(query, op_name.map(String::as_str))
        && ty != OperationType::Query
    {
        let mut r = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            &rid,
            ErrorCode::BadUserInput,
            "mutations must be sent with POST",
            None,
        );
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    match to_request(obj) {
        Ok(r) => execute(&req, &state, media, vec![r], false).await,
        Err(Invalid(msg)) => bad_request(media, &rid, &msg),
    }
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, POST")).finish()
}
