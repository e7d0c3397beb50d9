//! HTTP: routes, request ids, metrics and limits. No business logic lives here.

pub mod graphql;
pub mod metrics;
pub mod microcache;
mod ops;
mod shop;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use crate::config::Settings;
use crate::domain::Services;
use crate::graphql::PupitreSchema;
use metrics::Metrics;

/// Shared by every worker.
pub struct AppState {
    pub services: Services,
    pub schema: PupitreSchema,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// Public catalogue responses, kept for a second (see [`microcache`]).
    pub microcache: microcache::MicroCache,
}

/// The id of one HTTP request, echoed in `X-Request-Id` and in every GraphQL error.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Registers every route.
/// `max_body` bounds every request body; `/graphql` alone accepts up to `upload_body` (a
/// multipart upload, see [`graphql::multipart_body_limit`]), and checks JSON bodies against
/// `max_body` itself.
pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize, upload_body: usize) {
    cfg.app_data(web::PayloadConfig::new(max_body))
        .service(
            web::resource("/graphql")
                .app_data(web::PayloadConfig::new(upload_body))
                .route(web::post().to(graphql::post))
                .route(web::get().to(graphql::get))
                .route(web::route().to(graphql::method_not_allowed)),
        )
        .route("/webhooks/stripe", web::post().to(shop::stripe_webhook))
        .route("/invoices/{id}.pdf", web::get().to(shop::invoice_pdf))
        .route("/documents/{id}", web::get().to(shop::document))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics));
}

/// Assigns the request id, opens the request span, records metrics and logs one line per
/// request (method, route, status, latency: never the query string, body or client address).
pub async fn observe(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Always ours: a client-chosen id would end up in the audit log.
    let rid = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(rid.clone()));
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let span = tracing::info_span!("http.request", request.id = %rid, http.method = %method, http.route = %route);
    let start = Instant::now();
    let res = next.call(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    if let Some(m) = metrics {
        m.observe_http(&method, &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(http.status = status, latency.ms = elapsed.as_secs_f64() * 1000.0, "request done"));
    let mut res = res?;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
