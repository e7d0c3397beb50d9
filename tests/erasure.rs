//! Erasure end to end, on SQLite and PostgreSQL (issue 11, item 4): a learner with paid and
//! unpaid orders, invoices, enrollments, progress, an application with documents, consents and
//! audit entries asks to be erased; the privacy officer completes the request; then an
//! independent scan of every column of every table finds none of her personal values outside
//! the rows the report lists as kept, she cannot log in, her address registers anew, billing
//! still opens her invoice (snapshot intact), the unpaid order's seat is free, her document
//! files are gone from disk. An erasure that fails mid-way resumes where it stopped; one whose
//! final scan finds a leftover fails visibly until the leftover is gone; the append-only tables
//! let through only the pseudonymisation gate; objection and erasure feed the suppression list.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::{HashMap, HashSet};

use common::stripe::StripeStandIn;
use common::{DEMO_PASSWORD, TestApp, demo};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const REPORT: &str = "erasureReport { startedAt finishedAt ordersCancelled documentsDeleted consentsWithdrawn suppressed tables { table outcome rows releasedRows referencesCleared referencesKept legalBasis keptUntil } scan { passed valueKinds sharedValueKinds tablesScanned columnsScanned hits { table column rows keptRows organisationRecord } } }";

/// Léa's personal values, as the demo data holds them.
const LEA_VALUES: &[&str] = &[
    "lea.martin@demo.pupitre.test",
    "+33612345001",
    "Léa Martin",
    "Martin Léa",
    "12 rue des Écoles",
    "1998-04-02",
];

async fn db(app: &TestApp) -> DatabaseConnection {
    pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect").0
}

async fn rows(app: &TestApp, sql: &str) -> Vec<QueryResult> {
    let conn = db(app).await;
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
}

/// A column as text: UUIDs (blobs on SQLite) or text.
fn text(r: &QueryResult, col: &str) -> Option<String> {
    if let Ok(Some(u)) = r.try_get::<Option<Uuid>>("", col) {
        return Some(u.to_string());
    }
    r.try_get::<Option<String>>("", col).ok().flatten()
}

async fn request(app: &TestApp, token: &str, kind: &str) -> String {
    let r = app
        .gql(
            Some(token),
            "mutation($input: RequestDataSubjectRightInput!) { requestDataSubjectRight(input: $input) { request { id } } }",
            json!({ "input": { "kind": kind, "password": DEMO_PASSWORD } }),
        )
        .await;
    r.assert_ok()["requestDataSubjectRight"]["request"]["id"].as_str().expect("id").to_owned()
}

/// Starts and completes request `id` as the privacy officer; returns the request.
async fn carry_out(app: &TestApp, dpo: &str, id: &str) -> Value {
    let start = "mutation($input: DataSubjectRequestIdInput!) { startDataSubjectRequest(input: $input) { request { id } } }";
    app.gql(Some(dpo), start, json!({ "input": { "requestId": id } })).await.assert_ok();
    let complete = format!(
        "mutation($input: CompleteDataSubjectRequestInput!) {{ completeDataSubjectRequest(input: $input) {{ request {{ id status steps {{ name status attempts lastError }} failedSteps {{ name lastError }} {REPORT} }} }} }}"
    );
    let r = app
        .gql(Some(dpo), &complete, json!({ "input": { "requestId": id, "outcome": "Done." } }))
        .await;
    r.assert_ok()["completeDataSubjectRequest"]["request"].clone()
}

async fn read(app: &TestApp, dpo: &str, id: &str) -> Value {
    let q = format!(
        "query($id: ID!) {{ dataSubjectRequest(id: $id) {{ id status steps {{ name status attempts lastError }} failedSteps {{ name lastError }} {REPORT} }} }}"
    );
    app.gql(Some(dpo), &q, json!({ "id": id })).await.assert_ok()["dataSubjectRequest"].clone()
}

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no report row for {name}: {report}"))
}

