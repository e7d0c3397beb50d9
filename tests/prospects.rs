//! Prospects' requests for information (issue 12, item 4) on SQLite and PostgreSQL: anyone may
//! send one (a bot filling the honeypot gets the same answer and stores nothing), bad input
//! names its field and stores nothing, a client address is throttled; support and the privacy
//! officer read every request, marketing only people who agreed to be contacted (the phone only
//! with consent to be called, nobody on the suppression list), everyone else nothing; staff
//! reads are audited; an exchange moves the 3-year retention clock.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use serde_json::{Value, json};

const ASK: &str =
    "mutation($input: RequestInformationInput!) { requestInformation(input: $input) { received } }";
const LIST: &str = "query($status: ContactRequestStatus) { contactRequests(first: 50, status: $status) { edges { node { id name email phone message courseId contactConsent phoneConsent status createdAt lastContactAt } } pageInfo { hasNextPage } } }";
const EXCHANGE: &str = "mutation($id: ID!) { recordContactExchange(input: {contactRequestId: $id}) { contactRequest { id status lastContactAt } } }";

fn form(email: &str, contact: bool, phone: Option<&str>, phone_consent: bool) -> Value {
    json!({
        "name": "Camille Dupont",
        "email": email,
        "phone": phone,
        "message": "Bonjour,\nquelles sont les dates de la prochaine session ?",
        "contactConsent": contact,
        "phoneConsent": phone_consent,
    })
}

async fn ask(app: &TestApp, input: Value) -> common::Gql {
    app.gql(None, ASK, json!({ "input": input })).await
}

/// The requests as `who` lists them, by e-mail as support sees it (the node by id otherwise).
async fn listed(app: &TestApp, who: &str) -> common::Gql {
    app.gql(Some(&app.token(who).await), LIST, json!({})).await
}

