//! Small HTML pages for links people open from an e-mail or a printed message (no sign-in, no
//! tenant header: the token names what it opens), in French and English.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::AppError;

pub fn token(req: &HttpRequest) -> String {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body style=\"font-family: sans-serif; max-width: 36em; margin: 2em auto;\">\
             <h1>{title}</h1>{body}</body></html>"
        ))
}

pub fn failed(e: &AppError, rid: &str, what: &str) -> HttpResponse {
    use actix_web::http::StatusCode;
    match e {
        AppError::BadUserInput { .. } | AppError::NotFound => page(
            StatusCode::NOT_FOUND,
            "Lien invalide ou expiré / Invalid or expired link",
            "<p>Ce lien n'est pas valide ou a expiré. / This link is invalid or has expired.</p>",
        ),
        other => {
            tracing::error!(request.id = %rid, error.chain = %crate::error::Chain(other), "{what} failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur / Error",
                "<p>Réessayez plus tard. / Please try again later.</p>",
            )
        }
    }
}
