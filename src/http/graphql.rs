//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): POST JSON (single or a
//! capped batch), GET for queries only (a mutation over GET → 405), content negotiation between
//! `application/graphql-response+json` and `application/json`, and the spec's status codes.
//!
//! Authentication and tenant resolution happen before execution without SQL ([`super::viewer`]:
//! the token is verified cryptographically; tenants come from a cached directory); the session
//! is checked lazily by the first resolver that needs the actor, so a request rejected by
//! validation runs no SQL.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use serde_json::{Map, Value};

use super::respond::{Media, app_error_response, error_response};
use super::viewer::authenticate;
use super::{AppState, request_id};
use crate::error::ErrorCode;
use crate::request::{Principal, RequestCtx};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Picks the response type: `application/graphql-response+json` when the client lists it
/// first (or alone), `application/json` for `application/json`, `*/*` or no `Accept` at all.
fn negotiate(req: &HttpRequest) -> Option<Media> {
    let Some(raw) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let mut best: Option<(f32, Media)> = None;
    for part in raw.split(',') {
        let mut pieces = part.split(';');
        let ty = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let media = match ty.as_str() {
            GRAPHQL_RESPONSE => Media::GraphqlResponse,
            JSON | "*/*" | "application/*" => Media::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, media));
        }
    }
    best.map(|(_, m)| m)
}

