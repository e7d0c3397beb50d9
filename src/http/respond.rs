//! Error answers given before (or instead of) any GraphQL execution, in the GraphQL error
//! shape (`{"errors":[{"message", "extensions":{"code","requestId"}}]}`) that clients already
//! parse: for requests refused at the door and for the plain routes (downloads). Internal
//! causes are logged here once and never shown.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::Map;

use crate::error::{AppError, ErrorCode};

/// The response media type the client accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// A response carrying only errors, for failures before execution.
/// `400 Bad Request` with `BAD_USER_INPUT`: a request that is not a GraphQL request at all.
pub(super) fn bad_request(media: Media, rid: &str, message: &str) -> HttpResponse {
    error_response(StatusCode::BAD_REQUEST, media, rid, ErrorCode::BadUserInput, message, None)
}

pub(super) fn error_response(
    status: StatusCode,
    media: Media,
    rid: &str,
    code: ErrorCode,
    message: &str,
    field: Option<&str>,
) -> HttpResponse {
    let mut ext = Map::new();
    ext.insert("code".into(), code.as_str().into());
    ext.insert("requestId".into(), rid.into());
    if let Some(f) = field {
        ext.insert("field".into(), f.into());
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": ext }] });
    // A refusal is never cached (a CDN keeping `PERSISTED_QUERY_NOT_FOUND` for a hash's URL
    // would keep answering it after the text was sent).
    HttpResponse::build(status)
        .content_type(media.content_type())
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

/// The answer to an [`AppError`]: its code as the HTTP status and in the body (an internal
/// error is logged with its cause chain and answered `internal error`).
pub(super) fn app_error_response(e: &AppError, media: Media, rid: &str) -> HttpResponse {
    app_error_response_in(e, media, rid, super::lang::Lang::En)
}

/// [`app_error_response`] with the message in `lang` (see [`super::lang`]).
pub(super) fn app_error_response_in(
    e: &AppError,
    media: Media,
    rid: &str,
    lang: super::lang::Lang,
) -> HttpResponse {
    let status = match e.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        // (The persisted-query codes never come from an `AppError`; see `graphql::persisted`.)
        ErrorCode::BadUserInput
        | ErrorCode::PersistedQueryNotFound
        | ErrorCode::PersistedQueryNotInList => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::DataCorrupted => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let AppError::Internal { .. } = e {
        tracing::error!(error.chain = %crate::error::Chain(e), "internal error before execution");
        let message = super::lang::localize("internal error", lang);
        let message = message.as_deref().unwrap_or("internal error");
        return error_response(status, media, rid, ErrorCode::Internal, message, None);
    }
    let field = match e {
        AppError::BadUserInput { field, .. } => Some(field.as_str()),
        _ => None,
    };
    let message = e.to_string();
    let message = super::lang::localize(&message, lang).unwrap_or(message);
    error_response(status, media, rid, e.code(), &message, field)
}
