//! `POST /graphql` as a multipart request (file uploads): for signed-in people only, read as a
//! stream within its own limit, every upload placeholder checked against the files actually
//! sent, then run like any other request. Files stay in memory, never in a temporary file.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::body_error_response;
use super::execute::execute;
use crate::error::ErrorCode;
use crate::http::respond::{Media, app_error_response, error_response};
use crate::http::viewer::authenticate;
use crate::http::{AppState, body};
use crate::request::Principal;

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
pub(super) async fn multipart(
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
    let limit = body::Limit {
        max_bytes: multipart_body_limit(s),
        timeout: s.body_read_timeout(),
        pace: body::Pace::BetweenPieces {
            whole: std::time::Duration::from_secs(s.upload_timeout_secs),
        },
    };
    if let Err(e) = body::check_declared(req, limit.max_bytes) {
        return body_error_response(&e, media, rid);
    }
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(s.upload_max_file_bytes.saturating_mul(2))
        .max_num_files(s.upload_max_files.saturating_mul(2));
    // Parsed as it arrives: the parts are never held twice.
    let (stream, failure) = body::LimitedBody::new(payload, limit).forward();
    let reader = futures_util::TryStreamExt::into_async_read(stream);
    let parsed = async_graphql::http::receive_batch_body(Some(content_type), reader, opts).await;
    if let Some(e) = failure.get() {
        return body_error_response(e, media, rid);
    }
    let mut batch = match parsed {
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
    // Persisted queries as for JSON requests: a registered operation by hash or by its text.
    let resolved = match &mut batch {
        async_graphql::BatchRequest::Single(r) => state.persisted.resolve_request(r),
        async_graphql::BatchRequest::Batch(rs) => {
            rs.iter_mut().try_for_each(|r| state.persisted.resolve_request(r))
        }
    };
    if let Err(refusal) = resolved {
        return super::persisted_refusal(state, media, rid, refusal);
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