/// The client's address for throttling: the TCP peer, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
/// were written by the client and prove nothing; an entry that is not a plain address stops the
/// walk).
fn client_address(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    let trusted_ip =
        |ip: &std::net::IpAddr| trusted.iter().any(|t| t.to_canonical() == ip.to_canonical());
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted_ip(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    for entry in forwarded.split(',').rev() {
        match entry.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if trusted_ip(&ip) => continue,
            Ok(ip) => return Some(ip.to_canonical()),
            // Something our proxy did not write as a plain address: believe nothing further left.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// A request body that is not a valid GraphQL-over-HTTP request.
struct Invalid(String);

/// Checks the parameter types the spec requires and builds the async-graphql request.
fn to_request(obj: Map<String, Value>) -> Result<async_graphql::Request, Invalid> {
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

/// Finishes a response: adds the request id to every error, gives async-graphql's own errors
/// (parse, validation, coercion) the `BAD_USER_INPUT` code, counts errors by code.
fn finish(state: &AppState, mut resp: async_graphql::Response, rid: &str) -> (Value, bool) {
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    for err in &mut resp.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorCode::BadUserInput.as_str());
            // Validation names the argument it refused (`Invalid value for argument
            // "filter.maxPriceCents", expected type "Int"`): give it as the field, like ours.
            if let Some(field) = err
                .message
                .strip_prefix("Invalid value for argument \"")
                .and_then(|m| m.split('"').next())
            {
                ext.set("field", field);
            }
        }
        ext.set("requestId", rid);
        if let Some(async_graphql::Value::String(code)) = ext.get("code") {
            state.metrics.graphql_error(code);
        }
    }
    let mut value = serde_json::to_value(&resp)
        .unwrap_or_else(|_| serde_json::json!({ "errors": [{ "message": "internal error" }] }));
    if request_error && let Value::Object(m) = &mut value {
        m.remove("data");
    }
    (value, request_error)
}

/// `Cache-Control` for a response: public caching only for an anonymous, error-free query whose
/// every field allows it (the catalogue types); never for anything signed in.
fn cache_header(principal: &Principal, query_only: bool, resp: &async_graphql::Response) -> String {
    let cc = resp.cache_control;
    let anonymous = matches!(principal, Principal::Anonymous);
    if anonymous && query_only && resp.errors.is_empty() && cc.public && cc.max_age > 0 {
        format!("public, max-age={}", cc.max_age)
    } else {
        "no-store".to_owned()
    }
}

async fn execute(
    req: &HttpRequest,
    state: &AppState,
    media: Media,
    mut requests: Vec<async_graphql::Request>,
    batch: bool,
) -> HttpResponse {
    let rid = request_id(req);
    // Control characters, depth, introspection, expensive mutations: the whole request (every
    // operation of a batch) is refused before anything of it runs.
    let refusal = crate::graphql::limits::check(
        &crate::graphql::Limits::from(&*state.settings),
        &mut requests,
    )
    .err();
    let (tenant, principal) = match authenticate(req, state).await {
        Ok(x) => x,
        Err(e) => return app_error_response(&e, media, &rid),
    };
    let client_key = client_address(req, &state.settings.trusted_proxies).map(|a| a.to_string());
    // A public catalogue read may already be in the micro-cache.
    let cache_key = match (&principal, batch, requests.first()) {
        (Principal::Anonymous, false, Some(r))
            if state.microcache.enabled() && refusal.is_none() =>
        {
            super::microcache::MicroCache::key(tenant.id, media.content_type(), r)
        }
        _ => None,
    };
    if let Some(hit) = cache_key.as_deref().and_then(|k| state.microcache.get(k)) {
        return HttpResponse::Ok()
            .content_type(media.content_type())
            .insert_header((header::CACHE_CONTROL, hit.cache_control.to_string()))
            .insert_header((header::VARY, "Accept, Authorization, X-Pupitre-Tenant"))
            .body(hit.body.to_string());
    }
    let mut outputs = Vec::with_capacity(requests.len());
    let mut any_request_error = false;
    let mut cache = "no-store".to_owned();
    for r in requests {
        let query_only = !batch
            && operation_type(&r.query, r.operation_name.as_deref()) == Some(OperationType::Query);
        let ctx =
            RequestCtx::new(rid.clone(), tenant.clone(), principal.clone(), client_key.clone());
        let resp = match &refusal {
            Some(refused) => refused.response(),
            None => {
                state.schema.execute(crate::graphql::with_request(r, &state.services, ctx)).await
            }
        };
        cache = cache_header(&principal, query_only, &resp);
        let (v, request_error) = finish(state, resp, &rid);
        any_request_error |= request_error;
        outputs.push(v);
    }
    let status = if media == Media::GraphqlResponse && !batch && any_request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if batch { Value::Array(outputs) } else { outputs.pop().unwrap_or(Value::Null) };
    let body = body.to_string();
    if let Some(key) = cache_key.filter(|_| cache.starts_with("public")) {
        state.microcache.put(
            key,
            super::microcache::Cached {
                body: body.as_str().into(),
                cache_control: cache.as_str().into(),
            },
        );
    }
    HttpResponse::build(status)
        .content_type(media.content_type())
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept, Authorization, X-Pupitre-Tenant"))
        .body(body)
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
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            &rid,
            ErrorCode::BadUserInput,
            "files are sent as a multipart request",
            None,
        );
    }
    if json_values(&body) > MAX_JSON_VALUES {
        let msg = format!("the body holds more than {MAX_JSON_VALUES} JSON values");
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            &rid,
            ErrorCode::BadUserInput,
            &msg,
            None,
        );
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                &rid,
                ErrorCode::BadUserInput,
                "the body is not valid JSON",
                None,
            );
        }
    };
    let (items, batch) = match parsed {
        Value::Object(o) => (vec![o], false),
        Value::Array(a) => {
            if a.is_empty() || a.len() > state.settings.graphql_max_batch {
                let msg =
                    format!("a batch holds 1 to {} operations", state.settings.graphql_max_batch);
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    &rid,
                    ErrorCode::BadUserInput,
                    &msg,
                    None,
                );
            }
            let mut objs = Vec::with_capacity(a.len());
            for v in a {
                match v {
                    Value::Object(o) => objs.push(o),
                    _ => {
                        return error_response(
                            StatusCode::BAD_REQUEST,
                            media,
                            &rid,
                            ErrorCode::BadUserInput,
                            "batch items must be objects",
                            None,
                        );
                    }
                }
            }
            (objs, true)
        }
        _ => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                &rid,
                ErrorCode::BadUserInput,
                "the body must be a JSON object",
                None,
            );
        }
    };
    let mut requests = Vec::with_capacity(items.len());
    for o in items {
        match to_request(o) {
            Ok(r) => requests.push(r),
            Err(Invalid(msg)) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    &rid,
                    ErrorCode::BadUserInput,
                    &msg,
                    None,
                );
            }
        }
    }
    execute(&req, &state, media, requests, batch).await
}

