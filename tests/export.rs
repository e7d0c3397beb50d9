//! Access and portability exports end to end, on SQLite and PostgreSQL: a learner with orders,
//! invoices, enrollments, progress, an application with documents, consents and audit entries
//! asks for her data; the export holds every registered row about her (compared, table by
//! table, with a direct query of the registry's owner columns), nothing about anyone else (no
//! other person's e-mail, name or id anywhere in the ZIP; staff and the instructor by display
//! name only), her documents decrypted to the bytes she uploaded, a `data.json` valid against
//! `docs/export.schema.json` and an `index.html` in her language. Then who may download (the
//! subject, the guardian, the privacy officer; not support, another learner or anonymous), the
//! link's expiry, a failed build retried, and the export deleted with its file after 7 days.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::{DEMO_PASSWORD, TestApp, demo};
use pupitre::policy::registry::{self, Holds, Table};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

const REQUEST: &str = "id status steps { name status lastError } export { id createdAt expiresAt sizeBytes downloadLink { url expiresAt } }";

/// The subject (or their guardian, with `subject`) asks for `kind`; the privacy officer starts
/// and completes it. Returns the request as the officer sees it afterwards.
async fn requested_and_completed(
    app: &TestApp,
    asker: &str,
    subject: Option<&str>,
    kind: &str,
) -> Value {
    let id = requested_and_started(app, asker, subject, kind).await;
    completed(app, &id).await
}

/// The request made and started; its id.
async fn requested_and_started(
    app: &TestApp,
    asker: &str,
    subject: Option<&str>,
    kind: &str,
) -> String {
    let mut input = json!({ "kind": kind, "password": DEMO_PASSWORD });
    if let Some(s) = subject {
        input["subjectId"] = json!(s);
    }
    let r = app
        .gql(
            Some(asker),
            "mutation($input: RequestDataSubjectRightInput!) { requestDataSubjectRight(input: $input) { request { id } } }",
            json!({ "input": input }),
        )
        .await;
    let id = r.assert_ok()["requestDataSubjectRight"]["request"]["id"]
        .as_str()
        .expect("request id")
        .to_owned();
    let dpo = app.token(demo::DPO).await;
    app.gql(
        Some(&dpo),
        "mutation($id: ID!) { startDataSubjectRequest(input: {requestId: $id}) { request { id } } }",
        json!({ "id": id }),
    )
    .await
    .assert_ok();
    id
}

/// The privacy officer completes the request; it as they see it afterwards.
async fn completed(app: &TestApp, id: &str) -> Value {
    let dpo = app.token(demo::DPO).await;
    let done = app
        .gql(
            Some(&dpo),
            &format!("mutation($id: ID!) {{ completeDataSubjectRequest(input: {{requestId: $id, outcome: \"Your export is ready.\"}}) {{ request {{ {REQUEST} }} }} }}"),
            json!({ "id": id }),
        )
        .await;
    done.assert_ok()["completeDataSubjectRequest"]["request"].clone()
}

/// The request as `token` reads it.
async fn read(app: &TestApp, token: Option<&str>, id: &str) -> common::Gql {
    app.gql(
        token,
        &format!("query($id: ID!) {{ dataSubjectRequest(id: $id) {{ {REQUEST} }} }}"),
        json!({ "id": id }),
    )
    .await
}

/// A fresh download link for `token`.
async fn link(app: &TestApp, token: &str, request: &str) -> String {
    let r = read(app, Some(token), request).await;
    r.assert_ok()["dataSubjectRequest"]["export"]["downloadLink"]["url"]
        .as_str()
        .expect("a download link")
        .to_owned()
}

/// GET `url` without a bearer token: status and body.
async fn get(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let res = app.client.get(app.url(url)).send().await.expect("request sent");
    let status = res.status().as_u16();
    (status, res.bytes().await.expect("body").to_vec())
}

/// Every file of a ZIP, by name.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let mut out = Vec::new();
            f.read_to_end(&mut out).expect("entry content");
            (f.name().expect("a UTF-8 name").to_string(), out)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    files.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice()).expect(name)
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

