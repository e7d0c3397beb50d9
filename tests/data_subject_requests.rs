//! Data-subject requests end to end, on SQLite and PostgreSQL: made by the subject (with their
//! password) or a guardian, registered by the privacy officer for a letter, the queue with its
//! filters, order and overdue flag, the one extension, refusal, who sees what, the audit trail
//! and the receipts, and the steps that carry requests out (restriction, objection, consent
//! withdrawal, post-mortem directive, export (erasure: tests/erasure.rs), with a
//! failing step retried on a backoff.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use chrono::{DateTime, Duration, Months, Utc};
use common::{DEMO_PASSWORD, TestApp, demo};
use serde_json::{Value, json};

const NODE: &str = "id status receivedAt dueAt extendedUntil overdue completedAt kind channel details purposes identityCheck extensionReason outcome refusalReason requestedBy { id } handledBy { id } subject { id } steps { name position status attempts lastError nextAttemptAt finishedAt } failedSteps { name attempts lastError } postMortemDirective { instructions outcome trustedPersonName trustedPersonContact recordedAt }";

fn date(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("a date").parse().expect("an RFC 3339 date")
}

/// Makes a request with `token` (the demo password unless `password` is given).
async fn make(app: &TestApp, token: &str, input: Value) -> common::Gql {
    let mut input = input;
    if input.get("password").is_none() {
        input["password"] = json!(DEMO_PASSWORD);
    }
    app.gql(
        Some(token),
        &format!("mutation($input: RequestDataSubjectRightInput!) {{ requestDataSubjectRight(input: $input) {{ request {{ {NODE} }} }} }}"),
        json!({ "input": input }),
    )
    .await
}

async fn made(app: &TestApp, token: &str, input: Value) -> Value {
    let r = make(app, token, input).await;
    r.assert_ok()["requestDataSubjectRight"]["request"].clone()
}

/// Runs a privacy-officer mutation taking `input` and returning `{ request { … } }`.
async fn officer(
    app: &TestApp,
    dpo: &str,
    mutation: &str,
    input_type: &str,
    input: Value,
) -> common::Gql {
    app.gql(
        Some(dpo),
        &format!("mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ request {{ {NODE} }} }} }}"),
        json!({ "input": input }),
    )
    .await
}

async fn start(app: &TestApp, dpo: &str, id: &str) -> Value {
    let r = officer(
        app,
        dpo,
        "startDataSubjectRequest",
        "DataSubjectRequestIdInput",
        json!({ "requestId": id }),
    )
    .await;
    r.assert_ok()["startDataSubjectRequest"]["request"].clone()
}

async fn complete(app: &TestApp, dpo: &str, id: &str, outcome: &str) -> common::Gql {
    officer(
        app,
        dpo,
        "completeDataSubjectRequest",
        "CompleteDataSubjectRequestInput",
        json!({ "requestId": id, "outcome": outcome }),
    )
    .await
}

async fn register(app: &TestApp, dpo: &str, input: Value) -> common::Gql {
    officer(app, dpo, "registerDataSubjectRequest", "RegisterDataSubjectRequestInput", input).await
}

/// Reads one request as `token`.
async fn read(app: &TestApp, token: Option<&str>, id: &str) -> common::Gql {
    app.gql(
        token,
        &format!("query($id: ID!) {{ dataSubjectRequest(id: $id) {{ {NODE} }} }}"),
        json!({ "id": id }),
    )
    .await
}

/// `(person, text)` of every row of a query, in its order (ids compared as UUIDs: SQLite stores
/// them as blobs).
async fn rows_about(app: &TestApp, sql: &str, person: &str, text: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let person: uuid::Uuid = person.parse().expect("a user id");
    conn.query_all_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .iter()
        .filter(|r| r.try_get::<Option<uuid::Uuid>>("", "person").expect("person") == Some(person))
        .map(|r| r.try_get::<String>("", text).expect("text"))
        .collect()
}

/// The kinds of mail queued for `recipient`, oldest first.
async fn outbox_kinds(app: &TestApp, recipient: &str) -> Vec<String> {
    let sql = "SELECT recipient_id AS person, kind FROM outbox ORDER BY created_at, id";
    rows_about(app, sql, recipient, "kind").await
}

/// The audit actions about `subject` in the data-subject-request category, oldest first.
async fn audit_actions(app: &TestApp, subject: &str) -> Vec<String> {
    let sql = "SELECT subject_id AS person, action FROM audit_log \
               WHERE category = 'data_subject_requests' ORDER BY at, id";
    rows_about(app, sql, subject, "action").await
}

// ---------------------------------------------------------------------------------------------

/// Tokens of the people the tests act as, taken before any clock change (an access token is
/// "not before" the server clock that issued it).
struct People {
    lea: String,
    hugo: String,
    claire: String,
    tom: String,
    dpo: String,
}

impl People {
    async fn sign_in(app: &TestApp) -> People {
        People {
            lea: app.token(demo::LEARNER).await,
            hugo: app.token(demo::LEARNER2).await,
            claire: app.token(demo::GUARDIAN).await,
            tom: app.token(demo::MINOR).await,
            dpo: app.token(demo::DPO).await,
        }
    }
}

