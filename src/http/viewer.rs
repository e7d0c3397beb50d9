//! Who is asking: the tenant and principal of an HTTP request, read from its headers without
//! SQL, and the shared [`RequestCtx`] built from them. The `/graphql` endpoint and the plain
//! routes (downloads) both start here; a new route that needs the viewer calls [`signed_in`].

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header;

use super::AppState;
use crate::domain::tenancy::Tenant;
use crate::error::{AppError, AppResult};
use crate::policy::Actor;
use crate::request::{self, Bearer, Credentials, Principal, RequestCtx};

/// The request's credentials as [`request::authenticate`] reads them.
fn credentials(req: &HttpRequest) -> Credentials<'_> {
    let headers = req.headers();
    let bearer = match headers.get(header::AUTHORIZATION) {
        None => Bearer::Absent,
        Some(value) => match value.to_str().ok().and_then(|raw| raw.strip_prefix("Bearer ")) {
            Some(token) => Bearer::Token(token.trim()),
            None => Bearer::Malformed,
        },
    };
    Credentials {
        bearer,
        tenant_slug: headers.get("x-pupitre-tenant").and_then(|v| v.to_str().ok()).map(str::trim),
        host: headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    }
}

/// Resolves tenant and principal from headers, without SQL.
pub(super) async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
) -> AppResult<(Arc<Tenant>, Principal)> {
    request::authenticate(
        &state.services,
        &credentials(req),
        state.settings.default_tenant.as_deref(),
    )
    .await
}

/// The request context of a plain route that needs a signed-in person (a bearer token is
/// required; its session is checked), with the actor.
pub(super) async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
) -> AppResult<(RequestCtx, Actor)> {
    let (tenant, principal) = authenticate(req, state).await?;
    if matches!(principal, Principal::Anonymous) {
        return Err(AppError::Unauthenticated);
    }
    let rc = RequestCtx::new(super::request_id(req), tenant, principal, None);
    let actor = rc.user_actor(&state.services).await?;
    Ok((rc, actor))
}