// ---------------------------------------------------------------------------------------------
// The registry, asked directly: which rows of a table are about a person.
// ---------------------------------------------------------------------------------------------

fn literal(backend: DatabaseBackend, id: &uuid::Uuid) -> String {
    match backend {
        DatabaseBackend::Sqlite => format!("X'{}'", id.simple()),
        _ => format!("'{id}'"),
    }
}

/// `table` rows whose owner columns hold `person`, or that belong to such rows.
fn owned(table: &Table, alias: &str, person: &str, depth: usize) -> String {
    let mut parts = Vec::new();
    for c in table.columns {
        match c.holds {
            Holds::Owner => parts.push(format!("{alias}.{} = {person}", c.name)),
            Holds::OwnerVia { table: via } => {
                let inner = format!("v{depth}");
                let target = registry::table(via).expect("a registered table");
                parts.push(format!(
                    "{alias}.{} IN (SELECT {inner}.id FROM {via} {inner} WHERE {})",
                    c.name,
                    owned(target, &inner, person, depth + 1)
                ));
            }
            _ => {}
        }
    }
    assert!(!parts.is_empty(), "{} is exported but has no owner column", table.name);
    format!("({})", parts.join(" OR "))
}

/// A key value as text (ids compared as UUIDs: SQLite stores them as blobs).
fn text_of(row: &sea_orm::QueryResult, col: &str) -> String {
    if let Ok(Some(u)) = row.try_get::<Option<uuid::Uuid>>("", col) {
        return u.to_string();
    }
    if let Ok(Some(s)) = row.try_get::<Option<String>>("", col) {
        return s;
    }
    row.try_get::<Option<i64>>("", col).ok().flatten().map(|n| n.to_string()).unwrap_or_default()
}

/// The keys (`a|b`) of every row of `table` about `person`, by a direct query.
async fn keys_in_database(
    app: &TestApp,
    table: &Table,
    key: &[String],
    person: &str,
) -> BTreeSet<String> {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let backend = conn.get_database_backend();
    let person = literal(backend, &person.parse().expect("a user id"));
    let sql = format!(
        "SELECT {} FROM {} t WHERE {}",
        key.iter().map(|k| format!("t.{k} AS {k}")).collect::<Vec<_>>().join(", "),
        table.name,
        owned(table, "t", &person, 0)
    );
    conn.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("query")
        .iter()
        .map(|r| key.iter().map(|k| text_of(r, k)).collect::<Vec<_>>().join("|"))
        .collect()
}

fn key_of(row: &Value, key: &[String]) -> String {
    key.iter()
        .map(|k| match &row[k] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// The primary key columns of `table`, from the database's catalogue.
async fn primary_key(app: &TestApp, table: &str) -> Vec<String> {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Sqlite => {
            format!("SELECT name AS c FROM pragma_table_info('{table}') WHERE pk > 0 ORDER BY pk")
        }
        _ => format!(
            "SELECT a.attname::text AS c FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = '{table}'::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)"
        ),
    };
    conn.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("primary key")
        .iter()
        .map(|r| r.try_get::<String>("", "c").expect("column"))
        .collect()
}

/// Validates `data` against the checked-in JSON Schema.
fn assert_valid(data: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/export.schema.json"))
            .expect("docs/export.schema.json"),
    )
    .expect("the schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("export.schema.json", schema).expect("schema resource");
    let index = compiler.compile("export.schema.json", &mut schemas).expect("the schema compiles");
    if let Err(e) = schemas.validate(data, index) {
        panic!("data.json does not follow docs/export.schema.json: {e:#}");
    }
}

/// The public name the export gives another person (display name, else "First L.").
async fn public_name(app: &TestApp, email: &str) -> String {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT first_name, last_name, display_name FROM users WHERE email = '{email}'"
            ),
        ))
        .await
        .expect("query")
        .expect("the user");
    let display: Option<String> = row.try_get("", "display_name").expect("display_name");
    let first: String = row.try_get("", "first_name").expect("first");
    let last: String = row.try_get("", "last_name").expect("last");
    display.unwrap_or_else(|| format!("{first} {}.", last.chars().next().unwrap_or('?')))
}