async fn a_subject_makes_a_request_with_their_password_and_a_wrong_one_writes_nothing(
    app: TestApp,
) {
    let p = People::sign_in(&app).await;
    let lea = app.user_id(demo::LEARNER).await;
    let (requests, outbox, audit) = (
        app.count("data_subject_requests").await,
        app.count("outbox").await,
        app.count("audit_log").await,
    );

    let wrong =
        make(&app, &p.lea, json!({ "kind": "ACCESS", "password": "not-my-password" })).await;
    assert_eq!(wrong.first_code().as_deref(), Some("FORBIDDEN"), "{}", wrong.body);
    let message = wrong.errors()[0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("password") && message.contains("nothing was recorded"), "{message}");
    assert_eq!(app.count("data_subject_requests").await, requests, "no request written");
    assert_eq!(app.count("outbox").await, outbox, "no receipt queued");
    assert_eq!(app.count("audit_log").await, audit, "no audit entry");

    let r = made(&app, &p.lea, json!({ "kind": "ACCESS", "details": "Everything, please." })).await;
    assert_eq!(r["status"], "RECEIVED");
    assert_eq!(r["kind"], "ACCESS");
    assert_eq!(r["channel"], "API");
    assert_eq!(r["details"], "Everything, please.");
    assert_eq!(r["identityCheck"], "password re-authentication");
    assert_eq!(r["requestedBy"]["id"], lea.as_str());
    assert_eq!(r["subject"]["id"], lea.as_str());
    assert_eq!(r["overdue"], false);
    assert_eq!(r["steps"], json!([]), "nothing is carried out before the officer completes it");
    let received = date(&r["receivedAt"]);
    assert_eq!(date(&r["dueAt"]), received.checked_add_months(Months::new(1)).expect("date"));
    assert_eq!(outbox_kinds(&app, &lea).await, vec!["dsr_received"]);
    assert_eq!(audit_actions(&app, &lea).await, vec!["dsr.received"]);

    let mine = app
        .gql(Some(&p.lea), "{ me { dataSubjectRequests { id status kind } } }", Value::Null)
        .await;
    let list = mine.assert_ok()["me"]["dataSubjectRequests"].as_array().cloned().expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], r["id"]);

    let again = make(&app, &p.lea, json!({ "kind": "ACCESS" })).await;
    assert_eq!(
        again.first_code().as_deref(),
        Some("CONFLICT"),
        "one open per kind: {}",
        again.body
    );
}

async fn wrong_passwords_are_throttled_like_log_ins(app: TestApp) {
    let p = People::sign_in(&app).await;
    for _ in 0..5 {
        let r = make(&app, &p.hugo, json!({ "kind": "OBJECTION", "password": "guess" })).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{}", r.body);
    }
    let r = make(&app, &p.hugo, json!({ "kind": "OBJECTION" })).await;
    assert_eq!(r.first_code().as_deref(), Some("RATE_LIMITED"), "the right one waits: {}", r.body);
    assert_eq!(app.count("data_subject_requests").await, 0);
}

async fn every_input_is_checked_and_a_bad_one_writes_nothing(app: TestApp) {
    let p = People::sign_in(&app).await;
    let cases = [
        (json!({ "kind": "RECTIFICATION" }), "input.details"),
        (json!({ "kind": "RECTIFICATION", "details": "   " }), "input.details"),
        (json!({ "kind": "CONSENT_WITHDRAWAL" }), "input.purposes"),
        (json!({ "kind": "ACCESS", "purposes": ["MARKETING_EMAIL"] }), "input.purposes"),
        (json!({ "kind": "ACCESS", "directive": { "outcome": "KEEP" } }), "input.directive"),
        (json!({ "kind": "POST_MORTEM_DIRECTIVE", "details": "Keep it." }), "input.directive"),
        (
            json!({ "kind": "POST_MORTEM_DIRECTIVE", "details": "Give it to my sister.", "directive": { "outcome": "HAND_OVER" } }),
            "input.directive.trustedPersonName",
        ),
        (
            json!({ "kind": "POST_MORTEM_DIRECTIVE", "details": "x", "directive": { "outcome": "KEEP", "trustedPersonName": "Zoé" } }),
            "input.directive.trustedPersonContact",
        ),
        (json!({ "kind": "ACCESS", "details": "x".repeat(5001) }), "input.details"),
        (json!({ "kind": "ACCESS", "subjectId": "not-an-id" }), "input.subjectId"),
    ];
    for (input, field) in cases {
        make(&app, &p.lea, input).await.assert_bad_input(field);
    }
    assert_eq!(app.count("data_subject_requests").await, 0);
    assert_eq!(app.count("post_mortem_directives").await, 0);
}

async fn a_guardian_requests_for_their_ward_and_nobody_else_may(app: TestApp) {
    let p = People::sign_in(&app).await;
    let tom = app.user_id(demo::MINOR).await;
    let claire = app.user_id(demo::GUARDIAN).await;
    let r = made(&app, &p.claire, json!({ "kind": "OBJECTION", "subjectId": tom })).await;
    assert_eq!(r["subject"]["id"], tom.as_str());
    assert_eq!(r["requestedBy"]["id"], claire.as_str());
    assert_eq!(outbox_kinds(&app, &tom).await, vec!["dsr_received"]);
    assert_eq!(outbox_kinds(&app, &claire).await, vec!["dsr_received"], "the guardian gets a copy");
    assert_eq!(audit_actions(&app, &tom).await, vec!["dsr.received"]);

    for (who, token) in [("Claire", &p.claire), ("Tom", &p.tom)] {
        let mine = app
            .gql(Some(token), "{ me { dataSubjectRequests { id kind details } } }", Value::Null)
            .await;
        let list = mine.assert_ok()["me"]["dataSubjectRequests"].as_array().cloned().expect("list");
        assert!(
            list.iter().any(|x| x["id"] == r["id"] && x["kind"] == "OBJECTION"),
            "{who}: {list:?}"
        );
    }

    let other = make(&app, &p.lea, json!({ "kind": "ACCESS", "subjectId": tom })).await;
    assert_eq!(other.first_code().as_deref(), Some("FORBIDDEN"), "{}", other.body);
    let officer_for_tom = make(&app, &p.dpo, json!({ "kind": "ACCESS", "subjectId": tom })).await;
    assert_eq!(officer_for_tom.first_code().as_deref(), Some("FORBIDDEN"), "the officer registers");
    assert_eq!(app.count("data_subject_requests").await, 1);
}

