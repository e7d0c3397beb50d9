//! The newsletter's links, for e-mail clients (no sign-in, no tenant header: the token names
//! its subscription):
//! - `GET /newsletter/confirm?token=…` confirms a subscription (the double opt-in link);
//! - `GET /newsletter/unsubscribe?token=…` shows a one-button page (link scanners must not
//!   unsubscribe anyone), and `POST` on the same URL unsubscribes at once: the RFC 8058
//!   one-click (`List-Unsubscribe=One-Click` body), idempotent.
//!
//! Wiring only: each handler makes one domain call and answers a small HTML page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::domain::newsletter;
use crate::error::AppError;

use super::{AppState, request_id};

fn token(req: &HttpRequest) -> String {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
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

fn failed(e: &AppError, rid: &str) -> HttpResponse {
    use actix_web::http::StatusCode;
    match e {
        AppError::BadUserInput { .. } | AppError::NotFound => page(
            StatusCode::NOT_FOUND,
            "Lien invalide ou expiré / Invalid or expired link",
            "<p>Ce lien n'est pas valide ou a expiré. / This link is invalid or has expired.</p>",
        ),
        other => {
            tracing::error!(request.id = %rid, error.chain = %crate::error::Chain(other), "newsletter link failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur / Error",
                "<p>Réessayez plus tard. / Please try again later.</p>",
            )
        }
    }
}

pub async fn confirm(req: HttpRequest, state: actix_web::web::Data<AppState>) -> HttpResponse {
    let rid = request_id(&req);
    match newsletter::confirm(&state.services, &token(&req), "token").await {
        Ok(_) => page(
            actix_web::http::StatusCode::OK,
            "Inscription confirmée / Subscription confirmed",
            "<p>Merci : votre inscription à la lettre d'information est confirmée. / Thank you: \
             your newsletter subscription is confirmed.</p>",
        ),
        Err(e) => failed(&e, &rid),
    }
}

pub async fn unsubscribe_page(req: HttpRequest) -> HttpResponse {
    let t = escape(&token(&req));
    page(
        actix_web::http::StatusCode::OK,
        "Se désinscrire / Unsubscribe",
        &format!(
            "<form method=\"post\" action=\"?token={t}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Me désinscrire / Unsubscribe me</button></form>"
        ),
    )
}

pub async fn unsubscribe(req: HttpRequest, state: actix_web::web::Data<AppState>) -> HttpResponse {
    let rid = request_id(&req);
    match newsletter::unsubscribe(&state.services, &token(&req), "token").await {
        Ok(()) => page(
            actix_web::http::StatusCode::OK,
            "Désinscription enregistrée / Unsubscribed",
            "<p>Vous ne recevrez plus notre lettre d'information. / You will not receive our \
             newsletter any more.</p>",
        ),
        Err(e) => failed(&e, &rid),
    }
}
