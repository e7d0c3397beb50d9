//! CORS for browser storefronts on their own origins (`actix-cors` answers preflights and writes
//! the headers; this file only says which origins a request may come from).
//!
//! An origin is allowed when it is listed in `PUPITRE_CORS_ORIGINS` (every tenant), in the
//! `corsOrigins` setting of the tenant the request is for, or, in development only, when its
//! host is `localhost`, `127.0.0.1` or `[::1]`. Production allows nothing by default.
//!
//! A request's tenant is found as `/graphql` finds it ([`super::viewer::authenticate`]): the
//! token's, else the `X-Pupitre-Tenant` header, the host, the installation's default, the only
//! tenant; the request is checked against that tenant's list alone. A preflight carries neither
//! the token nor the header's value (browsers send only the header's name), so a preflight is
//! allowed for an origin that any tenant of the installation lists. This opens nothing: the API
//! takes bearer tokens, never cookies (credentials are not allowed), so an origin gains no
//! access by passing CORS: it only lets a page read answers it could fetch anyway.
//!
//! Nothing is blocked server-side on a mismatch: the answer simply carries no
//! `Access-Control-Allow-Origin`, and the browser keeps it from the page. Non-browser clients
//! (apps, servers) are unaffected.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{RequestHead, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;
use crate::domain::tenancy::Tenant;

/// How long a browser may keep a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 600;

/// How [`origins`] tells [`cors`] that the request's origin is allowed: actix-cors looks only
/// at the request head (headers, no extensions), so the verdict travels as a request header that
/// [`origins`] always removes from what the client sent before writing its own.
const VERDICT: &str = "x-pupitre-cors-allowed";

/// The CORS middleware: GET and POST, the headers a storefront sends, `X-Request-Id` readable
/// by the page, no credentials.
pub fn cors() -> Cors {
    Cors::default()
        .allowed_origin_fn(allowed)
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::HeaderName::from_static("x-pupitre-tenant"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Whether [`origins`] allowed this request's origin.
fn allowed(_origin: &HeaderValue, head: &RequestHead) -> bool {
    head.headers.contains_key(VERDICT)
}

/// Development accepts any page served from this machine (a Vite dev server, say).
fn local(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else { return false };
    matches!(url.scheme(), "http" | "https")
        && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Middleware in front of [`cors`]: for a request with an `Origin`, decides whether it is one
/// of the origins allowed for it (the installation's, its tenant's, localhost in development).
pub async fn origins(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let verdict = header::HeaderName::from_static(VERDICT);
    req.headers_mut().remove(&verdict);
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let (Some(origin), Some(state)) = (origin, req.app_data::<web::Data<AppState>>().cloned())
        && is_allowed(&origin, &req, &state).await
    {
        req.headers_mut().insert(verdict, HeaderValue::from_static("1"));
    }
    Box::pin(next.call(req)).await
}

/// Whether `origin` may read the answers to `req`.
async fn is_allowed(origin: &str, req: &ServiceRequest, state: &AppState) -> bool {
    let settings = &state.settings;
    if settings.cors_origins.iter().any(|o| o == origin)
        || (!settings.is_production() && local(origin))
    {
        return true;
    }
    let lists = |t: &Tenant| t.cors_origins.iter().any(|o| o == origin);
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    // The request's own tenant, found as `/graphql` finds it: the token's, else the header,
    // the host, the default, the only one.
    if !preflight && let Ok((tenant, _)) = super::viewer::authenticate(req.request(), state).await {
        return lists(&tenant);
    }
    // A preflight names no tenant (browsers send the header's name, not its value), and a
    // request refused anyway (an unknown tenant, a bad token) may let the page read why: an
    // origin any tenant lists.
    state.services.tenants.all().await.unwrap_or_default().iter().any(|t| lists(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_local() {
        assert!(local("http://localhost:5173"));
        assert!(local("http://127.0.0.1:8080"));
        assert!(local("https://[::1]:3000"));
        assert!(!local("http://localhost.example.org"));
        assert!(!local("https://shop.example.org"));
        assert!(!local("null"));
    }
}