async fn full_name(app: &TestApp, email: &str) -> (String, String) {
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT first_name, last_name FROM users WHERE email = '{email}'"),
        ))
        .await
        .expect("query")
        .expect("the user");
    (row.try_get("", "first_name").expect("first"), row.try_get("", "last_name").expect("last"))
}

// ---------------------------------------------------------------------------------------------

async fn the_export_holds_every_registered_row_about_the_learner_and_nothing_about_others(
    app: TestApp,
) {
    let lea_token = app.token(demo::LEARNER).await;
    let lea = app.user_id(demo::LEARNER).await;
    // Staff read her data (audited): support her phone, the instructor her e-mail.
    for staff in [demo::SUPPORT, demo::INSTRUCTOR] {
        let t = app.token(staff).await;
        let r = app
            .gql(
                Some(&t),
                "query($id: ID!) { user(id: $id) { email phone } }",
                json!({ "id": lea }),
            )
            .await;
        assert!(r.data()["user"]["email"].is_string(), "{staff} reads her e-mail: {}", r.body);
    }
    let id = requested_and_started(&app, &lea_token, None, "ACCESS").await;
    // What the database holds about her before the export is built, and after it is downloaded
    // (building, closing and downloading add audit entries and a receipt about her).
    let exported: Vec<&Table> = registry::TABLES.iter().filter(|t| t.export).collect();
    let mut before = Vec::new();
    for t in &exported {
        before.push(keys_in_database(&app, t, &primary_key(&app, t.name).await, &lea).await);
    }
    let req = completed(&app, &id).await;
    assert_eq!(req["status"], "DONE", "{req}");
    assert_eq!(req["steps"][0]["name"], "export");
    assert_eq!(req["steps"][0]["status"], "DONE");
    let export = &req["export"];
    let url = link(&app, &lea_token, req["id"].as_str().expect("id")).await;
    let (status, zip) = get(&app, &url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&zip));
    assert_eq!(zip.len() as i64, export["sizeBytes"].as_i64().expect("size"));
    let files = unzip(&zip);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["data.json", "index.html"]);

    let data: Value = serde_json::from_slice(file(&files, "data.json")).expect("data.json is JSON");
    assert_valid(&data);
    assert_eq!(data["subject"]["id"], lea.as_str());

    // Every exported table of the registry, and in each exactly the rows about her.
    let tables = data["tables"].as_array().expect("tables");
    assert_eq!(
        tables.iter().map(|t| t["name"].as_str().expect("name")).collect::<Vec<_>>(),
        exported.iter().map(|t| t.name).collect::<Vec<_>>(),
        "one entry per exported table, in registry order"
    );
    for ((t, entry), before) in exported.iter().zip(tables).zip(&before) {
        let key: Vec<String> = entry["key"]
            .as_array()
            .expect("key")
            .iter()
            .map(|k| k.as_str().expect("k").to_owned())
            .collect();
        assert_eq!(
            key,
            primary_key(&app, t.name).await,
            "{}: rows are named by their primary key",
            t.name
        );
        let rows = entry["rows"].as_array().expect("rows");
        assert_eq!(entry["rowCount"].as_u64(), Some(rows.len() as u64), "{}", t.name);
        let in_export: BTreeSet<String> = rows.iter().map(|r| key_of(r, &key)).collect();
        assert_eq!(in_export.len(), rows.len(), "{}: no row twice", t.name);
        let after = keys_in_database(&app, t, &key, &lea).await;
        let missing: Vec<_> = before.difference(&in_export).collect();
        assert!(
            missing.is_empty(),
            "{}: rows about her missing from the export: {missing:?}",
            t.name
        );
        let foreign: Vec<_> = in_export.difference(&after).collect();
        assert!(foreign.is_empty(), "{}: rows not about her in the export: {foreign:?}", t.name);
        // No secret column is written.
        for c in t.columns.iter().filter(|c| c.holds == Holds::Secret) {
            assert!(
                rows.iter().all(|r| r.get(c.name).is_none()),
                "{}.{} is a secret",
                t.name,
                c.name
            );
        }
    }
    let count = |name: &str| {
        tables.iter().find(|t| t["name"] == name).and_then(|t| t["rowCount"].as_u64()).unwrap_or(0)
    };
    for name in [
        "users",
        "orders",
        "order_lines",
        "invoices",
        "enrollments",
        "lesson_completions",
        "live_class_attendance",
        "eo_applications",
        "eo_documents",
        "consent_records",
        "audit_log",
        "data_subject_requests",
        "data_subject_request_steps",
    ] {
        assert!(count(name) > 0, "her {name} are exported");
    }

    // Her documents, decrypted, byte for byte.
    let docs = data["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), 2, "{docs:?}");
    for d in docs {
        let bytes = file(&files, d["file"].as_str().expect("file"));
        let sample = std::fs::read(format!(
            "{}/seed/documents/{}",
            env!("CARGO_MANIFEST_DIR"),
            d["originalName"].as_str().expect("name")
        ))
        .expect("the uploaded sample");
        assert_eq!(bytes, sample.as_slice(), "{d}");
        assert_eq!(d["sizeBytes"].as_u64(), Some(sample.len() as u64));
    }

    // Nothing about anyone else, anywhere in the archive; staff by public name only.
    let everything: Vec<u8> = files.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let text = String::from_utf8_lossy(&everything);
    for other in [demo::LEARNER2, demo::INSTRUCTOR, demo::SUPPORT, demo::DPO, demo::REVIEWER] {
        // The organisation's published data-protection contact is named once in each file (the
        // controller's contact is part of the answer, art. 15(1) and 13(1)(b)); nowhere else.
        let allowed = if data["controller"]["dpoEmail"] == other { 2 } else { 0 };
        assert_eq!(text.matches(other).count(), allowed, "{other}'s e-mail is in her export");
        let id = app.user_id(other).await;
        assert!(!text.contains(&id), "{other}'s id is in her export");
        let (first, last) = full_name(&app, other).await;
        assert!(!text.contains(&format!("{first} {last}")), "{other}'s full name is in her export");
        assert!(!text.contains(&last), "{other}'s last name ({last}) is in her export");
    }
    for staff in [demo::INSTRUCTOR, demo::SUPPORT] {
        let name = public_name(&app, staff).await;
        let shown = json!({ "displayName": name }).to_string();
        assert!(
            file_text(&files, "data.json").contains(&shown),
            "{staff} appears by public name ({name}) in her access log"
        );
    }

    // The page for her to read: in French, with the purposes, retention and recipients.
    let html = file_text(&files, "index.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"fr\">"), "her locale is French");
    for words in ["Finalités", "Durée de conservation", "Destinataires", "Stripe", "Léa"] {
        assert!(html.contains(words), "index.html says {words}");
    }
    assert!(!html.contains("<script"), "no script");

    // The download was audited; the request shows the export until it expires.
    assert_eq!(audit_count(&app, "export.downloaded").await, 1);
    assert_eq!(audit_count(&app, "dsr.export_built").await, 1);
}