async fn the_privacy_officer_registers_a_postal_request(app: TestApp) {
    let p = People::sign_in(&app).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let received = app.clock.now() - Duration::days(10);
    let r = register(
        &app,
        &p.dpo,
        json!({
            "subjectId": hugo, "kind": "RECTIFICATION", "channel": "POST",
            "receivedAt": received.to_rfc3339(),
            "identityCheck": "Signed letter with a copy of the identity card, checked and shredded.",
            "details": "My postal address is 3 rue des Lilas, not 5.",
        }),
    )
    .await;
    let req = r.assert_ok()["registerDataSubjectRequest"]["request"].clone();
    assert_eq!(req["status"], "RECEIVED");
    assert_eq!(req["channel"], "POST");
    assert!(req["requestedBy"].is_null(), "registered, not made through the API");
    assert_eq!(req["handledBy"]["id"], app.user_id(demo::DPO).await.as_str());
    assert_eq!(date(&req["receivedAt"]), received);
    assert_eq!(date(&req["dueAt"]), received.checked_add_months(Months::new(1)).expect("date"));
    assert_eq!(audit_actions(&app, &hugo).await, vec!["dsr.registered"]);
    assert_eq!(outbox_kinds(&app, &hugo).await, vec!["dsr_received"]);
    // Hugo sees the letter's request too.
    let mine =
        app.gql(Some(&p.hugo), "{ me { dataSubjectRequests { id channel } } }", Value::Null).await;
    assert_eq!(mine.assert_ok()["me"]["dataSubjectRequests"][0]["channel"], "POST");

    let base = json!({ "subjectId": hugo, "kind": "ACCESS", "channel": "EMAIL", "identityCheck": "Reply from the account's address." });
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        i
    };
    let now = app.clock.now();
    for (input, field) in [
        (with("channel", json!("API")), "input.channel"),
        (with("identityCheck", json!("")), "input.identityCheck"),
        (with("receivedAt", json!((now + Duration::days(2)).to_rfc3339())), "input.receivedAt"),
        (with("receivedAt", json!((now - Duration::days(200)).to_rfc3339())), "input.receivedAt"),
        (with("subjectId", json!("0190f0f0-0000-7000-8000-000000000000")), "input.subjectId"),
        (with("kind", json!("CONSENT_WITHDRAWAL")), "input.purposes"),
    ] {
        register(&app, &p.dpo, input).await.assert_bad_input(field);
    }
    let support = app.token(demo::SUPPORT).await;
    let r = register(&app, &support, base.clone()).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"));
    let own = register(&app, &p.dpo, with("subjectId", json!(app.user_id(demo::DPO).await))).await;
    assert_eq!(own.first_code().as_deref(), Some("FORBIDDEN"), "nobody answers their own request");
    assert_eq!(app.count("data_subject_requests").await, 1);
}

async fn queue(app: &TestApp, token: &str, args: &str) -> common::Gql {
    app.gql(
        Some(token),
        &format!("{{ dataSubjectRequests({args}) {{ totalCount edges {{ node {{ id kind status dueAt overdue failedSteps {{ name attempts lastError }} }} }} pageInfo {{ hasNextPage }} }} }}"),
        Value::Null,
    )
    .await
}

