//! The one-time set-password link `pupitre tenant admin` prints (see
//! `domain::accounts::set_password`), for an organisation that has no storefront yet:
//! - `GET /set-password?token=…` shows a form (opening the link changes nothing: link scanners
//!   must not spend it);
//! - `POST /set-password` (form: `token`, `password`) sets the password once.
//!
//! Wiring only: one domain call, a small HTML page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::pages::{escape, failed, page, token};
use super::{AppState, request_id};
use crate::domain::accounts::set_password::set_password;
use crate::domain::types::Password;

pub async fn form(req: HttpRequest) -> HttpResponse {
    let t = escape(&token(&req));
    page(
        StatusCode::OK,
        "Choisir un mot de passe / Choose a password",
        &format!(
            "<form method=\"post\" action=\"/set-password\">\
             <input type=\"hidden\" name=\"token\" value=\"{t}\">\
             <p><label for=\"password\">Mot de passe (12 caractères au moins) / Password (at \
             least 12 characters)</label><br>\
             <input id=\"password\" name=\"password\" type=\"password\" minlength=\"12\" \
             maxlength=\"128\" autocomplete=\"new-password\" required></p>\
             <button type=\"submit\">Enregistrer / Save</button></form>"
        ),
    )
}

#[derive(serde::Deserialize)]
pub struct SetPasswordForm {
    token: String,
    password: String,
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SetPasswordForm>,
) -> HttpResponse {
    let rid = request_id(&req);
    let password = match Password::parse("password", &form.password) {
        Ok(p) => p,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Mot de passe trop court / Password too short",
                "<p>Choisissez entre 12 et 128 caractères, puis rouvrez le lien. / Choose 12 to \
                 128 characters, then open the link again.</p>",
            );
        }
    };
    match set_password(&state.services, None, &form.token, password).await {
        Ok(_) => page(
            StatusCode::OK,
            "Mot de passe enregistré / Password saved",
            "<p>Vous pouvez vous connecter avec votre adresse e-mail et ce mot de passe. / You can \
             now sign in with your e-mail address and this password.</p>",
        ),
        // An unknown, used or expired token: the invalid-link page.
        Err(e) => failed(&e, &rid, "set-password link"),
    }
}
