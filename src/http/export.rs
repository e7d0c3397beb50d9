//! `GET /exports/{id}?token=…`: the download of an access or portability export through its
//! short-lived link (minted by `DataExport.downloadLink`). The token is the credential, so a
//! browser can follow the link; the domain checks it, the session it was made in and the
//! policy, audits, and streams the ZIP decrypted. Anything else is `404`. Wiring only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;

use super::respond::{Media, app_error_response};
use super::{AppState, request_id};
use crate::domain::privacy::export;
use crate::error::AppError;

pub async fn download(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let rid = request_id(&req);
    let result = async {
        let id = uuid::Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
        let token = url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .ok_or(AppError::NotFound)?;
        export::download(&state.services, id, &token, rid.clone()).await
    }
    .await;
    match result {
        Ok(d) => {
            let name = format!("export-{}.zip", d.created_at.format("%Y%m%d-%H%M%S"));
            let body = d.body.map(|chunk| {
                chunk.map_err(|e| {
                    tracing::error!(error.chain = %crate::error::Chain(&e), "an export download stopped");
                    std::io::Error::other("the export could not be read")
                })
            });
            HttpResponse::Ok()
                .content_type("application/zip")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ))
                .insert_header((header::CACHE_CONTROL, "private, no-store"))
                .insert_header(("referrer-policy", "no-referrer"))
                .insert_header(("x-content-type-options", "nosniff"))
                .no_chunking(d.size_bytes)
                .streaming(body)
        }
        Err(e) => app_error_response(&e, Media::Json, &rid),
    }
}