fn ids(r: &common::Gql) -> Vec<String> {
    r.assert_ok()["dataSubjectRequests"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn the_queue_puts_the_oldest_due_first_filters_and_flags_overdue(app: TestApp) {
    let p = People::sign_in(&app).await;
    let mut others = Vec::new();
    for email in [demo::SUPPORT, demo::ADMIN, demo::LEARNER2] {
        others.push(app.token(email).await);
    }
    let lea = made(&app, &p.lea, json!({ "kind": "ACCESS" })).await;
    let tom = app.user_id(demo::MINOR).await;
    let claire = made(&app, &p.claire, json!({ "kind": "OBJECTION", "subjectId": tom })).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let letter = register(
        &app,
        &p.dpo,
        json!({ "subjectId": hugo, "kind": "ERASURE", "channel": "POST", "identityCheck": "Letter signed, ID seen.",
                "receivedAt": (app.clock.now() - Duration::days(20)).to_rfc3339() }),
    )
    .await;
    let letter = letter.assert_ok()["registerDataSubjectRequest"]["request"].clone();

    let all = queue(&app, &p.dpo, "first: 10").await;
    assert_eq!(all.assert_ok()["dataSubjectRequests"]["totalCount"], 3);
    assert_eq!(all.assert_ok()["dataSubjectRequests"]["pageInfo"]["hasNextPage"], false);
    let order = ids(&all);
    assert_eq!(order.len(), 3);
    assert_eq!(order[0], id(&letter), "the letter is due first: {order:?}");
    let edges = all.assert_ok()["dataSubjectRequests"]["edges"].as_array().cloned().expect("edges");
    assert!(edges.iter().all(|e| e["node"]["overdue"] == false));
    let first = queue(&app, &p.dpo, "first: 1").await;
    assert_eq!(ids(&first), vec![id(&letter)]);
    assert_eq!(first.assert_ok()["dataSubjectRequests"]["pageInfo"]["hasNextPage"], true);

    assert_eq!(ids(&queue(&app, &p.dpo, "kind: OBJECTION").await), vec![id(&claire)]);
    assert_eq!(ids(&queue(&app, &p.dpo, "status: RECEIVED").await).len(), 3);
    assert!(ids(&queue(&app, &p.dpo, "overdue: true").await).is_empty());

    // Twelve days on, the letter (received 20 days earlier) is past its month.
    app.clock.advance_secs(12 * 86_400);
    assert_eq!(ids(&queue(&app, &p.dpo, "overdue: true").await), vec![id(&letter)]);
    // A month and more on, everything open is overdue; a refused request is not.
    app.clock.advance_secs(30 * 86_400);
    officer(
        &app,
        &p.dpo,
        "refuseDataSubjectRequest",
        "RefuseDataSubjectRequestInput",
        json!({ "requestId": lea["id"], "reason": "Unfounded." }),
    )
    .await
    .assert_ok();
    let overdue = ids(&queue(&app, &p.dpo, "overdue: true").await);
    assert_eq!(overdue.len(), 2, "{overdue:?}");
    assert!(!overdue.contains(&id(&lea)));
    assert_eq!(ids(&queue(&app, &p.dpo, "overdue: false").await), vec![id(&lea)]);
    assert_eq!(ids(&queue(&app, &p.dpo, "status: REFUSED").await), vec![id(&lea)]);
    let flagged = queue(&app, &p.dpo, "kind: OBJECTION").await;
    assert_eq!(flagged.assert_ok()["dataSubjectRequests"]["edges"][0]["node"]["overdue"], true);

    for token in &others {
        let r = queue(&app, token, "first: 10").await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{}", r.body);
    }
    queue(&app, &p.dpo, "first: 0").await.assert_bad_input("first");
    queue(&app, &p.dpo, "first: 51").await.assert_bad_input("first");
}

async fn an_extension_is_once_only_by_at_most_two_months_before_the_due_date(app: TestApp) {
    let p = People::sign_in(&app).await;
    let lea_id = app.user_id(demo::LEARNER).await;
    let r = made(
        &app,
        &p.lea,
        json!({ "kind": "RECTIFICATION", "details": "My last name is Martin-Durand." }),
    )
    .await;
    let extend = |request: String, months: i64, reason: &str| {
        let (app, dpo, reason) = (&app, p.dpo.clone(), reason.to_owned());
        async move {
            officer(
                app,
                &dpo,
                "extendDataSubjectRequest",
                "ExtendDataSubjectRequestInput",
                json!({ "requestId": request, "months": months, "reason": reason }),
            )
            .await
        }
    };
    extend(id(&r), 3, "Too much work.").await.assert_bad_input("input.months");
    extend(id(&r), 0, "Too much work.").await.assert_bad_input("input.months");
    extend(id(&r), 2, "  ").await.assert_bad_input("input.reason");
    let ok = extend(id(&r), 2, "Several archives must be checked.").await;
    let req = ok.assert_ok()["extendDataSubjectRequest"]["request"].clone();
    let due = date(&req["dueAt"]);
    assert_eq!(date(&req["extendedUntil"]), due.checked_add_months(Months::new(2)).expect("date"));
    assert_eq!(req["extensionReason"], "Several archives must be checked.");
    assert_eq!(outbox_kinds(&app, &lea_id).await, vec!["dsr_received", "dsr_extended"]);
    let again = extend(id(&r), 1, "More.").await;
    assert_eq!(again.first_code().as_deref(), Some("CONFLICT"), "once only: {}", again.body);

    // Past the first due date, within the extension: not overdue; past the extension: overdue.
    app.clock.advance_secs(40 * 86_400);
    let seen = read(&app, Some(&p.lea), &id(&r)).await;
    assert_eq!(seen.assert_ok()["dataSubjectRequest"]["overdue"], false);
    app.clock.advance_secs(60 * 86_400);
    let seen = read(&app, Some(&p.dpo), &id(&r)).await;
    assert_eq!(seen.assert_ok()["dataSubjectRequest"]["overdue"], true);

    // An extension announced after the due date is too late.
    let late = made(&app, &p.lea, json!({ "kind": "OBJECTION" })).await;
    app.clock.advance_secs(32 * 86_400);
    let r = extend(id(&late), 1, "Late.").await;
    assert_eq!(r.first_code().as_deref(), Some("CONFLICT"), "{}", r.body);
}

async fn a_refusal_needs_a_reason_and_closes_the_request(app: TestApp) {
    let p = People::sign_in(&app).await;
    let lea = app.user_id(demo::LEARNER).await;
    let r = made(&app, &p.lea, json!({ "kind": "ERASURE" })).await;
    let refuse = |reason: &str| {
        officer(
            &app,
            &p.dpo,
            "refuseDataSubjectRequest",
            "RefuseDataSubjectRequestInput",
            json!({ "requestId": r["id"], "reason": reason }),
        )
    };
    refuse("").await.assert_bad_input("input.reason");
    let ok = refuse("Unpaid invoices are under a legal hold; nothing else is held.").await;
    let req = ok.assert_ok()["refuseDataSubjectRequest"]["request"].clone();
    assert_eq!(req["status"], "REFUSED");
    assert!(req["completedAt"].is_string());
    let seen = read(&app, Some(&p.lea), &id(&r)).await;
    assert_eq!(
        seen.assert_ok()["dataSubjectRequest"]["refusalReason"],
        "Unpaid invoices are under a legal hold; nothing else is held."
    );
    assert_eq!(outbox_kinds(&app, &lea).await, vec!["dsr_received", "dsr_closed"]);
    assert_eq!(audit_actions(&app, &lea).await, vec!["dsr.received", "dsr.refused"]);
    assert_eq!(refuse("Again.").await.first_code().as_deref(), Some("CONFLICT"));
    let done = complete(&app, &p.dpo, &id(&r), "Done.").await;
    assert_eq!(done.first_code().as_deref(), Some("CONFLICT"));
    let start = officer(
        &app,
        &p.dpo,
        "startDataSubjectRequest",
        "DataSubjectRequestIdInput",
        json!({ "requestId": r["id"] }),
    )
    .await;
    assert_eq!(start.first_code().as_deref(), Some("CONFLICT"));
    // A received request is started before it is completed.
    let fresh = made(&app, &p.lea, json!({ "kind": "OBJECTION" })).await;
    let early = complete(&app, &p.dpo, &id(&fresh), "Done.").await;
    assert_eq!(early.first_code().as_deref(), Some("CONFLICT"));
}

async fn only_the_subject_the_guardian_and_the_officer_read_a_request_and_support_its_status(
    app: TestApp,
) {
    let p = People::sign_in(&app).await;
    let lea = made(&app, &p.lea, json!({ "kind": "ACCESS", "details": "My whole file." })).await;
    let tom = app.user_id(demo::MINOR).await;
    let toms = made(&app, &p.claire, json!({ "kind": "OBJECTION", "subjectId": tom })).await;
    let query = "query($id: ID!) { dataSubjectRequest(id: $id) { id status dueAt overdue kind details steps { name } } }";
    // (viewer, request, reads status, reads details)
    let cases = [
        (demo::LEARNER, &lea, true, true),
        (demo::DPO, &lea, true, true),
        (demo::SUPPORT, &lea, true, false),
        (demo::LEARNER2, &lea, false, false),
        (demo::GUARDIAN, &lea, false, false),
        (demo::BILLING, &lea, false, false),
        (demo::ADMIN, &lea, false, false),
        (demo::INSTRUCTOR, &lea, false, false),
        (demo::REVIEWER, &lea, false, false),
        (demo::MARKETING, &lea, false, false),
        (demo::INTEGRATION, &lea, false, false),
        (demo::GUARDIAN, &toms, true, true),
        (demo::MINOR, &toms, true, true),
        (demo::SUPPORT, &toms, true, false),
        (demo::LEARNER, &toms, false, false),
    ];
    for (email, req, status, details) in cases {
        let token = app.token(email).await;
        let r = app.gql(Some(&token), query, json!({ "id": req["id"] })).await;
        let code = |f: &str| r.code_at(&format!("dataSubjectRequest.{f}"));
        let want = |ok: bool| if ok { None } else { Some("FORBIDDEN".to_owned()) };
        for f in ["status", "dueAt", "overdue"] {
            assert_eq!(code(f), want(status), "{email} {f}: {}", r.body);
        }
        for f in ["kind", "details", "steps"] {
            assert_eq!(code(f), want(details), "{email} {f}: {}", r.body);
        }
    }
    let anonymous = read(&app, None, &id(&lea)).await;
    assert_eq!(anonymous.first_code().as_deref(), Some("UNAUTHENTICATED"));
    let missing = read(&app, Some(&p.dpo), "0190f0f0-0000-7000-8000-000000000000").await;
    assert!(missing.assert_ok()["dataSubjectRequest"].is_null());

    // Support reads a person's list, statuses only; billing not even that.
    let support = app.token(demo::SUPPORT).await;
    let lea_id = app.user_id(demo::LEARNER).await;
    let list = "query($id: ID!) { user(id: $id) { dataSubjectRequests { status details } } }";
    let r = app.gql(Some(&support), list, json!({ "id": lea_id })).await;
    assert_eq!(r.data()["user"]["dataSubjectRequests"][0]["status"], "RECEIVED", "{}", r.body);
    assert_eq!(r.code_at("user.dataSubjectRequests.0.details").as_deref(), Some("FORBIDDEN"));
    let billing = app.token(demo::BILLING).await;
    let r = app.gql(Some(&billing), list, json!({ "id": lea_id })).await;
    assert_eq!(r.code_at("user.dataSubjectRequests").as_deref(), Some("FORBIDDEN"));

    // Only the privacy officer moves a request, and never their own.
    let start = "mutation($id: ID!) { startDataSubjectRequest(input: {requestId: $id}) { request { id } } }";
    for token in [&support, &p.lea, &app.token(demo::ADMIN).await] {
        let r = app.gql(Some(token), start, json!({ "id": lea["id"] })).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{}", r.body);
    }
}

async fn every_step_is_audited_and_each_receipt_queued(app: TestApp) {
    let p = People::sign_in(&app).await;
    let lea = app.user_id(demo::LEARNER).await;
    let r = made(
        &app,
        &p.lea,
        json!({ "kind": "RECTIFICATION", "details": "My phone is +33 6 12 34 56 78." }),
    )
    .await;
    let started = start(&app, &p.dpo, &id(&r)).await;
    assert_eq!(started["status"], "IN_PROGRESS");
    officer(
        &app,
        &p.dpo,
        "extendDataSubjectRequest",
        "ExtendDataSubjectRequestInput",
        json!({ "requestId": r["id"], "months": 1, "reason": "The call centre must confirm." }),
    )
    .await
    .assert_ok();
    let done = complete(&app, &p.dpo, &id(&r), "The phone number was corrected.").await;
    let done = done.assert_ok()["completeDataSubjectRequest"]["request"].clone();
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["outcome"], "The phone number was corrected.");
    assert!(done["completedAt"].is_string());
    assert_eq!(done["steps"][0]["name"], "close");
    assert_eq!(done["steps"][0]["status"], "DONE");
    assert_eq!(
        audit_actions(&app, &lea).await,
        vec![
            "dsr.received",
            "dsr.started",
            "dsr.extended",
            "dsr.completion_started",
            "dsr.completed"
        ]
    );
    assert_eq!(outbox_kinds(&app, &lea).await, vec!["dsr_received", "dsr_extended", "dsr_closed"]);
    // Léa reads each step in her own access log.
    let log = app
        .gql(
            Some(&p.lea),
            "{ me { accessLog(first: 10) { edges { node { action category } } } } }",
            Value::Null,
        )
        .await;
    let actions: Vec<String> = log.assert_ok()["me"]["accessLog"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(actions.contains(&"dsr.completed".to_owned()), "{actions:?}");
    let again = complete(&app, &p.dpo, &id(&r), "Again.").await;
    assert_eq!(again.first_code().as_deref(), Some("CONFLICT"));
}

async fn a_completed_restriction_closes_staff_reads_until_it_is_lifted(app: TestApp) {
    let p = People::sign_in(&app).await;
    let lea = app.user_id(demo::LEARNER).await;
    let support = app.token(demo::SUPPORT).await;
    let read_lea = "query($id: ID!) { user(id: $id) { firstName email status } }";
    let before = app.gql(Some(&support), read_lea, json!({ "id": lea })).await;
    assert_eq!(before.assert_ok()["user"]["firstName"], "Léa");

    let r = made(
        &app,
        &p.lea,
        json!({ "kind": "RESTRICTION", "details": "I contest the accuracy of my data." }),
    )
    .await;
    start(&app, &p.dpo, &id(&r)).await;
    let done = complete(&app, &p.dpo, &id(&r), "Your account is restricted while we check.").await;
    let done = done.assert_ok()["completeDataSubjectRequest"]["request"].clone();
    assert_eq!(done["status"], "DONE", "{done}");
    let steps: Vec<(String, String)> = done["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().into(),
                s["status"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![("restrict_account".to_owned(), "DONE".to_owned()), ("close".into(), "DONE".into())]
    );

    let after = app.gql(Some(&support), read_lea, json!({ "id": lea })).await;
    assert_eq!(after.code_at("user.firstName").as_deref(), Some("FORBIDDEN"), "{}", after.body);
    assert_eq!(after.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    let officer_reads = app.gql(Some(&p.dpo), read_lea, json!({ "id": lea })).await;
    assert_eq!(officer_reads.assert_ok()["user"]["status"], "RESTRICTED");
    let own = app.gql(Some(&p.lea), "{ me { firstName status } }", Value::Null).await;
    assert_eq!(own.assert_ok()["me"]["status"], "RESTRICTED");

    let lift =
        "mutation($id: ID!) { liftRestriction(input: {userId: $id}) { user { id status } } }";
    let r = app.gql(Some(&support), lift, json!({ "id": lea })).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&p.dpo), lift, json!({ "id": lea })).await;
    assert_eq!(r.assert_ok()["liftRestriction"]["user"]["status"], "ACTIVE");
    let again = app.gql(Some(&support), read_lea, json!({ "id": lea })).await;
    assert_eq!(again.assert_ok()["user"]["firstName"], "Léa");
    let twice = app.gql(Some(&p.dpo), lift, json!({ "id": lea })).await;
    assert_eq!(twice.first_code().as_deref(), Some("CONFLICT"));
    assert!(outbox_kinds(&app, &lea).await.contains(&"restriction_lifted".to_owned()));
    assert_eq!(
        audit_actions(&app, &lea).await,
        vec![
            "dsr.received",
            "dsr.started",
            "dsr.completion_started",
            "account.restricted",
            "dsr.completed",
            "account.restriction_lifted"
        ]
    );
}

async fn consents(app: &TestApp, token: &str) -> Vec<(String, bool)> {
    let r = app.gql(Some(token), "{ me { consents { purpose granted } } }", Value::Null).await;
    r.assert_ok()["me"]["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .map(|c| (c["purpose"].as_str().unwrap_or_default().to_owned(), c["granted"] == true))
        .collect()
}

async fn grant(app: &TestApp, token: &str, purpose: &str) {
    app.gql(
        Some(token),
        &format!("mutation {{ setConsent(input: {{purpose: {purpose}, granted: true, source: \"account-settings\"}}) {{ consent {{ granted }} }} }}"),
        Value::Null,
    )
    .await
    .assert_ok();
}

fn given(consents: &[(String, bool)], purpose: &str) -> bool {
    consents.iter().any(|(p, g)| p == purpose && *g)
}

async fn an_objection_withdraws_every_marketing_consent(app: TestApp) {
    let p = People::sign_in(&app).await;
    grant(&app, &p.lea, "MARKETING_PHONE").await;
    grant(&app, &p.lea, "CLASS_RECORDING").await;
    let before = consents(&app, &p.lea).await;
    assert!(given(&before, "MARKETING_EMAIL") && given(&before, "MARKETING_PHONE"), "{before:?}");
    let lea = app.user_id(demo::LEARNER).await;
    let marketing = app.token(demo::MARKETING).await;
    let name = "query($id: ID!) { user(id: $id) { firstName } }";
    let seen = app.gql(Some(&marketing), name, json!({ "id": lea })).await;
    assert_eq!(seen.assert_ok()["user"]["firstName"], "Léa");

    let r = made(&app, &p.lea, json!({ "kind": "OBJECTION" })).await;
    start(&app, &p.dpo, &id(&r)).await;
    let done = complete(&app, &p.dpo, &id(&r), "You will receive no more marketing.").await;
    assert_eq!(done.assert_ok()["completeDataSubjectRequest"]["request"]["status"], "DONE");

    let after = consents(&app, &p.lea).await;
    assert!(!given(&after, "MARKETING_EMAIL") && !given(&after, "MARKETING_PHONE"), "{after:?}");
    assert!(given(&after, "CLASS_RECORDING"), "other purposes stay: {after:?}");
    let seen = app.gql(Some(&marketing), name, json!({ "id": lea })).await;
    assert_eq!(seen.code_at("user.firstName").as_deref(), Some("FORBIDDEN"), "marketing loses her");
    let sql = "SELECT subject_user_id AS person, purpose FROM consent_records \
               WHERE source = 'data_subject_request' AND granted = false ORDER BY purpose";
    assert_eq!(
        rows_about(&app, sql, &lea, "purpose").await,
        vec!["marketing_email", "marketing_phone"]
    );
}

async fn a_consent_withdrawal_withdraws_the_purposes_named(app: TestApp) {
    let p = People::sign_in(&app).await;
    grant(&app, &p.lea, "CLASS_RECORDING").await;
    let r = made(
        &app,
        &p.lea,
        json!({ "kind": "CONSENT_WITHDRAWAL", "purposes": ["CLASS_RECORDING", "CLASS_RECORDING"] }),
    )
    .await;
    assert_eq!(r["purposes"], json!(["CLASS_RECORDING"]));
    start(&app, &p.dpo, &id(&r)).await;
    complete(&app, &p.dpo, &id(&r), "Withdrawn.").await.assert_ok();
    let now = consents(&app, &p.lea).await;
    assert!(!given(&now, "CLASS_RECORDING"), "{now:?}");
    assert!(given(&now, "MARKETING_EMAIL"), "the others stay: {now:?}");
}

async fn a_post_mortem_directive_is_kept_for_the_subject_and_the_officer(app: TestApp) {
    let p = People::sign_in(&app).await;
    let r = made(
        &app,
        &p.lea,
        json!({ "kind": "POST_MORTEM_DIRECTIVE", "details": "Give my certificates to my sister, then delete everything.",
                "directive": { "outcome": "HAND_OVER", "trustedPersonName": "Zoé Martin", "trustedPersonContact": "zoe.martin@example.org" } }),
    )
    .await;
    let d = &r["postMortemDirective"];
    assert_eq!(d["outcome"], "HAND_OVER");
    assert_eq!(d["trustedPersonName"], "Zoé Martin");
    assert_eq!(d["instructions"], "Give my certificates to my sister, then delete everything.");
    let seen = read(&app, Some(&p.dpo), &id(&r)).await;
    assert_eq!(
        seen.assert_ok()["dataSubjectRequest"]["postMortemDirective"]["trustedPersonContact"],
        "zoe.martin@example.org"
    );
    let support = app.token(demo::SUPPORT).await;
    let r2 = read(&app, Some(&support), &id(&r)).await;
    assert_eq!(r2.code_at("dataSubjectRequest.postMortemDirective").as_deref(), Some("FORBIDDEN"));
    start(&app, &p.dpo, &id(&r)).await;
    let done = complete(&app, &p.dpo, &id(&r), "Your directive is recorded.").await;
    assert_eq!(done.assert_ok()["completeDataSubjectRequest"]["request"]["status"], "DONE");
    assert_eq!(app.count("post_mortem_directives").await, 1);
}

async fn an_access_request_is_carried_out_with_its_export(app: TestApp) {
    let p = People::sign_in(&app).await;
    let access = made(&app, &p.lea, json!({ "kind": "PORTABILITY" })).await;
    start(&app, &p.dpo, &id(&access)).await;
    let r = complete(&app, &p.dpo, &id(&access), "Here it is.").await;
    let req = r.assert_ok()["completeDataSubjectRequest"]["request"].clone();
    // The export (tests/export.rs) and the erasure (tests/erasure.rs) are carried out.
    assert_eq!(req["status"], "DONE", "the export step runs: {req}");
    assert_eq!(req["steps"][0]["name"], "export");
    assert_eq!(req["steps"][0]["status"], "DONE");
    assert_eq!(req["steps"][1]["name"], "close");
    assert_eq!(req["steps"][1]["status"], "DONE");
    assert_eq!(req["failedSteps"], json!([]));
}

/// A trigger makes restricting an account fail until it is dropped.
async fn arrange_failure(app: &TestApp) {
    if app.backend == "postgres" {
        app.execute("CREATE FUNCTION arranged_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'arranged failure'; END $$ LANGUAGE plpgsql").await;
        app.execute("CREATE TRIGGER arranged_failure BEFORE UPDATE OF status ON users FOR EACH ROW WHEN (NEW.status = 'restricted') EXECUTE FUNCTION arranged_failure()").await;
    } else {
        app.execute("CREATE TRIGGER arranged_failure BEFORE UPDATE OF status ON users WHEN NEW.status = 'restricted' BEGIN SELECT RAISE(ABORT, 'arranged failure'); END").await;
    }
}

async fn repair(app: &TestApp) {
    if app.backend == "postgres" {
        app.execute("DROP TRIGGER arranged_failure ON users").await;
    } else {
        app.execute("DROP TRIGGER arranged_failure").await;
    }
}

async fn a_failing_step_is_retried_with_backoff_and_shows_in_the_queue(app: TestApp) {
    let p = People::sign_in(&app).await;
    arrange_failure(&app).await;
    let r = made(&app, &p.lea, json!({ "kind": "RESTRICTION" })).await;
    start(&app, &p.dpo, &id(&r)).await;
    let first = complete(&app, &p.dpo, &id(&r), "Restricted.").await;
    let req = first.assert_ok()["completeDataSubjectRequest"]["request"].clone();
    assert_eq!(req["status"], "IN_PROGRESS");
    let failed = &req["failedSteps"][0];
    assert_eq!(failed["name"], "restrict_account");
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["lastError"].as_str().unwrap_or_default().contains("arranged failure"),
        "{failed}"
    );
    assert_eq!(date(&req["steps"][0]["nextAttemptAt"]), app.clock.now() + Duration::seconds(60));
    assert_eq!(req["steps"][1]["status"], "PENDING", "the close waits");

    let q = queue(&app, &p.dpo, "status: IN_PROGRESS").await;
    let node = &q.assert_ok()["dataSubjectRequests"]["edges"][0]["node"];
    assert_eq!(node["failedSteps"][0]["name"], "restrict_account", "{node}");

    let advance = || pupitre::domain::privacy::requests::advance(app.services(), 50);
    // Before the backoff has passed nothing is tried.
    app.clock.advance_secs(30);
    assert_eq!(advance().await.expect("advance"), Default::default());
    // After it, tried again and failed again: the wait doubles.
    app.clock.advance_secs(31);
    let report = advance().await.expect("advance");
    assert_eq!((report.done, report.failed), (0, 1));
    let again = read(&app, Some(&p.dpo), &id(&r)).await;
    let again = again.assert_ok()["dataSubjectRequest"].clone();
    assert_eq!(again["failedSteps"][0]["attempts"], 2);
    assert_eq!(date(&again["steps"][0]["nextAttemptAt"]), app.clock.now() + Duration::seconds(120));

    // The fault is repaired; the background job carries the request to its end.
    repair(&app).await;
    app.clock.advance_secs(121);
    pupitre::jobs::run_once(app.services()).await;
    let done = read(&app, Some(&p.dpo), &id(&r)).await;
    let done = done.assert_ok()["dataSubjectRequest"].clone();
    assert_eq!(done["status"], "DONE", "{done}");
    assert_eq!(done["failedSteps"], json!([]));
    assert_eq!(done["steps"][0]["status"], "DONE");
    assert_eq!(done["steps"][0]["attempts"], 2, "the failures stay counted");
    assert!(done["steps"][0]["lastError"].is_null());
    let lea = app.user_id(demo::LEARNER).await;
    let status = app
        .gql(Some(&p.dpo), "query($id: ID!) { user(id: $id) { status } }", json!({ "id": lea }))
        .await;
    assert_eq!(status.assert_ok()["user"]["status"], "RESTRICTED");
    assert_eq!(outbox_kinds(&app, &lea).await, vec!["dsr_received", "dsr_closed"], "one receipt");
    // Nothing is left to do.
    app.clock.advance_secs(86_400);
    assert_eq!(advance().await.expect("advance"), Default::default());
}

async fn lists_of_requests_cost_the_same_statements_for_few_and_many(app: TestApp) {
    let p = People::sign_in(&app).await;
    let tom = app.user_id(demo::MINOR).await;
    let directive = |email: &'static str| {
        let (app, dpo) = (&app, p.dpo.clone());
        async move {
            let input = json!({ "subjectId": app.user_id(email).await, "kind": "POST_MORTEM_DIRECTIVE", "channel": "EMAIL",
                                "identityCheck": "Answered from the account's address.", "details": "Keep my data.",
                                "directive": { "outcome": "KEEP" } });
            register(app, &dpo, input).await.assert_ok();
        }
    };
    // The first two in the queue (same due date: creation order) need every kind of load.
    directive(demo::INSTRUCTOR).await;
    made(&app, &p.lea, json!({ "kind": "ACCESS" })).await;
    made(&app, &p.hugo, json!({ "kind": "OBJECTION" })).await;
    made(&app, &p.claire, json!({ "kind": "RESTRICTION" })).await;
    made(&app, &p.claire, json!({ "kind": "OBJECTION", "subjectId": tom })).await;
    directive(demo::SUPPORT).await;
    let statements = |first: usize, token: String, query: &'static str| {
        let app = &app;
        async move {
            let before = app.app_statements.get();
            let r = app.gql(Some(&token), query, json!({ "first": first })).await;
            let n = app.app_statements.get() - before;
            (r, n)
        }
    };
    let queue = "query($first: Int) { dataSubjectRequests(first: $first) { edges { node { id status subject { id } requestedBy { id } handledBy { id } steps { name } failedSteps { name } postMortemDirective { outcome } } } } }";
    let (two, few) = statements(2, p.dpo.clone(), queue).await;
    let (all, many) = statements(6, p.dpo.clone(), queue).await;
    assert_eq!(two.assert_ok()["dataSubjectRequests"]["edges"].as_array().map(Vec::len), Some(2));
    assert_eq!(all.assert_ok()["dataSubjectRequests"]["edges"].as_array().map(Vec::len), Some(6));
    assert_eq!(few, many, "the queue: {few} statements for two requests, {many} for six");

    let support = app.token(demo::SUPPORT).await;
    let people = "query($first: Int) { users(first: $first) { edges { node { id dataSubjectRequests { status subject { id } } } } } }";
    let (_, few) = statements(2, support.clone(), people).await;
    let (r, many) = statements(12, support, people).await;
    let listed: usize = r.assert_ok()["users"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["dataSubjectRequests"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(listed >= 5, "support sees the statuses: {}", r.body);
    assert_eq!(few, many, "people's lists: {few} statements for 2 people, {many} for 12");
}

/// Sessions that outlive the clock jumps of these tests (a month and more).
fn long_sessions(s: &mut pupitre::config::Settings) {
    s.refresh_token_ttl_secs = 400 * 86_400;
}

/// Runs each listed `async fn(TestApp)` on SQLite and PostgreSQL, with long sessions.
macro_rules! on_both_databases_with_long_sessions {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::TestApp::sqlite_with(super::long_sessions).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = crate::common::TestApp::postgres_with(super::long_sessions).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

on_both_databases_with_long_sessions!(
    a_subject_makes_a_request_with_their_password_and_a_wrong_one_writes_nothing,
    wrong_passwords_are_throttled_like_log_ins,
    every_input_is_checked_and_a_bad_one_writes_nothing,
    a_guardian_requests_for_their_ward_and_nobody_else_may,
    the_privacy_officer_registers_a_postal_request,
    the_queue_puts_the_oldest_due_first_filters_and_flags_overdue,
    an_extension_is_once_only_by_at_most_two_months_before_the_due_date,
    a_refusal_needs_a_reason_and_closes_the_request,
    only_the_subject_the_guardian_and_the_officer_read_a_request_and_support_its_status,
    every_step_is_audited_and_each_receipt_queued,
    a_completed_restriction_closes_staff_reads_until_it_is_lifted,
    an_objection_withdraws_every_marketing_consent,
    a_consent_withdrawal_withdraws_the_purposes_named,
    a_post_mortem_directive_is_kept_for_the_subject_and_the_officer,
    an_access_request_is_carried_out_with_its_export,
    a_failing_step_is_retried_with_backoff_and_shows_in_the_queue,
    lists_of_requests_cost_the_same_statements_for_few_and_many,
);