/// The rows the report lists as kept: table → ids.
async fn kept_rows(app: &TestApp) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for r in rows(app, "SELECT table_name, kept_ids FROM erasure_report_tables").await {
        let table: String = r.try_get("", "table_name").expect("table");
        let ids: Option<String> = r.try_get("", "kept_ids").expect("ids");
        if let Some(ids) = ids {
            let ids: Vec<String> = serde_json::from_str(&ids).expect("a JSON list");
            out.entry(table).or_default().extend(ids);
        }
    }
    out
}

/// Every column of every table, read as text, searched for `values` (case-insensitively):
/// `table.column` → (rows found, of which kept).
async fn independent_scan(app: &TestApp, values: &[&str]) -> HashMap<String, (usize, usize)> {
    let conn = db(app).await;
    let live = pupitre::domain::privacy::schema::live_schema(&conn).await.expect("schema");
    let kept = kept_rows(app).await;
    let needles: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    let mut hits = HashMap::new();
    for (t, columns) in &live.tables {
        let has_id = columns.iter().any(|c| c.name == "id");
        for c in columns {
            let sql = format!(
                "SELECT {} CAST(\"{}\" AS TEXT) AS v FROM \"{t}\"",
                if has_id { "id AS k," } else { "" },
                c.name
            );
            let found = conn
                .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
                .await
                .expect("scan query");
            for r in found {
                let Some(v) = r.try_get::<Option<String>>("", "v").ok().flatten() else { continue };
                let v = v.to_lowercase();
                if needles.iter().any(|n| v.contains(n.as_str())) {
                    let is_kept = has_id
                        && text(&r, "k")
                            .is_some_and(|k| kept.get(t).is_some_and(|ids| ids.contains(&k)));
                    let e = hits.entry(format!("{t}.{}", c.name)).or_insert((0, 0));
                    e.0 += 1;
                    if is_kept {
                        e.1 += 1;
                    }
                }
            }
        }
    }
    hits
}

