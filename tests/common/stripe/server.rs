//! The HTTP front of the stand-in: records each `/v1` call, applies the latency and failure a
//! test set, checks the API key, routes to the endpoints, replays idempotency keys, delivers the
//! events an answer caused and then answers with Stripe's headers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::answer::{Answer, error_body};
use super::form::{nest, parse_form};
use super::payment_intents::{
    cancel_payment_intent, confirm_payment_intent, create_payment_intent, retrieve_payment_intent,
    update_payment_intent,
};
use super::refunds::{create_refund, retrieve_refund};
use super::state::{Saved, Shared, State, lock, new_id};
use super::webhook::auto_deliver;
use super::{API_VERSION, RecordedRequest};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Secret,
    Publishable,
}

pub(super) struct RequestInfo {
    pub(super) id: Option<String>,
    pub(super) idempotency_key: Option<String>,
}

impl RequestInfo {
    pub(super) fn none() -> Self {
        Self { id: None, idempotency_key: None }
    }
}

pub(super) async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let path = req.path().to_owned();
    let method = req.method().as_str().to_owned();
    if !path.starts_with("/v1/") {
        return HttpResponse::NotFound().finish();
    }
    let raw = if method == "GET" {
        req.query_string().to_owned()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let form = parse_form(&raw);
    let idempotency_key = header(&req, "Idempotency-Key");
    let request_id = new_id("req");
    let (index, latency, failure) = {
        let mut state = lock(&shared);
        state.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            idempotency_key: idempotency_key.clone(),
            api_key: header(&req, "Authorization")
                .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
                .unwrap_or_default(),
            form: form.clone(),
            answer: None,
        });
        (state.requests.len() - 1, state.latency, state.failure)
    };
    let respond = |status: u16, text: &str, info: &RequestInfo, replayed: bool| {
        let answer = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
        if let Some(recorded) = lock(&shared).requests.get_mut(index) {
            recorded.answer = Some((status, answer));
        }
        respond(status, text, info, replayed)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let info = RequestInfo { id: Some(request_id.clone()), idempotency_key };
    if let Some(status) = failure {
        let body = error_body(
            "api_error",
            None,
            "An unknown error occurred. (Stripe stand-in: simulated failure)",
            None,
            Some(&request_id),
        );
        return respond(status, &body.to_string(), &info, false);
    }
    let key = match authenticate(&req, &shared) {
        Ok(key) => key,
        Err(answer) => return respond(answer.status, &pretty(&answer.body), &info, false),
    };
    let params = nest(&form);
    let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let endpoint = format!("{method} {path}");

    let route = match (method.as_str(), &segments[..]) {
        ("POST", ["payment_intents"]) => Some(Route::CreateIntent),
        ("GET", ["payment_intents", id]) => Some(Route::RetrieveIntent((*id).to_owned())),
        ("POST", ["payment_intents", id]) => Some(Route::UpdateIntent((*id).to_owned())),
        ("POST", ["payment_intents", id, "confirm"]) => {
            Some(Route::ConfirmIntent((*id).to_owned()))
        }
        ("POST", ["payment_intents", id, "cancel"]) => Some(Route::CancelIntent((*id).to_owned())),
        ("POST", ["refunds"]) => Some(Route::CreateRefund),
        ("GET", ["refunds", id]) => Some(Route::RetrieveRefund((*id).to_owned())),
        _ => None,
    };
    let Some(route) = route else {
        let message = format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or \
             we can help at https://support.stripe.com/."
        );
        let body = error_body("invalid_request_error", None, &message, None, Some(&request_id));
        return respond(404, &pretty(&body), &info, false);
    };
    // Confirming with a publishable key is what Stripe.js does; everything else needs the
    // secret key (retrieving with a publishable key also needs the client secret).
    let publishable_ok = matches!(route, Route::ConfirmIntent(_) | Route::RetrieveIntent(_));
    if key == Key::Publishable && !publishable_ok {
        let body = error_body(
            "invalid_request_error",
            None,
            "This API call cannot be made with a publishable API key. Please use a secret API key. \
             You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
            None,
            Some(&request_id),
        );
        return respond(401, &pretty(&body), &info, false);
    }

    let (status, text, events, replayed) = {
        let mut state = lock(&shared);
        let mut sorted = form.clone();
        sorted.sort();
        let saved = match (&info.idempotency_key, method.as_str()) {
            (Some(k), "POST") => state
                .idempotency
                .get(k)
                .map(|s| (s.endpoint == endpoint && s.params == sorted, s.status, s.body.clone())),
            _ => None,
        };
        match saved {
            Some((true, status, body)) => (status, body, Vec::new(), true),
            Some((false, _, _)) => {
                let message = format!(
                    "Keys for idempotent requests can only be used with the same parameters they \
                     were first used with. Try using a key other than '{}' if you meant to \
                     execute a different request.",
                    info.idempotency_key.clone().unwrap_or_default()
                );
                let body = error_body("idempotency_error", None, &message, None, Some(&request_id));
                (400, pretty(&body), Vec::new(), false)
            }
            None => {
                let answer = route.run(&mut state, &params, key, &info);
                let text = pretty(&answer.body);
                if let (Some(k), "POST") = (&info.idempotency_key, method.as_str()) {
                    state.idempotency.insert(
                        k.clone(),
                        Saved {
                            endpoint,
                            params: sorted,
                            status: answer.status,
                            body: text.clone(),
                        },
                    );
                }
                (answer.status, text, answer.events, false)
            }
        }
    };
    auto_deliver(&shared, &events).await;
    respond(status, &text, &info, replayed)
}

