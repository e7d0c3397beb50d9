//! HTTP: routes, request ids, metrics and limits. No business logic lives here.
//!
//! Limits: every body is read as a stream within the limit of its route ([`body`]); request
//! URIs are bounded ([`MAX_URI_BYTES`]); heads, bodies and idle connections are timed out and
//! connections per worker capped (see `startup`). A client's mistake is answered with a body
//! that says what was wrong and is never logged above WARN.

mod account;
pub mod body;
pub mod cors;
mod export;
pub mod front;
pub mod graphql;
pub mod lang;
pub mod metrics;
pub mod microcache;
mod newsletter;
mod ops;
mod pages;
mod respond;
mod shop;
mod viewer;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use tracing::Instrument;

use crate::config::Settings;
use crate::domain::Services;
use crate::graphql::PupitreSchema;
use metrics::Metrics;

/// Shared by every worker.
pub struct AppState {
    /// Shared with each request's batch loaders without a copy.
    pub services: Arc<Services>,
    pub schema: PupitreSchema,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// Public catalogue responses, kept for a second (see [`microcache`]).
    pub microcache: Arc<microcache::MicroCache>,
    /// Registered operations and automatic persisted queries (see [`graphql::persisted`]).
    pub persisted: graphql::Persisted,
    /// Parsed documents, kept by their text (see [`crate::graphql::parsed`]).
    pub parsed: crate::graphql::parsed::ParsedDocuments,
}

/// The id of one HTTP request, echoed in `X-Request-Id` and in every GraphQL error.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The id of the request being answered (see [`observe`]).
fn request_id(req: &actix_web::HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

/// The longest request URI (path and query) answered; longer ones get 414. GraphQL `GET`
/// requests carry their query in the URI, and a few kilobytes hold any real one; send longer
/// documents with `POST`. (URIs over 64 KiB never reach us: actix-http's parser refuses them
/// with 400 itself, see the README.)
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Registers every route.
/// `max_body` bounds the body of any route reading it through an extractor; the routes that
/// read bodies (`/graphql`, `/webhooks/stripe`) stream them within their own limits (see
/// [`body`]) and never buffer more.
pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize) {
    cfg.app_data(web::PayloadConfig::new(max_body))
        .service(
            web::resource("/graphql")
                .route(web::post().to(graphql::post))
                .route(web::get().to(graphql::get))
                .route(web::route().to(graphql::method_not_allowed)),
        )
        .route("/webhooks/stripe", web::post().to(shop::stripe_webhook))
        .route("/webhooks/stripe/{tenant}", web::post().to(shop::stripe_webhook_of))
        .route("/invoices/{id}.pdf", web::get().to(shop::invoice_pdf))
        .route("/documents/{id}", web::get().to(shop::document))
        .route("/exports/{id}", web::get().to(export::download))
        .route("/newsletter/confirm", web::get().to(newsletter::confirm))
        .service(
            web::resource("/set-password")
                .route(web::get().to(account::form))
                .route(web::post().to(account::submit)),
        )
        .service(
            web::resource("/newsletter/unsubscribe")
                .route(web::get().to(newsletter::unsubscribe_page))
                .route(web::post().to(newsletter::unsubscribe)),
        )
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics));
}

/// The entries of a header with quality values (`Accept`, `Accept-Language`): each lower-cased
/// item with its `q` (1 when absent), in the order given.
pub(crate) fn quality_list(raw: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    raw.split(',').map(|part| {
        let mut pieces = part.split(';');
        let item = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (item, q)
    })
}

/// The best of a quality list by `pick` (highest `q` above 0, the first among equals).
pub(crate) fn best_of<T: Copy>(raw: &str, pick: impl Fn(&str) -> Option<T>) -> Option<T> {
    let mut best: Option<(f32, T)> = None;
    for (item, q) in quality_list(raw) {
        let Some(t) = pick(&item) else { continue };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, t));
        }
    }
    best.map(|(_, t)| t)
}

/// 414 for a request URI over [`MAX_URI_BYTES`], in the GraphQL error shape.
fn uri_too_long(rid: &str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [{
        "message": format!("the request URI is longer than {MAX_URI_BYTES} bytes: send the query with POST"),
        "extensions": { "code": crate::error::ErrorCode::BadUserInput.as_str(), "requestId": rid },
    }] });
    HttpResponse::build(StatusCode::URI_TOO_LONG)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

/// Assigns the request id, opens the request span, records metrics and logs one line per
/// request (method, route, status, latency: never the query string, body or client address).
pub async fn observe<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // Always ours: a client-chosen id would end up in the audit log.
    let rid = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(rid.clone()));
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!("http.request", request.id = %rid, http.method = %method, http.route = %route);
    let start = Instant::now();
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let res = if uri_len > MAX_URI_BYTES {
        Ok(req.into_response(uri_too_long(&rid)).map_into_right_body())
    } else {
        next.call(req).instrument(span.clone()).await.map(ServiceResponse::map_into_left_body)
    };
    let elapsed = start.elapsed();
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    if let Some(m) = metrics {
        m.observe_http(&method, &route, status, elapsed);
    }
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency.ms = elapsed.as_secs_f64() * 1000.0,
            "request done"
        )
    });
    let mut res = res?;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