/// The body limit of a multipart request: one file more than allowed, at the upload limit
/// each (so that a file or a count just over the limit reaches the resolver, which names the
/// offending file), plus the JSON parts. Beyond that the request is refused with 413.
pub fn multipart_body_limit(settings: &crate::config::Settings) -> usize {
    settings
        .upload_max_files
        .saturating_add(1)
        .saturating_mul(settings.upload_max_file_bytes)
        .saturating_add(settings.max_body_bytes.saturating_mul(2))
}

/// JSON values one request body may hold. Parsed, a value takes tens of bytes (and async-graphql
/// copies the variables once more), so a 1 MB body of `[0,0,0,…]` would take ~80 MB; no
/// operation of this API needs more than a few hundred values.
const MAX_JSON_VALUES: usize = 20_000;

/// An upper bound of the number of values in a JSON text, without parsing it: one more than the
/// separators and openings (`,` `:` `[` `{`) outside strings.
fn json_values(body: &[u8]) -> usize {
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
const UPLOAD_MARKER: &[u8] = b"#__graphql_file__";

/// Whether every upload placeholder in `r`'s variables points at a file of this request (the
/// ones the multipart `map` put there).
fn uploads_consistent(r: &async_graphql::Request) -> bool {
    fn walk(v: &async_graphql::Value, files: usize) -> bool {
        match v {
            async_graphql::Value::String(s) => match s.strip_prefix("#__graphql_file__:") {
                Some(n) => n.parse::<usize>().is_ok_and(|i| i < files),
                None => !s.contains("#__graphql_file__"),
            },
            async_graphql::Value::List(l) => l.iter().all(|x| walk(x, files)),
            async_graphql::Value::Object(o) => o.values().all(|x| walk(x, files)),
            _ => true,
        }
    }
    !r.query.contains("#__graphql_file__")
        && walk(
            &async_graphql::Value::Object(
                r.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            r.uploads.len(),
        )
}

/// `POST /graphql` as a GraphQL multipart request (file uploads,
/// https://github.com/jaydenseric/graphql-multipart-request-spec). Files stay in memory: the
/// plaintext of a supporting document is never written to a temporary file.
async fn multipart(
    req: &HttpRequest,
    state: &AppState,
    media: Media,
    rid: &str,
    content_type: &str,
    payload: web::Payload,
) -> HttpResponse {
    let s = &state.settings;
    // Uploads are for signed-in people: not a byte of the parts is read for anyone else (the
    // token is verified without SQL). (It also keeps multipart, a content type browsers send
    // cross-site without asking, away from anonymous mutations.)
    match authenticate(req, state).await {
        Ok((_, Principal::Token(_))) => {}
        Ok(_) => {
            return error_response(
                StatusCode::UNAUTHORIZED,
                media,
                rid,
                ErrorCode::Unauthenticated,
                "sign in to upload files",
                None,
            );
        }
        Err(e) => return app_error_response(&e, media, rid),
    }
    let limit = super::body::Limit {
        max_bytes: multipart_body_limit(s),
        timeout: s.body_read_timeout(),
        pace: super::body::Pace::BetweenPieces {
            whole: std::time::Duration::from_secs(s.upload_timeout_secs),
        },
    };
    if let Err(e) = super::body::check_declared(req, limit.max_bytes) {
        return body_error_response(&e, media, rid);
    }
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(s.upload_max_file_bytes.saturating_mul(2))
        .max_num_files(s.upload_max_files.saturating_mul(2));
    // Parsed as it arrives: the parts are never held twice.
    let (stream, failure) = super::body::LimitedBody::new(payload, limit).forward();
    let reader = futures_util::TryStreamExt::into_async_read(stream);
    let parsed = async_graphql::http::receive_batch_body(Some(content_type), reader, opts).await;
    if let Some(e) = failure.get() {
        return body_error_response(e, media, rid);
    }
    let batch = match parsed {
        Ok(b) => b,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            let msg = format!(
                "a file is larger than {} bytes, or there are more than {} files",
                s.upload_max_file_bytes, s.upload_max_files
            );
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                rid,
                ErrorCode::BadUserInput,
                &msg,
                None,
            );
        }
        Err(e) => {
            let msg = format!("invalid multipart request: {e}");
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                rid,
                ErrorCode::BadUserInput,
                &msg,
                None,
            );
        }
    };
    if !batch.iter().all(uploads_consistent) {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            rid,
            ErrorCode::BadUserInput,
            "an upload placeholder points at no file",
            None,
        );
    }
    match batch {
        async_graphql::BatchRequest::Single(r) => execute(req, state, media, vec![r], false).await,
        async_graphql::BatchRequest::Batch(rs) => {
            if rs.is_empty() || rs.len() > s.graphql_max_batch {
                let msg = format!("a batch holds 1 to {} operations", s.graphql_max_batch);
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    rid,
                    ErrorCode::BadUserInput,
                    &msg,
                    None,
                );
            }
            execute(req, state, media, rs, true).await
        }
    }
}