fn file_text(files: &[(String, Vec<u8>)], name: &str) -> String {
    String::from_utf8(file(files, name).to_vec()).expect("UTF-8")
}

async fn downloads_are_for_the_subject_the_guardian_and_the_privacy_officer_only(app: TestApp) {
    let claire = app.token(demo::GUARDIAN).await;
    let tom_token = app.token(demo::MINOR).await;
    let dpo = app.token(demo::DPO).await;
    let tom = app.user_id(demo::MINOR).await;
    let req = requested_and_completed(&app, &claire, Some(&tom), "PORTABILITY").await;
    let id = req["id"].as_str().expect("id").to_owned();
    assert_eq!(req["status"], "DONE", "{req}");

    let mut downloads = 0;
    for (who, token) in
        [("the minor", &tom_token), ("the guardian", &claire), ("the privacy officer", &dpo)]
    {
        let url = link(&app, token, &id).await;
        let (status, body) = get(&app, &url).await;
        assert_eq!(status, 200, "{who}");
        downloads += 1;
        let data: Value =
            serde_json::from_slice(file(&unzip(&body), "data.json")).expect("data.json");
        assert_eq!(data["subject"]["id"], tom.as_str(), "{who}");
    }
    assert_eq!(audit_count(&app, "export.downloaded").await, downloads);

    for who in [demo::SUPPORT, demo::LEARNER, demo::INSTRUCTOR, demo::ADMIN, demo::BILLING] {
        let t = app.token(who).await;
        let r = read(&app, Some(&t), &id).await;
        assert_eq!(
            r.code_at("dataSubjectRequest.export").as_deref(),
            Some("FORBIDDEN"),
            "{who}: {}",
            r.body
        );
    }
    let anonymous = read(&app, None, &id).await;
    assert!(anonymous.data()["dataSubjectRequest"].is_null(), "{}", anonymous.body);
    assert!(!anonymous.errors().is_empty());

    // The route without a good link: 404, whoever asks.
    let url = link(&app, &tom_token, &id).await;
    let (path, token) = url.split_once("?token=").expect("a token");
    let support = app.token(demo::SUPPORT).await;
    for bad in [
        path.to_owned(),
        format!("{path}?token="),
        format!("{path}?token=garbage.garbage"),
        format!("{path}?token={}x", token),
        format!("/exports/{}?token={token}", uuid::Uuid::now_v7()),
    ] {
        let (status, _) = get(&app, &bad).await;
        assert_eq!(status, 404, "{bad}");
        let res = app.client.get(app.url(&bad)).bearer_auth(&support).send().await.expect("sent");
        assert_eq!(res.status().as_u16(), 404, "support with {bad}");
    }
    assert_eq!(
        audit_count(&app, "export.downloaded").await,
        downloads,
        "refusals leave no trace of a download"
    );

    // A link stops working when the session it was made in ends…
    let tom_again = app.token(demo::MINOR).await;
    let fresh = link(&app, &tom_again, &id).await;
    app.gql(Some(&tom_again), "mutation { logout(input: {}) { revokedSessions } }", json!({}))
        .await
        .assert_ok();
    assert_eq!(get(&app, &fresh).await.0, 404, "logged out");
    // …and for a guardian who is a guardian no more.
    let claire_again = app.token(demo::GUARDIAN).await;
    let guardian_link = link(&app, &claire_again, &id).await;
    let claire_id = app.user_id(demo::GUARDIAN).await;
    let support = app.token(demo::SUPPORT).await;
    app.gql(
        Some(&support),
        "mutation($g: ID!, $m: ID!) { unlinkGuardian(input: {guardianId: $g, minorId: $m}) { guardian { id } } }",
        json!({ "g": claire_id, "m": tom }),
    )
    .await
    .assert_ok();
    assert_eq!(get(&app, &guardian_link).await.0, 404, "guardianship ended");
    // …and after 15 minutes (the officer's link works until then).
    let officer_link = link(&app, &dpo, &id).await;
    app.clock.advance_secs(15 * 60 - 1);
    assert_eq!(get(&app, &officer_link).await.0, 200, "still valid");
    app.clock.advance_secs(2);
    assert_eq!(get(&app, &officer_link).await.0, 404, "expired link");
}

