//! Running the operations of one request: the limits checked before any of them runs, the
//! request context built once per operation (tenant and principal from [`authenticate`], the
//! client's address for throttling), the public micro-cache for anonymous catalogue reads, and
//! the response (request ids on errors, messages in the client's language, error codes counted,
//! `Cache-Control`, the status the spec gives).
//!
//! Access is never decided here: the resolvers ask `policy` through the request context.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::parser::types::OperationType;
use serde_json::Value;

use super::parse::operation_type_of;
use crate::error::ErrorCode;
use crate::http::lang::{Lang, localize};
use crate::http::respond::{Media, app_error_response_in};
use crate::http::viewer::authenticate;
use crate::http::{AppState, microcache, request_id};
use crate::request::{Principal, RequestCtx};

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

/// Finishes a response: adds the request id to every error, gives async-graphql's own errors
/// (parse, validation, coercion) the `BAD_USER_INPUT` code, counts errors by code; writes it as
/// JSON text straight from async-graphql's value (fields in the query's order), without `data`
/// when the request as a whole was refused.
fn finish(
    state: &AppState,
    mut resp: async_graphql::Response,
    rid: &str,
    lang: Lang,
) -> (String, bool) {
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
        if let Some(m) = localize(&err.message, lang) {
            err.message = m;
        }
        if let Some(async_graphql::Value::String(code)) = ext.get("code") {
            state.metrics.graphql_error(code);
        }
    }
    let text = if request_error {
        serde_json::to_value(&resp).map(|mut value| {
            if let Value::Object(m) = &mut value {
                m.remove("data");
            }
            value.to_string()
        })
    } else {
        serde_json::to_string(&resp)
    };
    let text = text.unwrap_or_else(|_| r#"{"errors":[{"message":"internal error"}]}"#.to_owned());
    (text, request_error)
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

/// What every GraphQL answer varies by (a cache keeps one copy per value of each).
const VARY: &str = "Accept, Authorization, X-Pupitre-Tenant";

/// The entity tag of a public response: the SHA-256 of its media type and body, shortened (a
/// CDN or an app revalidates with `If-None-Match` and gets `304` without the body when the
/// catalogue did not change).
fn etag(media: Media, body: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update(media.content_type().as_bytes())
        .chain_update(body)
        .finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A public (cacheable) answer: `304 Not Modified` to a `GET` whose client already holds this
/// body (`If-None-Match` with its tag, or `*`); a `POST` always gets the body (RFC 9110
/// §13.1.2).
fn public_response(
    req: &HttpRequest,
    media: Media,
    cache_control: &str,
    etag: &str,
    body: bytes::Bytes,
) -> HttpResponse {
    let fresh = req.method() == actix_web::http::Method::GET
        && req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(
            |list| {
                list.split(',').any(|t| {
                    let t = t.trim();
                    t == "*" || t.trim_start_matches("W/") == etag
                })
            },
        );
    let mut r = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    r.insert_header((header::CACHE_CONTROL, cache_control.to_owned()))
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::VARY, VARY));
    if fresh {
        return r.finish();
    }
    r.content_type(media.content_type()).body(body)
}

pub(super) async fn execute(
    req: &HttpRequest,
    state: &AppState,
    media: Media,
    mut requests: Vec<async_graphql::Request>,
    batch: bool,
) -> HttpResponse {
    let rid = request_id(req);
    let lang = Lang::from_accept_language(
        req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    );
    let (tenant, principal) = match authenticate(req, state).await {
        Ok(x) => x,
        Err(e) => return app_error_response_in(&e, media, &rid, lang),
    };
    // A public catalogue read may already be in the micro-cache. Its key is the whole request
    // (tenant, media type, query, operation, variables, extensions), and only a request that
    // passed the limits below and executed without error stored an entry: a hit is that same
    // request, answered without parsing and checking its document again (a request with files
    // has no key: see `MicroCache::key`).
    let cache_key = match (&principal, batch, requests.first()) {
        (Principal::Anonymous, false, Some(r)) if state.microcache.enabled() => {
            microcache::MicroCache::key(tenant.id, media.content_type(), r)
        }
        _ => None,
    };
    // Concurrent misses for one key execute once; an expired entry is served while one
    // request refreshes it (see `microcache`). A leader that the limits refuse stores nothing
    // (its answer is an error) and releases its waiters, who are then checked themselves.
    let mut flight = None;
    if let Some(key) = cache_key.as_deref() {
        let hit = match state.microcache.lookup(key) {
            Some(microcache::Lookup::Hit(hit)) => Some(hit),
            Some(microcache::Lookup::Wait(w)) => w.wait().await,
            Some(microcache::Lookup::Lead(f)) => {
                flight = Some(f);
                None
            }
            None => None,
        };
        if let Some(hit) = hit {
            return public_response(req, media, &hit.cache_control, &hit.etag, hit.body);
        }
    }
    // Control characters, depth, introspection, expensive mutations: the whole request (every
    // operation of a batch) is refused before anything of it runs.
    let refusal = crate::graphql::limits::check(
        &crate::graphql::Limits::from(&*state.settings),
        &state.parsed,
        &mut requests,
    )
    .err();
    let client_key = client_address(req, &state.settings.trusted_proxies).map(|a| a.to_string());
    let mut outputs = Vec::with_capacity(requests.len());
    let mut any_request_error = false;
    let mut cache = "no-store".to_owned();
    for mut r in requests {
        // The document was parsed once, by the limits' check; it is not parsed again here.
        let name = r.operation_name.clone();
        let query_only = !batch
            && r.parsed_query().ok().and_then(|d| operation_type_of(d, name.as_deref()))
                == Some(OperationType::Query);
        let ctx =
            RequestCtx::new(rid.clone(), tenant.clone(), principal.clone(), client_key.clone());
        let resp = match &refusal {
            Some(refused) => refused.response(),
            None => {
                state.schema.execute(crate::graphql::with_request(r, &state.services, ctx)).await
            }
        };
        cache = cache_header(&principal, query_only, &resp);
        let (v, request_error) = finish(state, resp, &rid, lang);
        any_request_error |= request_error;
        outputs.push(v);
    }
    let status = if media == Media::GraphqlResponse && !batch && any_request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = bytes::Bytes::from(if batch {
        format!("[{}]", outputs.join(","))
    } else {
        outputs.pop().unwrap_or_else(|| "null".to_owned())
    });
    let public = cache.starts_with("public") && status == StatusCode::OK;
    let tag = public.then(|| etag(media, &body));
    if let Some(f) = flight {
        f.finish(tag.as_ref().map(|t| microcache::Cached {
            body: body.clone(),
            cache_control: cache.as_str().into(),
            etag: t.as_str().into(),
        }));
    }
    if let Some(t) = tag {
        return public_response(req, media, &cache, &t, body);
    }
    HttpResponse::build(status)
        .content_type(media.content_type())
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, VARY))
        .body(body)
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