enum Route {
    CreateIntent,
    RetrieveIntent(String),
    UpdateIntent(String),
    ConfirmIntent(String),
    CancelIntent(String),
    CreateRefund,
    RetrieveRefund(String),
}

impl Route {
    fn run(
        &self,
        state: &mut State,
        params: &Map<String, Value>,
        key: Key,
        info: &RequestInfo,
    ) -> Answer {
        match self {
            Route::CreateIntent => create_payment_intent(state, params, info),
            Route::RetrieveIntent(id) => retrieve_payment_intent(state, id, params, key),
            Route::UpdateIntent(id) => update_payment_intent(state, id, params),
            Route::ConfirmIntent(id) => confirm_payment_intent(state, id, params, key, info),
            Route::CancelIntent(id) => cancel_payment_intent(state, id, params, info),
            Route::CreateRefund => create_refund(state, params, info),
            Route::RetrieveRefund(id) => retrieve_refund(state, id),
        }
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn authenticate(req: &HttpRequest, shared: &Shared) -> Result<Key, Answer> {
    let given = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    if given.is_empty() {
        return Err(Answer {
            status: 401,
            body: json!({"error": {
                "message": "You did not provide an API key. You need to provide your API key in \
                            the Authorization header, using Bearer auth (e.g. 'Authorization: \
                            Bearer YOUR_SECRET_KEY').",
                "type": "invalid_request_error"
            }}),
            events: Vec::new(),
        });
    }
    if given == shared.secret_key || lock(shared).other_secret_keys.contains(&given) {
        return Ok(Key::Secret);
    }
    if given == shared.publishable_key {
        return Ok(Key::Publishable);
    }
    let tail: String = given.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let prefix: String = given.chars().take(8).collect();
    Err(Answer {
        status: 401,
        body: json!({"error": {
            "message": format!("Invalid API Key provided: {prefix}****{tail}"),
            "type": "invalid_request_error"
        }}),
        events: Vec::new(),
    })
}

fn respond(status: u16, body: &str, info: &RequestInfo, replayed: bool) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(code);
    response
        .content_type("application/json")
        .insert_header(("Stripe-Version", API_VERSION))
        .insert_header(("Cache-Control", "no-cache, no-store"));
    if let Some(id) = &info.id {
        response.insert_header(("Request-Id", id.as_str()));
    }
    if let Some(key) = &info.idempotency_key {
        response.insert_header(("Idempotency-Key", key.as_str()));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(body.to_owned())
}

pub(super) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