/// Files under `exports/` in the server's document store.
fn export_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.documents.path().join("exports"), &mut out);
    out
}

async fn an_export_is_deleted_with_its_file_after_seven_days(app: TestApp) {
    let lea_token = app.token(demo::LEARNER).await;
    let dpo = app.token(demo::DPO).await;
    let req = requested_and_completed(&app, &lea_token, None, "PORTABILITY").await;
    let id = req["id"].as_str().expect("id").to_owned();
    assert_eq!(app.count("data_exports").await, 1);
    let files = export_files(&app);
    assert_eq!(files.len(), 1, "{files:?}");
    // The file at rest is sealed: nothing of her data or documents reads in it.
    let at_rest = std::fs::read(&files[0]).expect("the file");
    assert!(at_rest.starts_with(b"PUPX"));
    assert!(!String::from_utf8_lossy(&at_rest).contains("Martin"));
    let url = link(&app, &lea_token, &id).await;

    // Six days on, nothing goes.
    app.clock.advance_secs(6 * 86_400);
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(app.count("data_exports").await, 1);
    // Seven days and a minute: file and row go, with an audit record; the request shows none.
    app.clock.advance_secs(86_400 + 60);
    let report = pupitre::domain::privacy::export::delete_expired(app.services(), 100)
        .await
        .expect("expiry runs");
    assert_eq!(report.deleted, 1);
    assert_eq!(app.count("data_exports").await, 0);
    assert!(export_files(&app).is_empty(), "the file is deleted");
    assert_eq!(audit_count(&app, "export.expired").await, 1);
    assert_eq!(get(&app, &url).await.0, 404);
    let r = read(&app, Some(&dpo), &id).await;
    assert!(r.assert_ok()["dataSubjectRequest"]["export"].is_null());
    // Running it again does nothing.
    let again = pupitre::domain::privacy::export::delete_expired(app.services(), 100)
        .await
        .expect("expiry runs");
    assert_eq!(again, Default::default());
}