/// A published paid course with one session of `capacity` seats. Returns the session id.
async fn paid_session(app: &TestApp, slug: &str, capacity: i32) -> String {
    let input = json!({ "slug": slug, "title": format!("Cours {slug}"), "summary": "Un cours payant.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 9_000, "currency": "EUR", "taxRateBp": 2000 });
    common::published_course(app, input, capacity).await.1
}

async fn seats_left(app: &TestApp, session: &str) -> i64 {
    let r = app
        .gql(None, "query($id: ID!) { session(id: $id) { seatsLeft } }", json!({ "id": session }))
        .await;
    r.assert_ok()["session"]["seatsLeft"].as_i64().expect("seats")
}

// ---------------------------------------------------------------------------------------------

async fn an_erased_learner_leaves_nothing_personal_outside_the_rows_kept(
    app: TestApp,
    stripe: StripeStandIn,
) {
    // Arrange: Léa (demo: paid orders with invoices, enrollments with progress, an approved
    // application with two documents, marketing consent, audit entries) also grants a second
    // consent and leaves an order unpaid, which holds the last seat of a session.
    let lea_token = app.token(demo::LEARNER).await;
    let (_, lea_refresh, lea) = app.login(demo::LEARNER).await;
    let dpo = app.token(demo::DPO).await;
    let billing = app.token(demo::BILLING).await;
    app.gql(
        Some(&lea_token),
        "mutation { setConsent(input: {purpose: CLASS_RECORDING, granted: true, source: \"account-settings\"}) { consent { granted } } }",
        Value::Null,
    )
    .await
    .assert_ok();
    // A newsletter subscription with her address (pending: its confirmation mail is queued).
    let sub = app
        .gql(
            Some(&lea_token),
            "mutation($input: SubscribeNewsletterInput!) { subscribeNewsletter(input: $input) { accepted } }",
            json!({ "input": { "email": "lea.martin@demo.pupitre.test", "topics": ["news"], "locale": "fr" } }),
        )
        .await;
    assert_eq!(sub.assert_ok()["subscribeNewsletter"]["accepted"], true, "{}", sub.body);
    // Two requests for information: one signed in, one sent anonymously with her address (found
    // by its keyed hash), with her phone.
    let ask = "mutation($input: RequestInformationInput!) { requestInformation(input: $input) { received } }";
    let form = json!({ "name": "Léa Martin", "email": "lea.martin@demo.pupitre.test", "phone": "+33612345001",
        "message": "Une question sur les sessions.", "contactConsent": true, "phoneConsent": true });
    app.gql(Some(&lea_token), ask, json!({ "input": form })).await.assert_ok();
    app.gql(None, ask, json!({ "input": form })).await.assert_ok();
    let session = paid_session(&app, "erasure-unpaid", 1).await;
    let order = app
        .gql(
            Some(&lea_token),
            "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id payment { paymentIntentId } } } }",
            json!({ "input": { "idempotencyKey": "erasure-unpaid-0001", "lines": [{ "sessionId": session }],
                "billing": { "name": "Léa Martin", "address": { "line1": "12 rue des Écoles", "postalCode": "69001", "city": "Lyon", "country": "FR" } } } }),
        )
        .await;
    let order = order.assert_ok()["createOrder"]["order"].clone();
    let intent = order["payment"]["paymentIntentId"].as_str().expect("intent").to_owned();
    assert_eq!(seats_left(&app, &session).await, 0, "the unpaid order holds the seat");

    let invoices: Vec<(String, String)> = rows(&app, "SELECT id, buyer_id, snapshot FROM invoices")
        .await
        .iter()
        .filter(|r| text(r, "buyer_id").as_deref() == Some(lea.as_str()))
        .map(|r| (text(r, "id").expect("id"), r.try_get("", "snapshot").expect("snapshot")))
        .collect();
    assert!(!invoices.is_empty(), "the demo gave Léa paid orders with invoices");
    assert!(invoices.iter().any(|(_, s)| s.contains("Léa")), "the snapshot names her");
    let blobs: Vec<std::path::PathBuf> = rows(
        &app,
        "SELECT d.storage_key AS k, a.applicant_id AS person FROM eo_documents d JOIN eo_applications a ON a.id = d.application_id",
    )
    .await
    .iter()
    .filter(|r| text(r, "person").as_deref() == Some(lea.as_str()))
    .map(|r| app.documents.path().join(text(r, "k").expect("key")))
    .collect();
    assert_eq!(blobs.len(), 2, "two documents");
    assert!(blobs.iter().all(|b| b.exists()), "their encrypted files are on disk");
    let before = independent_scan(&app, LEA_VALUES).await;
    assert!(before.contains_key("users.email") && before.contains_key("orders.billing_name"));

    // Act: she asks to be erased; the privacy officer completes the request.
    let id = request(&app, &lea_token, "ERASURE").await;
    let done = carry_out(&app, &dpo, &id).await;

    // Assert: done, with its report.
    assert_eq!(done["status"], "DONE", "{done}");
    let report = &done["erasureReport"];
    assert!(report["finishedAt"].is_string(), "{report}");
    assert_eq!(report["ordersCancelled"], 1);
    assert_eq!(report["documentsDeleted"], 2);
    assert!(report["consentsWithdrawn"].as_i64().expect("count") >= 2, "{report}");
    assert_eq!(report["suppressed"], true);
    let tables = report["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), pupitre::policy::registry::TABLES.len(), "one row per table");
    assert_eq!(tables.last().map(|t| t["table"].clone()), Some(json!("users")));
    assert_eq!(table(report, "users")["outcome"], "ANONYMISED");
    assert_eq!(table(report, "eo_documents")["outcome"], "ERASED");
    assert_eq!(table(report, "eo_documents")["rows"], 2);
    assert_eq!(table(report, "auth_sessions")["outcome"], "ERASED");
    let subs = table(report, "newsletter_subscriptions");
    assert_eq!((subs["outcome"].clone(), subs["rows"].clone()), (json!("ERASED"), json!(1)));
    let asked = table(report, "contact_requests");
    assert_eq!((asked["outcome"].clone(), asked["rows"].clone()), (json!("ERASED"), json!(2)));
    assert_eq!(table(report, "audit_log")["outcome"], "PSEUDONYMISED");
    assert_eq!(table(report, "consent_records")["outcome"], "PSEUDONYMISED");
    let inv = table(report, "invoices");
    assert_eq!(inv["outcome"], "KEPT");
    assert_eq!(inv["rows"], invoices.len());
    assert_eq!(inv["referencesCleared"], invoices.len(), "detached from the account");
    assert!(inv["legalBasis"].as_str().expect("basis").contains("accounting"), "{inv}");
    let orders = table(report, "orders");
    assert_eq!(orders["outcome"], "KEPT");
    assert_eq!(orders["releasedRows"], 1, "the never-paid order goes");
    let enrollments = table(report, "enrollments");
    assert_eq!(enrollments["outcome"], "KEPT");
    assert!(enrollments["legalBasis"].as_str().expect("basis").contains("contract"));
    assert!(enrollments["referencesKept"].as_i64().expect("n") > 0, "learner_id is NOT NULL");
    assert_eq!(table(report, "lesson_completions")["outcome"], "ERASED", "progress goes");
    let until: chrono::DateTime<chrono::Utc> =
        inv["keptUntil"].as_str().expect("a date").parse().expect("RFC 3339");
    let years = (until - app.clock.now()).num_days() / 365;
    assert!((9..=10).contains(&years), "kept about 10 years from issue: {until}");
    let scan = &report["scan"];
    assert_eq!(scan["passed"], true, "{scan}");
    assert_eq!(scan["valueKinds"], json!(["EMAIL", "PHONE", "NAME", "ADDRESS", "BIRTH_DATE"]));
    assert!(scan["columnsScanned"].as_i64().expect("n") > 50, "{scan}");
    for hit in scan["hits"].as_array().expect("hits") {
        let kept = hit["rows"] == hit["keptRows"];
        // The demo learner's address is the school's: the catalogue holds it too.
        let school = hit["table"] == "sessions" && hit["organisationRecord"] == true;
        assert!(kept || school, "only kept rows hold her values: {hit}");
    }

    // An independent scan of every column of every table: her values only in kept rows (and
    // the school's own address in its session locations).
    let after = independent_scan(&app, LEA_VALUES).await;
    let leftovers: Vec<_> =
        after.iter().filter(|(c, (n, k))| n > k && c.as_str() != "sessions.location").collect();
    assert!(leftovers.is_empty(), "personal values outside the kept rows: {leftovers:?}");
    assert!(after.contains_key("invoices.snapshot"), "the invoices keep their snapshot: {after:?}");
    for col in ["users.email", "users.phone", "users.first_name", "eo_applications.situation"] {
        assert!(!after.contains_key(col), "{col} still holds her values");
    }

    // She cannot log in, her tokens are dead, her address registers anew.
    assert_eq!(
        app.login_answer(demo::LEARNER).await.first_code().as_deref(),
        Some("UNAUTHENTICATED")
    );
    let me = app.gql(Some(&lea_token), "{ me { id } }", Value::Null).await;
    assert!(me.first_code().is_some() || me.data()["me"].is_null(), "{}", me.body);
    let refresh = app
        .gql_with(
            None,
            &[("x-pupitre-tenant", "demo")],
            "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken } }",
            json!({ "t": lea_refresh }),
        )
        .await;
    assert!(!refresh.errors().is_empty(), "the refresh token is revoked: {}", refresh.body);
    let again = app
        .gql_with(
            None,
            &[("x-pupitre-tenant", "demo")],
            "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Léa\", lastName: \"Martin\", acceptedPolicyVersion: \"2026-09\"}) { user { id } } }",
            json!({ "e": demo::LEARNER }),
        )
        .await;
    let new_id = again.assert_ok()["register"]["user"]["id"].as_str().expect("id").to_owned();
    assert_ne!(new_id, lea, "a new account");

    // Billing still opens her invoices, whose snapshot is intact and detached.
    for (invoice, snapshot) in &invoices {
        let res = app
            .client
            .get(app.url(&format!("/invoices/{invoice}.pdf")))
            .bearer_auth(&billing)
            .send()
            .await
            .expect("download");
        assert_eq!(res.status().as_u16(), 200, "billing opens invoice {invoice}");
        assert!(res.bytes().await.expect("body").starts_with(b"%PDF-"));
        let now = rows(&app, "SELECT id, buyer_id, snapshot FROM invoices").await;
        let row = now.iter().find(|r| text(r, "id").as_deref() == Some(invoice.as_str()));
        let row = row.expect("the invoice is kept");
        assert_eq!(text(row, "buyer_id"), None, "detached");
        assert_eq!(&row.try_get::<String>("", "snapshot").expect("snapshot"), snapshot);
    }

    // The unpaid order was cancelled through the shop: the seat is free, the intent cancelled.
    assert_eq!(seats_left(&app, &session).await, 1);
    assert_eq!(stripe.payment_intent(&intent).expect("intent")["status"], "canceled");
    // The document files are gone from disk.
    for b in &blobs {
        assert!(!b.exists(), "{} is still on disk", b.display());
    }
    // The suppression list knows the address by its keyed hash only.
    let lea_row = rows(&app, "SELECT tenant_id FROM data_subject_requests").await;
    let tenant_id: Uuid = lea_row[0].try_get("", "tenant_id").expect("tenant");
    let suppressed = pupitre::domain::privacy::suppression::is_suppressed(
        app.services(),
        tenant_id,
        demo::LEARNER,
    )
    .await
    .expect("lookup");
    assert!(suppressed, "she is never mailed marketing again");
    let list = rows(&app, "SELECT email_hash, reason FROM marketing_suppressions").await;
    assert!(list.iter().all(|r| !text(r, "email_hash").unwrap_or_default().contains('@')));
    // Her audit entries now name a pseudonym; what remains under her id is the erasure itself.
    let audit = rows(&app, "SELECT actor_id, subject_id, action FROM audit_log").await;
    let mine: HashSet<String> = audit
        .iter()
        .filter(|r| {
            text(r, "actor_id").as_deref() == Some(lea.as_str())
                || text(r, "subject_id").as_deref() == Some(lea.as_str())
        })
        .map(|r| r.try_get::<String>("", "action").expect("action"))
        .collect();
    let allowed: HashSet<String> =
        ["erasure.pseudonymised", "dsr.erased", "dsr.completed"].map(str::to_owned).into();
    assert!(mine.is_subset(&allowed), "left under her id: {mine:?}");
    assert!(table(report, "audit_log")["rows"].as_i64().expect("n") > 3, "{report}");
}

/// A trigger makes deleting applications fail until it is dropped.
async fn arrange_failure(app: &TestApp) {
    if app.backend == "postgres" {
        app.execute("CREATE FUNCTION arranged_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'arranged failure'; END $$ LANGUAGE plpgsql").await;
        app.execute("CREATE TRIGGER arranged_failure BEFORE DELETE ON eo_applications FOR EACH ROW EXECUTE FUNCTION arranged_failure()").await;
    } else {
        app.execute("CREATE TRIGGER arranged_failure BEFORE DELETE ON eo_applications BEGIN SELECT RAISE(ABORT, 'arranged failure'); END").await;
    }
}

async fn repair(app: &TestApp) {
    if app.backend == "postgres" {
        app.execute("DROP TRIGGER arranged_failure ON eo_applications").await;
    } else {
        app.execute("DROP TRIGGER arranged_failure").await;
    }
}

async fn an_interrupted_erasure_resumes_where_it_stopped_and_completes(app: TestApp) {
    // Arrange: Hugo (demo: an enrollment with progress, three applications with documents).
    let hugo_token = app.token(demo::LEARNER2).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let dpo = app.token(demo::DPO).await;
    arrange_failure(&app).await;

    // Act: the erasure stops at the applications.
    let id = request(&app, &hugo_token, "ERASURE").await;
    let stopped = carry_out(&app, &dpo, &id).await;

    // Assert: in progress, the step failed visibly, the tables before it are done (once).
    assert_eq!(stopped["status"], "IN_PROGRESS", "{stopped}");
    assert_eq!(stopped["failedSteps"][0]["name"], "erase");
    let error = stopped["failedSteps"][0]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("arranged failure"), "{error}");
    let partial = &stopped["erasureReport"];
    assert!(partial["finishedAt"].is_null());
    let done_before: Vec<String> = partial["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().expect("name").to_owned())
        .collect();
    assert!(done_before.contains(&"eo_documents".to_owned()), "{done_before:?}");
    assert!(!done_before.contains(&"eo_applications".to_owned()));
    assert!(!done_before.contains(&"users".to_owned()), "the account comes last");
    assert_eq!(
        app.login_answer(demo::LEARNER2).await.first_code().as_deref(),
        Some("UNAUTHENTICATED"),
        "log-in is closed from the start"
    );
    let queue = app
        .gql(Some(&dpo), "{ dataSubjectRequests(status: IN_PROGRESS) { edges { node { id failedSteps { name } } } } }", Value::Null)
        .await;
    let edges = queue.assert_ok()["dataSubjectRequests"]["edges"].clone();
    assert!(
        edges
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["node"]["id"] == id.as_str()
                && e["node"]["failedSteps"][0]["name"] == "erase"),
        "the queue shows it: {edges}"
    );

    // The fault is repaired; the background job resumes after the backoff.
    repair(&app).await;
    app.clock.advance_secs(61);
    pupitre::jobs::run_once(app.services()).await;
    let done = read(&app, &dpo, &id).await;
    assert_eq!(done["status"], "DONE", "{done}");
    let report = &done["erasureReport"];
    assert!(report["finishedAt"].is_string());
    assert_eq!(report["scan"]["passed"], true, "{report}");
    let names: Vec<&str> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().expect("name"))
        .collect();
    let unique: HashSet<&&str> = names.iter().collect();
    assert_eq!(names.len(), unique.len(), "each table once: {names:?}");
    assert_eq!(names.len(), pupitre::policy::registry::TABLES.len());
    assert_eq!(table(report, "eo_applications")["outcome"], "ERASED");
    assert_eq!(done["steps"][0]["attempts"], 1, "one failure counted");
    let left = rows(&app, "SELECT applicant_id FROM eo_applications").await;
    assert!(left.iter().all(|r| text(r, "applicant_id").as_deref() != Some(hugo.as_str())));
}

async fn a_leftover_found_by_the_final_scan_fails_the_step_until_it_is_gone(app: TestApp) {
    // Arrange: Hugo's own request mentions Léa by name and phone (her data in his row).
    let hugo = app.token(demo::LEARNER2).await;
    let lea = app.token(demo::LEARNER).await;
    let dpo = app.token(demo::DPO).await;
    app.gql(
        Some(&hugo),
        "mutation($input: RequestDataSubjectRightInput!) { requestDataSubjectRight(input: $input) { request { id } } }",
        json!({ "input": { "kind": "ACCESS", "password": DEMO_PASSWORD, "details": "Also what you hold about my friend Léa Martin (+33612345001)." } }),
    )
    .await
    .assert_ok();

    // Act
    let id = request(&app, &lea, "ERASURE").await;
    let failed = carry_out(&app, &dpo, &id).await;

    // Assert: the step fails, naming the table and column (never the value); the account row
    // is not anonymised yet (its transaction was rolled back with the scan).
    assert_eq!(failed["status"], "IN_PROGRESS", "{failed}");
    let error = failed["failedSteps"][0]["lastError"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("data_subject_requests.details"), "{error}");
    assert!(!error.contains("Léa") && !error.contains("+336"), "no value in the error: {error}");
    let scan = &failed["erasureReport"]["scan"];
    assert_eq!(scan["passed"], false);
    assert!(
        scan["hits"].as_array().expect("hits").iter().any(|h| h["table"]
            == "data_subject_requests"
            && h["column"] == "details"
            && h["keptRows"] == 0
            && h["organisationRecord"] == false),
        "{scan}"
    );
    assert!(failed["erasureReport"]["finishedAt"].is_null());
    assert!(
        !failed["erasureReport"]["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .any(|t| t["table"] == "users")
    );

    // The officer has the mention removed (here directly); the retry completes.
    app.execute("UPDATE data_subject_requests SET details = 'Also about a friend (removed).' WHERE kind = 'access'").await;
    app.clock.advance_secs(61);
    pupitre::jobs::run_once(app.services()).await;
    let done = read(&app, &dpo, &id).await;
    assert_eq!(done["status"], "DONE", "{done}");
    assert_eq!(done["erasureReport"]["scan"]["passed"], true);
}

async fn the_append_only_tables_let_through_only_the_pseudonymisation_gate(app: TestApp) {
    let lea: Uuid = app.user_id(demo::LEARNER).await.parse().expect("id");
    let hugo: Uuid = app.user_id(demo::LEARNER2).await.parse().expect("id");
    let conn = db(&app).await;
    let backend = conn.get_database_backend();
    let p = |n: usize| {
        if backend == sea_orm::DatabaseBackend::Postgres { format!("${n}") } else { "?".into() }
    };
    let tenant: Uuid =
        rows(&app, "SELECT id FROM tenants").await[0].try_get("", "id").expect("tenant");
    let pseudonym = Uuid::new_v4();

    // Outside the gate: every UPDATE and DELETE is refused, as before.
    for sql in [
        "UPDATE audit_log SET action = 'tampered'",
        "UPDATE audit_log SET actor_id = NULL",
        "DELETE FROM audit_log",
        "UPDATE consent_records SET granted = NOT granted",
        "UPDATE consent_records SET subject_user_id = NULL",
        "DELETE FROM consent_records",
    ] {
        let r = app.try_execute(sql).await;
        assert!(r.as_ref().is_err_and(|e| e.contains("append-only")), "{sql}: {r:?}");
    }
    let stmt = |sql: String, values: Vec<sea_orm::Value>| {
        Statement::from_sql_and_values(backend, sql, values)
    };
    let reference_to_pseudonym = stmt(
        format!("UPDATE audit_log SET actor_id = {} WHERE actor_id = {}", p(1), p(2)),
        vec![pseudonym.into(), lea.into()],
    );
    let without_gate = conn.execute_raw(reference_to_pseudonym.clone()).await;
    assert!(without_gate.is_err(), "no gate, no rewrite");

    // Through the gate (a row for Léa and her pseudonym, in this transaction only).
    let gate_row = || {
        stmt(
            format!(
                "INSERT INTO erasure_gate (id, tenant_id, person_id, pseudonym, opened_at) VALUES ({}, {}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            ),
            vec![
                Uuid::now_v7().into(),
                tenant.into(),
                lea.into(),
                pseudonym.into(),
                chrono::Utc::now().into(),
            ],
        )
    };
    let txn = conn.begin().await.expect("begin");
    txn.execute_raw(gate_row()).await.expect("gate opened");
    let n = txn.execute_raw(reference_to_pseudonym.clone()).await.expect("the rewrite passes");
    assert!(n.rows_affected() > 0);
    txn.rollback().await.expect("rollback");
    for (what, sql, values) in [
        (
            "another column",
            format!("UPDATE audit_log SET action = 'tampered' WHERE actor_id = {}", p(1)),
            vec![lea.into()],
        ),
        (
            "another person's reference",
            format!("UPDATE audit_log SET actor_id = {} WHERE actor_id = {}", p(1), p(2)),
            vec![pseudonym.into(), hugo.into()],
        ),
        (
            "to another value",
            format!("UPDATE audit_log SET actor_id = {} WHERE actor_id = {}", p(1), p(2)),
            vec![Uuid::new_v4().into(), lea.into()],
        ),
        ("a delete", format!("DELETE FROM audit_log WHERE actor_id = {}", p(1)), vec![lea.into()]),
        (
            "a consent's grant",
            format!(
                "UPDATE consent_records SET granted = NOT granted WHERE subject_user_id = {}",
                p(1)
            ),
            vec![lea.into()],
        ),
    ] {
        let txn = conn.begin().await.expect("begin");
        txn.execute_raw(gate_row()).await.expect("gate opened");
        let r = txn.execute_raw(stmt(sql, values)).await;
        assert!(r.is_err(), "{what} must be refused even with the gate open");
        txn.rollback().await.expect("rollback");
    }
    if backend == sea_orm::DatabaseBackend::Postgres {
        // A transaction that leaves its gate row behind cannot commit.
        let txn = conn.begin().await.expect("begin");
        txn.execute_raw(gate_row()).await.expect("gate opened");
        assert!(txn.commit().await.is_err(), "the gate must be closed before commit");
    }
    assert_eq!(app.count("erasure_gate").await, 0);
}

async fn an_objection_puts_the_address_on_the_suppression_list_as_a_keyed_hash(app: TestApp) {
    let hugo = app.token(demo::LEARNER2).await;
    let dpo = app.token(demo::DPO).await;
    let tenant: Uuid =
        rows(&app, "SELECT id FROM tenants").await[0].try_get("", "id").expect("tenant");
    let is = |email: &'static str| {
        pupitre::domain::privacy::suppression::is_suppressed(app.services(), tenant, email)
    };
    assert!(!is(demo::LEARNER2).await.expect("lookup"));
    let id = request(&app, &hugo, "OBJECTION").await;
    assert_eq!(carry_out(&app, &dpo, &id).await["status"], "DONE");
    assert!(is(demo::LEARNER2).await.expect("lookup"), "suppressed");
    assert!(is("  HUGO.Bernard@demo.pupitre.test ").await.expect("lookup"), "normalised");
    assert!(!is(demo::LEARNER).await.expect("lookup"), "nobody else");
    let list = rows(&app, "SELECT email_hash, reason FROM marketing_suppressions").await;
    assert_eq!(list.len(), 1);
    assert_eq!(text(&list[0], "reason").as_deref(), Some("objection"));
    let hash = text(&list[0], "email_hash").expect("hash");
    assert!(!hash.contains('@') && !hash.contains("hugo"), "never the address");
}

#[tokio::test]
async fn every_kept_table_has_an_id_so_the_scan_can_tell_kept_rows() {
    use pupitre::policy::registry::{Erasure, TABLES};
    let app = TestApp::sqlite().await;
    let conn = db(&app).await;
    let live = pupitre::domain::privacy::schema::live_schema(&conn).await.expect("schema");
    for t in TABLES.iter().filter(|t| matches!(t.erasure, Erasure::Keep(_))) {
        let cols = live.tables.get(t.name).expect("the table exists");
        assert!(cols.iter().any(|c| c.name == "id"), "{} is kept but has no id", t.name);
    }
}

on_both_databases!(
    an_interrupted_erasure_resumes_where_it_stopped_and_completes,
    a_leftover_found_by_the_final_scan_fails_the_step_until_it_is_gone,
    the_append_only_tables_let_through_only_the_pseudonymisation_gate,
    an_objection_puts_the_address_on_the_suppression_list_as_a_keyed_hash,
);

mod paying {
    use super::*;
    with_stripe_on_both_databases!(an_erased_learner_leaves_nothing_personal_outside_the_rows_kept);
}