fn nodes(r: &common::Gql) -> Vec<Value> {
    r.assert_ok()["contactRequests"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn anyone_may_ask_and_a_bot_is_dropped_with_the_same_answer(app: TestApp) {
    let courses = app.gql(None, "{ courses(first: 1) { edges { node { id } } } }", json!({})).await;
    let course = courses.assert_ok()["courses"]["edges"][0]["node"]["id"].clone();
    let mut input = form("camille@example.org", true, Some("+33 6 12 34 56 78"), false);
    input["courseId"] = course.clone();
    input["locale"] = json!("fr-FR");
    assert_eq!(ask(&app, input.clone()).await.assert_ok()["requestInformation"]["received"], true);
    // The honeypot: the same answer, nothing stored.
    input["website"] = json!("http://spam.example");
    assert_eq!(ask(&app, input).await.assert_ok()["requestInformation"]["received"], true);
    assert_eq!(app.count("contact_requests").await, 1);
    // What support sees: the request as given, the phone normalised.
    let rows = nodes(&listed(&app, demo::SUPPORT).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["email"], "camille@example.org");
    assert_eq!(rows[0]["phone"], "+33612345678");
    assert_eq!(rows[0]["courseId"], course);
    assert_eq!(rows[0]["status"], "OPEN");
    assert_eq!(rows[0]["contactConsent"], true);
    // The choice to be contacted is in the consent ledger (the request's own visitor id); the
    // phone was not agreed to, so nothing is recorded for it.
    assert_eq!(
        app.count("consent_records WHERE subject_visitor_id LIKE 'prospect-%' AND purpose = 'marketing_email' AND granted = true").await,
        1
    );
    assert_eq!(app.count("consent_records WHERE purpose = 'marketing_phone'").await, 0);
    // A signed-in person's request is linked to their account, and their "no" withdraws nothing.
    let lea = app.token(demo::LEARNER).await;
    let before = app.count("consent_records").await;
    let r = app
        .gql(
            Some(&lea),
            ASK,
            json!({ "input": form("lea.martin@demo.pupitre.test", false, None, false) }),
        )
        .await;
    r.assert_ok();
    assert_eq!(app.count("consent_records").await, before);
    assert_eq!(app.count("contact_requests WHERE user_id IS NOT NULL").await, 1);
}

async fn bad_input_names_its_field_and_stores_nothing(app: TestApp) {
    let ok = form("x@example.org", true, Some("+33612345678"), true);
    let with = |k: &str, v: Value| {
        let mut f = ok.clone();
        f[k] = v;
        f
    };
    let cases = [
        (with("email", json!("not an address")), "input.email"),
        (with("name", json!("   ")), "input.name"),
        (with("name", json!("x".repeat(101))), "input.name"),
        (with("phone", json!("0612345678")), "input.phone"),
        (with("phone", Value::Null), "input.phoneConsent"),
        (with("message", json!("")), "input.message"),
        (with("message", json!("a".repeat(5001))), "input.message"),
        (with("message", json!("nul \u{0} byte")), "input.message"),
        (with("locale", json!("de")), "input.locale"),
        (with("courseId", json!("not-a-uuid")), "input.courseId"),
        (with("courseId", json!(uuid::Uuid::now_v7().to_string())), "input.courseId"),
    ];
    for (input, field) in cases {
        ask(&app, input).await.assert_bad_input(field);
    }
    assert_eq!(app.count("contact_requests").await, 0);
    assert_eq!(app.count("consent_records WHERE subject_visitor_id LIKE 'prospect-%'").await, 0);
}

async fn a_client_address_is_throttled(app: TestApp) {
    for i in 0..5 {
        ask(&app, form(&format!("p{i}@example.org"), false, None, false)).await.assert_ok();
    }
    let r = ask(&app, form("p9@example.org", false, None, false)).await;
    assert_eq!(r.first_code().as_deref(), Some("RATE_LIMITED"));
    assert_eq!(app.count("contact_requests").await, 5);
}

async fn each_role_reads_what_its_column_allows(app: TestApp) {
    // A: agreed to e-mail and calls; B: e-mail only; C: nothing (asked a question, that's all).
    ask(&app, form("a@example.org", true, Some("+33611111111"), true)).await.assert_ok();
    ask(&app, form("b@example.org", true, Some("+33622222222"), false)).await.assert_ok();
    ask(&app, form("c@example.org", false, Some("+33633333333"), false)).await.assert_ok();
    let by_email = |rows: &[Value], e: &str| rows.iter().find(|r| r["email"] == e).cloned();

    for who in [demo::SUPPORT, demo::DPO] {
        let rows = nodes(&listed(&app, who).await);
        assert_eq!(rows.len(), 3, "{who}");
        for (e, p) in [
            ("a@example.org", "+33611111111"),
            ("b@example.org", "+33622222222"),
            ("c@example.org", "+33633333333"),
        ] {
            let row = by_email(&rows, e).expect("listed");
            assert_eq!(row["phone"], p, "{who} {e}");
            assert_eq!(row["name"], "Camille Dupont");
            assert!(row["message"].as_str().is_some_and(|m| m.contains("session")));
        }
    }
    // Marketing: those who agreed to be contacted; the phone only with consent to be called.
    let rows = nodes(&listed(&app, demo::MARKETING).await);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(by_email(&rows, "a@example.org").expect("A")["phone"], "+33611111111");
    let b = by_email(&rows, "b@example.org").expect("B");
    assert!(b["phone"].is_null(), "no consent to be called: {b}");
    assert_eq!(b["name"], "Camille Dupont");
    assert!(by_email(&rows, "c@example.org").is_none());
    // A complaint about A's address (the suppression list, as an objection or an
    // unsubscription) takes A away from marketing at once.
    app.gql(
        Some(&app.token(demo::DPO).await),
        "mutation { recordMailFeedback(input: {email: \"a@example.org\", kind: COMPLAINT}) { recorded } }",
        json!({}),
    )
    .await
    .assert_ok();
    let rows = nodes(&listed(&app, demo::MARKETING).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["email"], "b@example.org");
    assert_eq!(nodes(&listed(&app, demo::SUPPORT).await).len(), 3, "support still answers A");

    // Nobody else.
    for who in [demo::BILLING, demo::INSTRUCTOR, demo::REVIEWER, demo::ADMIN, demo::LEARNER] {
        assert_eq!(
            listed(&app, who).await.code_at("contactRequests").as_deref(),
            Some("FORBIDDEN"),
            "{who}"
        );
    }
    assert_eq!(
        app.gql(None, LIST, json!({})).await.code_at("contactRequests").as_deref(),
        Some("UNAUTHENTICATED")
    );
    // Staff reads are audited, one entry per request read, with the column's purpose.
    assert!(
        app.count("audit_log WHERE category = 'prospects' AND purpose = 'customer_service'").await
            >= 3
    );
    assert!(
        app.count("audit_log WHERE category = 'prospects' AND purpose = 'marketing'").await >= 2
    );
}

async fn an_exchange_moves_the_retention_clock(app: TestApp) {
    ask(&app, form("d@example.org", true, None, false)).await.assert_ok();
    // Signed in before the clock moves (a token is not valid before it was issued).
    let support = app.token(demo::SUPPORT).await;
    let marketing = app.token(demo::MARKETING).await;
    let rows = nodes(&app.gql(Some(&support), LIST, json!({})).await);
    let id = rows[0]["id"].as_str().expect("id").to_owned();
    let created = rows[0]["createdAt"].as_str().expect("createdAt").to_owned();
    app.clock.advance_secs(3600);
    let r = app.gql(Some(&support), EXCHANGE, json!({ "id": id })).await;
    let node = &r.assert_ok()["recordContactExchange"]["contactRequest"];
    assert_eq!(node["status"], "ANSWERED");
    assert_ne!(node["lastContactAt"].as_str().expect("lastContactAt"), created);
    let open = app.gql(Some(&support), LIST, json!({ "status": "OPEN" })).await;
    assert!(nodes(&open).is_empty());
    // Marketing reads, but does not answer; an unknown id is not found.
    assert_eq!(
        app.gql(Some(&marketing), EXCHANGE, json!({ "id": id }))
            .await
            .code_at("recordContactExchange")
            .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.gql(Some(&support), EXCHANGE, json!({ "id": uuid::Uuid::now_v7().to_string() }))
            .await
            .code_at("recordContactExchange")
            .as_deref(),
        Some("NOT_FOUND")
    );
    // A new request from the same address is an exchange too: the earlier one's clock moves.
    app.clock.advance_secs(3600);
    ask(&app, form("D@example.org", false, None, false)).await.assert_ok();
    let rows = nodes(&app.gql(Some(&support), LIST, json!({})).await);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["lastContactAt"], rows[1]["lastContactAt"], "{rows:?}");
    assert!(
        app.count("audit_log WHERE action = 'contact_request.exchange'").await == 1,
        "the exchange is audited"
    );
}

on_both_databases!(
    anyone_may_ask_and_a_bot_is_dropped_with_the_same_answer,
    bad_input_names_its_field_and_stores_nothing,
    a_client_address_is_throttled,
    each_role_reads_what_its_column_allows,
    an_exchange_moves_the_retention_clock,
);