async fn a_failed_build_is_retried_and_stores_one_export(app: TestApp) {
    // One of her documents is missing from the store: the build fails, and stores nothing.
    let docs = app.documents.path().join("documents");
    let tenant_dir =
        std::fs::read_dir(&docs).expect("documents").flatten().next().expect("a tenant").path();
    let lea = app.user_id(demo::LEARNER).await;
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT d.id AS id FROM eo_documents d JOIN eo_applications a ON a.id = d.application_id WHERE a.applicant_id = {}",
                literal(backend, &lea.parse().expect("id"))
            ),
        ))
        .await
        .expect("query")
        .expect("a document of hers");
    let doc: uuid::Uuid = row.try_get("", "id").expect("id");
    let blob = tenant_dir.join(doc.to_string());
    let aside = app.documents.path().join("aside");
    std::fs::rename(&blob, &aside).expect("move the blob aside");

    let lea_token = app.token(demo::LEARNER).await;
    let dpo = app.token(demo::DPO).await;
    let req = requested_and_completed(&app, &lea_token, None, "ACCESS").await;
    assert_eq!(req["status"], "IN_PROGRESS", "{req}");
    assert_eq!(req["steps"][0]["status"], "FAILED");
    assert!(req["export"].is_null());
    assert_eq!(app.count("data_exports").await, 0);
    assert!(
        export_files(&app).is_empty(),
        "a failed build leaves no file: {:?}",
        export_files(&app)
    );

    // Repaired, the background job carries it on after the backoff.
    std::fs::rename(&aside, &blob).expect("put the blob back");
    app.clock.advance_secs(61);
    pupitre::jobs::run_once(app.services()).await;
    let r = read(&app, Some(&dpo), req["id"].as_str().expect("id")).await;
    let done = r.assert_ok()["dataSubjectRequest"].clone();
    assert_eq!(done["status"], "DONE", "{done}");
    assert_eq!(app.count("data_exports").await, 1);
    assert_eq!(export_files(&app).len(), 1);
    // Nothing is left to do: a second round builds nothing more.
    app.clock.advance_secs(3600);
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(app.count("data_exports").await, 1);
    assert_eq!(export_files(&app).len(), 1);
}

/// Sessions that outlive the clock jumps of these tests (a week and more).
fn long_sessions(s: &mut pupitre::config::Settings) {
    s.refresh_token_ttl_secs = 400 * 86_400;
}

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
    the_export_holds_every_registered_row_about_the_learner_and_nothing_about_others,
    downloads_are_for_the_subject_the_guardian_and_the_privacy_officer_only,
    an_export_is_deleted_with_its_file_after_seven_days,
    a_failed_build_is_retried_and_stores_one_export,
);
