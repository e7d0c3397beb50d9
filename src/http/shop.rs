//! Shop and document routes: the Stripe webhook endpoint, invoice PDF and supporting-document
//! downloads. Wiring only: the signature check, event handling and access decisions live in
//! the domain. The webhook body is read within its own small limit (see [`super::body`]); the
//! downloads read none.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::respond::{Media, app_error_response};
use super::{AppState, body, request_id, viewer};
use crate::domain::shop::invoice;
use crate::domain::shop::webhook::{self, WebhookError, WebhookOutcome};
use crate::error::AppError;

/// The largest webhook body read. Stripe's events are a few kilobytes (an event carries one
/// object); this leaves ample room and keeps anyone else from making us buffer more.
pub const STRIPE_WEBHOOK_MAX_BODY_BYTES: usize = 256 * 1024;

/// `POST /webhooks/stripe`: verified on the raw body. 400 for a bad signature or payload (Stripe
/// does not retry those), 200 once processed or when already processed, 5xx when processing
/// failed (Stripe retries; nothing was recorded). A body over
/// [`STRIPE_WEBHOOK_MAX_BODY_BYTES`] is refused with 413, one that does not arrive within the
/// body read timeout with 408, before anything is verified.
pub async fn stripe_webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    tenant_stripe_webhook(req, payload, state, None).await
}

/// `POST /webhooks/stripe/{tenant}`: the same, for a tenant with its own Stripe account (its
/// signing secret; its orders only). `404` when no tenant or account answers there.
pub async fn stripe_webhook_of(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let slug = path.into_inner();
    tenant_stripe_webhook(req, payload, state, Some(&slug)).await
}

async fn tenant_stripe_webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    tenant: Option<&str>,
) -> HttpResponse {
    let limit = body::Limit {
        max_bytes: STRIPE_WEBHOOK_MAX_BODY_BYTES,
        timeout: state.settings.body_read_timeout(),
        pace: body::Pace::Whole,
    };
    let body = match body::read_all(&req, payload, limit).await {
        Ok(b) => b,
        Err(e) => {
            let mut r =
                HttpResponse::build(e.status()).json(serde_json::json!({ "error": e.to_string() }));
            r.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
            return r;
        }
    };
    let signature = req.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
    match webhook::handle(&state.services, tenant, &body, signature).await {
        Ok(WebhookOutcome::Processed(outcome)) => {
            HttpResponse::Ok().json(serde_json::json!({ "received": true, "outcome": outcome }))
        }
        Ok(WebhookOutcome::Duplicate) => {
            HttpResponse::Ok().json(serde_json::json!({ "received": true, "outcome": "duplicate" }))
        }
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(webhook.rejected = %e, "Stripe webhook signature refused");
            HttpResponse::BadRequest().json(serde_json::json!({ "error": "invalid signature" }))
        }
        Err(WebhookError::NoAccount) => HttpResponse::NotFound()
            .json(serde_json::json!({ "error": "no Stripe account answers on this endpoint" })),
        Err(WebhookError::Payload(e)) => {
            tracing::warn!(webhook.rejected = e, "Stripe webhook payload refused");
            HttpResponse::BadRequest().json(serde_json::json!({ "error": "invalid payload" }))
        }
        Err(WebhookError::Internal(e)) => {
            let status = if matches!(e, AppError::Unavailable { .. }) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            tracing::error!(error.chain = %crate::error::Chain(&e), "Stripe webhook processing failed");
            HttpResponse::build(status)
                .json(serde_json::json!({ "error": "processing failed, retry later" }))
        }
    }
}

/// `GET /invoices/{id}.pdf` with a bearer token: the buyer (or their guardian) and billing
/// staff; staff downloads are audited.
pub async fn invoice_pdf(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let rid = request_id(&req);
    let services = &state.services;
    let result = async {
        let id = path_id(&path)?;
        let (rc, actor) = viewer::signed_in(&req, &state).await?;
        let relations = rc.relations(services, &actor).await?;
        invoice::download(services, &actor, relations, id).await
    }
    .await;
    let fail = |e: AppError| app_error_response(&e, Media::Json, &rid);
    match result {
        Ok((pdf, number)) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{number}.pdf\""),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(pdf),
        Err(e) => fail(e),
    }
}

/// `GET /documents/{id}` with a bearer token: a supporting document, decrypted, for the
/// applicant, their guardian, reviewers and the privacy officer (staff downloads audited);
/// `404` for anyone else; `500 DATA_CORRUPTED` when the stored content fails its integrity check.
pub async fn document(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let rid = request_id(&req);
    let services = &state.services;
    let result = async {
        let id = path_id(&path)?;
        let (rc, actor) = viewer::signed_in(&req, &state).await?;
        let relations = rc.relations(services, &actor).await?;
        crate::domain::equal_opportunity::download(services, &actor, relations, id).await
    }
    .await;
    let fail = |e: AppError| app_error_response(&e, Media::Json, &rid);
    match result {
        Ok((doc, bytes)) => HttpResponse::Ok()
            .content_type(doc.mime_type.clone())
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"document-{}\"", doc.id),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header(("x-content-type-options", "nosniff"))
            .body(bytes),
        Err(e) => fail(e),
    }
}

/// The id in a download's path (`NOT_FOUND` when it is not one, before anything else).
fn path_id(path: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(path).map_err(|_| AppError::NotFound)
}