/// The operation a GET would run, if the document parses.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
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
    if state.settings.graphiql && wants_html && !params.contains_key("query") {
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
    let Some(query) = params.get("query") else {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            &rid,
            ErrorCode::BadUserInput,
            "missing `query` parameter",
            None,
        );
    };
    let op_name = params.get("operationName").filter(|s| !s.is_empty());
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
    let mut obj = Map::new();
    obj.insert("query".into(), Value::String(query.clone()));
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
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        media,
                        &rid,
                        ErrorCode::BadUserInput,
                        &msg,
                        None,
                    );
                }
            }
        }
    }
    match to_request(obj) {
        Ok(r) => execute(&req, &state, media, vec![r], false).await,
        Err(Invalid(msg)) => error_response(
            StatusCode::BAD_REQUEST,
            media,
            &rid,
            ErrorCode::BadUserInput,
            &msg,
            None,
        ),
    }
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, POST")).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(xff: &str, trusted: &[&str]) -> Option<std::net::IpAddr> {
        let req = actix_web::test::TestRequest::default()
            .peer_addr("127.0.0.1:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", xff))
            .to_http_request();
        let trusted: Vec<std::net::IpAddr> =
            trusted.iter().map(|t| t.parse().expect("ip")).collect();
        client_address(&req, &trusted)
    }

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

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().expect("ip"));
        assert_eq!(addr("203.0.113.9", &[]), ip("127.0.0.1"), "untrusted peer: header ignored");
        assert_eq!(
            addr("198.51.100.1, 203.0.113.9", &["127.0.0.1"]),
            ip("203.0.113.9"),
            "right-most untrusted entry"
        );
        assert_eq!(
            addr("198.51.100.1, 203.0.113.9, 10.0.0.2", &["127.0.0.1", "10.0.0.2"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            addr("198.51.100.1, unknown", &["127.0.0.1"]),
            ip("127.0.0.1"),
            "an unparseable entry stops the walk"
        );
        assert_eq!(addr("198.51.100.1, 203.0.113.9:443", &["127.0.0.1"]), ip("127.0.0.1"));
    }
}
