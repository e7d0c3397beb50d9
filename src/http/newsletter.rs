//! The newsletter's links, for e-mail clients (no sign-in, no tenant header: the token names
//! its subscription):
//! - `GET /newsletter/confirm?token=…` confirms a subscription (the double opt-in link);
//! - `GET /newsletter/unsubscribe?token=…` shows a one-button page (link scanners must not
//!   unsubscribe anyone), and `POST` on the same URL unsubscribes at once: the RFC 8058
//!   one-click (`List-Unsubscribe=One-Click` body), idempotent.
//!
//! Wiring only: each handler makes one domain call and answers a small HTML page.

use actix_web::{HttpRequest, HttpResponse};

use crate::domain::newsletter;

use super::pages::{escape, failed, page, token};
use super::{AppState, request_id};

pub async fn confirm(req: HttpRequest, state: actix_web::web::Data<AppState>) -> HttpResponse {
    let rid = request_id(&req);
    match newsletter::confirm(&state.services, &token(&req), "token").await {
        Ok(_) => page(
            actix_web::http::StatusCode::OK,
            "Inscription confirmée / Subscription confirmed",
            "<p>Merci : votre inscription à la lettre d'information est confirmée. / Thank you: \
             your newsletter subscription is confirmed.</p>",
        ),
        Err(e) => failed(&e, &rid, "newsletter link"),
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
        Err(e) => failed(&e, &rid, "newsletter link"),
    }
}
