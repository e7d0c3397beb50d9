//! Tenants as customers of the platform (issue 14): the operator's export and offboarding of a
//! whole tenant, on both databases. The demo tenant ("A": accounts, orders, invoices, audit log,
//! consent ledger, supporting documents) is offboarded while a second tenant ("B") goes on.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]
mod common;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use common::TestApp;
use pupitre::domain::platform;
use pupitre::domain::platform::export::{ExportSummary, Progress};
use pupitre::domain::platform::offboard::{Offboarded, offboard};
use pupitre::domain::retention::{self, Origin, Silent, SweepOptions};
use pupitre::domain::types::{Email, Slug};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Counts what the commands report, as the progress bar does.
#[derive(Default)]
struct Seen(std::sync::Mutex<(u64, u64)>);

impl Progress for Seen {
    fn start(&self, _what: &str, total: u64) {
        self.0.lock().expect("lock").0 += total;
    }
    fn advanced(&self, n: u64) {
        self.0.lock().expect("lock").1 += n;
    }
}

async fn second_tenant(app: &TestApp) -> uuid::Uuid {
    let b = common::second_tenant(app).await;
    let reg = "mutation { register(input: {email: \"max@ecole-b.example\", password: \"a long enough passphrase\", firstName: \"Max\", lastName: \"Bé\", acceptedPolicyVersion: \"v1\"}) { user { id } } }";
    app.gql_with(None, &[("x-pupitre-tenant", "ecole-b")], reg, json!({})).await.assert_ok();
    b.id
}

/// Every table of the live schema with a `tenant_id` column → its rows of `tenant`.
async fn rows_by_table(app: &TestApp, tenant: uuid::Uuid) -> BTreeMap<String, i64> {
    let db = app.connect().await;
    let live = pupitre::domain::privacy::schema::live_schema(&db).await.expect("schema");
    let backend = db.get_database_backend();
    let mut out = BTreeMap::new();
    for (table, cols) in &live.tables {
        if !cols.iter().any(|c| c.name == "tenant_id") {
            continue;
        }
        let sql = match backend {
            sea_orm::DatabaseBackend::Sqlite => {
                format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE tenant_id = ?")
            }
            _ => format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE tenant_id = $1"),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [tenant.into()]))
            .await
            .expect("count")
            .expect("row");
        out.insert(table.clone(), row.try_get::<i64>("", "n").expect("n"));
    }
    out
}

/// Every text value of every table that contains `needle`, as `table.column`.
async fn text_hits(app: &TestApp, needle: &str) -> Vec<String> {
    let db = app.connect().await;
    let backend = db.get_database_backend();
    let tables = pupitre::domain::privacy::schema::column_info(&db).await.expect("columns");
    let mut hits = Vec::new();
    for (table, cols) in tables {
        for c in cols.iter().filter(|c| c.text) {
            let sql = match backend {
                sea_orm::DatabaseBackend::Sqlite => format!(
                    "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{}\" AS TEXT) LIKE ?",
                    c.name
                ),
                _ => format!(
                    "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{}\" AS TEXT) LIKE $1",
                    c.name
                ),
            };
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [format!("%{needle}%").into()],
                ))
                .await
                .expect("scan")
                .expect("row");
            if row.try_get::<i64>("", "n").expect("n") > 0 {
                hits.push(format!("{table}.{}", c.name));
            }
        }
    }
    hits
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

fn zip_file(archive: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Vec<u8> {
    let mut f = archive.by_name(name).unwrap_or_else(|_| panic!("{name} in the export"));
    let mut out = Vec::new();
    f.read_to_end(&mut out).expect("read");
    out
}

async fn offboarding_returns_the_data_then_leaves_nothing_of_the_tenant_and_b_intact(app: TestApp) {
    let a = app.services().tenants.by_slug("demo").await.expect("dir").expect("demo").id;
    let b = second_tenant(&app).await;
    let a_before = rows_by_table(&app, a).await;
    let b_before = rows_by_table(&app, b).await;
    for t in ["users", "audit_log", "consent_records", "eo_documents", "invoices", "orders"] {
        assert!(a_before[t] > 0, "the demo tenant has {t}: {a_before:?}");
    }
    assert!(b_before["users"] == 1 && b_before["privacy_policy_versions"] == 1, "{b_before:?}");
    let a_blobs = format!("documents/{a}");
    let blobs_before: Vec<String> =
        files_under(app.documents.path()).into_iter().filter(|f| f.contains(&a_blobs)).collect();
    assert_eq!(blobs_before.len() as i64, a_before["eo_documents"]);
    let learner = "lea.martin@demo.pupitre.test";
    assert!(!text_hits(&app, learner).await.is_empty(), "the scan finds what is there");

    let out = tempfile::tempdir().expect("tmp");
    let path = out.path().join("demo.zip");
    let slug = Slug::parse("slug", "demo").expect("slug");
    // The confirmation must repeat the slug: refused before anything changes.
    let refused = offboard(app.services(), &slug, "ecole-b", &path, &Seen::default()).await;
    assert!(
        matches!(refused, Err(pupitre::error::AppError::BadUserInput { ref field, .. }) if field == "confirm")
    );
    assert!(!path.exists());
    assert_eq!(rows_by_table(&app, a).await, a_before);

    let seen = Seen::default();
    let done = offboard(app.services(), &slug, "demo", &path, &seen).await.expect("offboard");
    let Offboarded::Done(report) = done else { panic!("offboarded now") };
    let (announced, advanced) = *seen.0.lock().expect("lock");
    assert!(announced > 0 && announced == advanced, "progress {announced}/{advanced}");

    // 1. The export holds the tenant: every table's rows, the documents decrypted, no secret.
    let summary: &ExportSummary = report.export.as_ref().expect("exported first");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).expect("zip")).expect("zip");
    let manifest: Value =
        serde_json::from_slice(&zip_file(&mut archive, "manifest.json")).expect("json");
    assert_eq!(manifest["format"], "pupitre-tenant-export/1");
    assert_eq!(manifest["organisation"]["slug"], "demo");
    for (table, n) in &a_before {
        let listed = manifest["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["name"] == table.as_str())
            .unwrap_or_else(|| panic!("{table} in the manifest"));
        assert_eq!(listed["rows"].as_i64(), Some(*n), "{table}");
        let rows: Vec<Value> =
            serde_json::from_slice(&zip_file(&mut archive, &format!("tables/{table}.json")))
                .expect("rows");
        assert_eq!(rows.len() as i64, *n, "{table}");
    }
    let users = String::from_utf8(zip_file(&mut archive, "tables/users.json")).expect("utf8");
    assert!(users.contains(learner));
    assert!(!users.contains("ecole-b.example"), "nothing of B");
    let names: Vec<String> =
        archive.file_names().map(|n| n.expect("a file name").into_owned()).collect();
    let all_tables: String = names
        .iter()
        .filter(|n| n.starts_with("tables/"))
        .map(|n| String::from_utf8(zip_file(&mut archive, n)).expect("utf8"))
        .collect();
    for secret in ["password_hash", "token_hash", "wrapped_key", "$argon2"] {
        assert!(!all_tables.contains(secret), "{secret} is never exported");
    }
    let docs: Vec<Value> =
        serde_json::from_slice(&zip_file(&mut archive, "tables/eo_documents.json")).expect("docs");
    assert_eq!(summary.documents as usize, docs.len());
    for d in &docs {
        let name = names
            .iter()
            .find(|n| n.starts_with(&format!("documents/{}.", d["id"].as_str().expect("id"))))
            .expect("the document's file");
        let plain = zip_file(&mut archive, name);
        let sha: String = Sha256::digest(&plain).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sha, d["sha256"].as_str().expect("sha"));
    }

    // 2. Nothing of A is left: no row in any table with a tenant column, no blob, no text.
    let a_after = rows_by_table(&app, a).await;
    assert!(a_after.values().all(|n| *n == 0), "{a_after:?}");
    for (table, n) in &report.deleted {
        match a_before.get(table) {
            Some(before) => assert_eq!(*n as i64, *before, "{table}"),
            None => assert!(table == "tenants" || table == "refresh_tokens", "{table}"),
        }
    }
    assert_eq!(report.deleted.len(), a_before.len() + 2, "every table, refresh tokens, the tenant");
    assert!(files_under(app.documents.path()).iter().all(|f| !f.contains(&a_blobs)));
    assert_eq!(report.blobs as i64, a_before["eo_documents"]);
    for needle in [learner, "dpo@demo.pupitre.test", "@demo.pupitre.test"] {
        assert_eq!(text_hits(&app, needle).await, Vec::<String>::new(), "{needle}");
    }
    assert!(app.services().tenants.by_slug("demo").await.expect("dir").is_none());
    let r = app
        .gql_with(
            None,
            &[("x-pupitre-tenant", "demo")],
            "{ courses(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.first_code().as_deref(), Some("NOT_FOUND"), "{:?}", r.body);

    // 3. B is untouched and answers.
    assert_eq!(rows_by_table(&app, b).await, b_before);
    let r = app
        .gql_with(None, &[("x-pupitre-tenant", "ecole-b")], "mutation { login(input: {email: \"max@ecole-b.example\", password: \"a long enough passphrase\"}) { accessToken } }", json!({}))
        .await;
    r.assert_ok();

    // 4. Logged in the platform's log, and idempotent.
    let db = app.connect().await;
    let logged = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT command FROM platform_log WHERE tenant_slug = 'demo' ORDER BY at, id",
        ))
        .await
        .expect("log");
    let commands: Vec<String> =
        logged.iter().map(|r| r.try_get::<String>("", "command").expect("c")).collect();
    assert!(
        commands.ends_with(&["tenant.offboard.started".into(), "tenant.offboard".into()]),
        "{commands:?}"
    );
    let again =
        offboard(app.services(), &slug, "demo", &out.path().join("again.zip"), &Seen::default())
            .await
            .expect("again");
    assert!(matches!(again, Offboarded::Already(_)));
    assert!(!out.path().join("again.zip").exists());
}

/// An offboarding interrupted after its export resumes the destruction without exporting again
/// (a second export would hold only what was left).
async fn an_interrupted_offboarding_resumes_without_exporting_again(app: TestApp) {
    let a = app.services().tenants.by_slug("demo").await.expect("dir").expect("demo").id;
    // The first run exported and logged its start, then stopped.
    platform::log(
        &app.connect().await,
        app.clock.now(),
        "tenant.offboard.started",
        "demo",
        json!({ "tenant_id": a.to_string(), "export_file": "/srv/exports/demo.zip" }),
    )
    .await
    .expect("log");
    let lea = app.token(common::demo::LEARNER).await;
    // The first run also marked the tenant: from then on it answers nothing.
    {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let db = app.connect().await;
        let t =
            pupitre::entities::tenant::Entity::find_by_id(a).one(&db).await.expect("q").expect("t");
        let mut settings = t.settings.clone();
        settings["offboarding"] = json!(true);
        let mut m: pupitre::entities::tenant::ActiveModel = t.into();
        m.settings = Set(settings);
        m.update(&db).await.expect("mark");
        app.services().tenants.invalidate().await;
    }
    let r = app.gql(Some(&lea), "{ me { email } }", json!({})).await;
    assert!(r.first_code().is_some(), "a token of the tenant being offboarded: {:?}", r.body);
    let r = app.gql(None, "{ courses(first: 1) { edges { node { id } } } }", json!({})).await;
    assert_eq!(r.first_code().as_deref(), Some("NOT_FOUND"), "{:?}", r.body);
    let out = tempfile::tempdir().expect("tmp");
    let path = out.path().join("second.zip");
    let slug = Slug::parse("slug", "demo").expect("slug");
    let done =
        offboard(app.services(), &slug, "demo", &path, &Seen::default()).await.expect("resume");
    let Offboarded::Done(report) = done else { panic!("done") };
    assert!(report.export.is_none() && !path.exists(), "not exported twice");
    assert_eq!(report.export_file, "/srv/exports/demo.zip");
    assert!(rows_by_table(&app, a).await.values().all(|n| *n == 0));
}

/// `tenant admin`: the first administrator of a new organisation gets a one-time link, never a
/// password in the operator's shell; the link sets a password once, in its tenant only, for 72
/// hours; running the command again issues a new link and the earlier one stops working.
async fn the_operator_s_admin_link_sets_a_password_once(app: TestApp) {
    use pupitre::domain::accounts::set_password::operator_admin;
    second_tenant(&app).await;
    let email = Email::parse("e", "Boss@Ecole-B.example").expect("email");
    let first =
        operator_admin(app.services(), "ecole-b", &email, "Bea", "Boss").await.expect("admin");
    assert!(first.created);
    let token = first.link.split("token=").nth(1).expect("a token in the link").to_owned();
    assert!(
        first.link.starts_with(&format!("{}/set-password?token=sp_", app.settings().public_url))
    );

    // Opening the link shows a form and spends nothing.
    let page =
        app.client.get(app.url(&format!("/set-password?token={token}"))).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("value=\"{token}\"")) && html.contains("type=\"password\""));

    let set = "mutation($t: String!, $p: String!) { setPassword(input: {token: $t, password: $p}) { passwordSet } }";
    let b = [("x-pupitre-tenant", "ecole-b")];
    let demo = [("x-pupitre-tenant", "demo")];
    // Another tenant's request cannot spend it; a short password is refused with its field.
    app.gql_with(None, &demo, set, json!({ "t": token, "p": "a long enough passphrase" }))
        .await
        .assert_bad_input("input.token");
    app.gql_with(None, &b, set, json!({ "t": token, "p": "short" }))
        .await
        .assert_bad_input("input.password");
    app.gql_with(None, &b, set, json!({ "t": "sp_forged", "p": "a long enough passphrase" }))
        .await
        .assert_bad_input("input.token");
    let r = app.gql_with(None, &b, set, json!({ "t": token, "p": "the first passphrase" })).await;
    assert_eq!(r.assert_ok()["setPassword"]["passwordSet"], true);
    let again =
        app.gql_with(None, &b, set, json!({ "t": token, "p": "another passphrase!" })).await;
    again.assert_bad_input("input.token");

    let login = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken user { roles pendingRoles } } }";
    let r = app
        .gql_with(
            None,
            &b,
            login,
            json!({ "e": "boss@ecole-b.example", "p": "the first passphrase" }),
        )
        .await;
    let user = &r.assert_ok()["login"]["user"];
    assert_eq!(user["pendingRoles"], json!(["ADMIN"]), "granted, to be accepted: {user}");
    assert!(!user["roles"].as_array().expect("roles").contains(&json!("ADMIN")));
    let refresh = r.data()["login"]["refreshToken"].as_str().expect("refresh").to_owned();

    // A reset: a new link; the earlier unused one no longer works; setting ends the sessions.
    let second = operator_admin(app.services(), "ecole-b", &email, "x", "y").await.expect("again");
    let third = operator_admin(app.services(), "ecole-b", &email, "x", "y").await.expect("again");
    assert!(!second.created && !third.created);
    let stale = second.link.split("token=").nth(1).expect("token");
    let fresh = third.link.split("token=").nth(1).expect("token");
    app.gql_with(None, &b, set, json!({ "t": stale, "p": "a long enough passphrase" }))
        .await
        .assert_bad_input("input.token");
    let form = app
        .client
        .post(app.url("/set-password"))
        .form(&[("token", fresh), ("password", "the second passphrase")])
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 200, "the form sets it");
    let r = app
        .gql_with(
            None,
            &b,
            "mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken } }",
            json!({ "r": refresh }),
        )
        .await;
    assert!(r.first_code().is_some(), "the earlier session has ended: {:?}", r.body);
    let r = app
        .gql_with(
            None,
            &b,
            login,
            json!({ "e": "boss@ecole-b.example", "p": "the second passphrase" }),
        )
        .await;
    r.assert_ok();
    let spent = app
        .client
        .post(app.url("/set-password"))
        .form(&[("token", fresh), ("password", "the third passphrase")])
        .send()
        .await
        .expect("post");
    assert_eq!(spent.status(), 404);

    // Expired after 72 hours.
    let late = operator_admin(app.services(), "ecole-b", &email, "x", "y").await.expect("late");
    app.clock.advance_secs(72 * 3600 + 1);
    let late = late.link.split("token=").nth(1).expect("token").to_owned();
    app.gql_with(None, &b, set, json!({ "t": late, "p": "a long enough passphrase" }))
        .await
        .assert_bad_input("input.token");

    // The retention sweep deletes spent and expired links (the sessions rule, 0 days).
    assert_eq!(
        app.count("password_tokens").await,
        1,
        "the expired link (a new link replaces the earlier ones)"
    );
    let b_id = app.services().tenants.by_slug("ecole-b").await.expect("dir").expect("b").id;
    let mut opts = SweepOptions::sweep(Origin::Command, 500);
    opts.tenant = Some(b_id);
    let swept = retention::sweep(app.services(), &opts, &Silent).await.expect("sweep");
    assert_eq!(swept[0].error, None, "{swept:?}");
    assert_eq!(app.count("password_tokens").await, 0);

    // The platform's log says what happened, never to whom.
    let db = app.connect().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT details FROM platform_log WHERE command = 'tenant.admin' ORDER BY at, id",
        ))
        .await
        .expect("log");
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let d = format!("{:?}", r.try_get::<Value>("", "details"));
        assert!(!d.contains("boss") && !d.contains('@'), "{d}");
    }
}

/// Privacy-policy versions: the privacy officer publishes (now or later), people who accepted
/// an older version are asked to accept the new one, acceptances are kept with their version,
/// the published versions stay listed; another tenant is not concerned.
async fn a_new_policy_version_requires_re_acceptance(app: TestApp) {
    use common::demo;
    second_tenant(&app).await;
    let me = "{ me { acceptedPolicyVersion mustAcceptPolicy } }";
    let learner = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&learner), me, json!({})).await;
    assert_eq!(
        r.assert_ok()["me"],
        json!({ "acceptedPolicyVersion": "2026-09", "mustAcceptPolicy": false })
    );

    let publish = "mutation($v: String!, $u: String!, $at: DateTime) { publishPrivacyPolicy(input: {version: $v, url: $u, takesEffectAt: $at}) { privacyPolicy { version url publishedAt } } }";
    let url = "https://demo.pupitre.test/confidentialite-2027";
    for who in [demo::LEARNER, demo::ADMIN, demo::SUPPORT] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), publish, json!({ "v": "2027-01", "u": url })).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{who}");
    }
    let dpo = app.token(demo::DPO).await;
    let past = (app.clock.now() - chrono::Duration::days(1)).to_rfc3339();
    app.gql(Some(&dpo), publish, json!({ "v": "2027-01", "u": url, "at": past }))
        .await
        .assert_bad_input("input.takesEffectAt");
    app.gql(Some(&dpo), publish, json!({ "v": "2027 01", "u": url }))
        .await
        .assert_bad_input("input.version");
    app.gql(Some(&dpo), publish, json!({ "v": "2027-01", "u": "http://demo.pupitre.test/p" }))
        .await
        .assert_bad_input("input.url");
    let dup = app.gql(Some(&dpo), publish, json!({ "v": "2026-09", "u": url })).await;
    assert_eq!(dup.first_code().as_deref(), Some("CONFLICT"));
    assert_eq!(
        app.count("privacy_policy_versions").await,
        3,
        "nothing written by the refusals (2 demo + B's)"
    );

    let r = app.gql(Some(&dpo), publish, json!({ "v": "2027-01", "u": url })).await;
    assert_eq!(r.assert_ok()["publishPrivacyPolicy"]["privacyPolicy"]["version"], "2027-01");
    let r = app.gql(Some(&learner), me, json!({})).await;
    assert_eq!(r.assert_ok()["me"]["mustAcceptPolicy"], true);
    let tenant = "{ tenant { privacyPolicy { version } privacyPolicies(first: 2) { totalCount edges { node { version } } pageInfo { hasNextPage } } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "demo")], tenant, json!({})).await;
    let t = &r.assert_ok()["tenant"];
    assert_eq!(t["privacyPolicy"]["version"], "2027-01");
    assert_eq!(t["privacyPolicies"]["totalCount"], 3);
    assert_eq!(
        t["privacyPolicies"]["edges"],
        json!([{ "node": { "version": "2027-01" } }, { "node": { "version": "2026-09" } }])
    );
    assert_eq!(t["privacyPolicies"]["pageInfo"]["hasNextPage"], true);

    let accept =
        "mutation($v: String!) { acceptPrivacyPolicy(input: {version: $v}) { acceptedVersion } }";
    app.gql_with(None, &[("x-pupitre-tenant", "demo")], accept, json!({ "v": "2027-01" }))
        .await
        .first_code()
        .expect("needs a sign-in");
    app.gql(Some(&learner), accept, json!({ "v": "2026-09" }))
        .await
        .assert_bad_input("input.version");
    app.gql(Some(&learner), accept, json!({ "v": "2027-01" })).await.assert_ok();
    app.gql(Some(&learner), accept, json!({ "v": "2027-01" })).await.assert_ok();
    let r = app.gql(Some(&learner), me, json!({})).await;
    assert_eq!(
        r.assert_ok()["me"],
        json!({ "acceptedPolicyVersion": "2027-01", "mustAcceptPolicy": false })
    );
    let db = app.connect().await;
    let learner_id = app.user_id(demo::LEARNER).await;
    let learner_id: uuid::Uuid = learner_id.parse().expect("uuid");
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT version FROM policy_acceptances WHERE user_id = ? ORDER BY accepted_at"
        }
        _ => "SELECT version FROM policy_acceptances WHERE user_id = $1 ORDER BY accepted_at",
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [learner_id.into()]))
        .await
        .expect("history");
    let versions: Vec<String> = rows.iter().map(|r| r.try_get("", "version").expect("v")).collect();
    assert_eq!(versions, ["2026-09", "2027-01"], "at registration, then the new one (once)");

    // A version that takes effect later changes nothing until then.
    let later = (app.clock.now() + chrono::Duration::days(2)).to_rfc3339();
    app.gql(Some(&dpo), publish, json!({ "v": "2027-02", "u": url, "at": later }))
        .await
        .assert_ok();
    let r = app.gql(Some(&learner), me, json!({})).await;
    assert_eq!(r.assert_ok()["me"]["mustAcceptPolicy"], false);
    let reg = "mutation($v: String!, $e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Nina\", lastName: \"New\", acceptedPolicyVersion: $v}) { user { id } } }";
    app.gql_with(
        None,
        &[("x-pupitre-tenant", "demo")],
        reg,
        json!({ "v": "2027-02", "e": "nina@new.test" }),
    )
    .await
    .assert_bad_input("input.acceptedPolicyVersion");
    app.clock.advance_secs(2 * 86_400 + 1);
    let r = app.gql(Some(&learner), me, json!({})).await;
    assert_eq!(r.assert_ok()["me"]["mustAcceptPolicy"], true);
    app.gql_with(
        None,
        &[("x-pupitre-tenant", "demo")],
        reg,
        json!({ "v": "2027-02", "e": "nina@new.test" }),
    )
    .await
    .assert_ok();

    // Tenant B still has its own version.
    let r = app
        .gql_with(
            None,
            &[("x-pupitre-tenant", "ecole-b")],
            "{ tenant { privacyPolicy { version } privacyPolicies { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.assert_ok()["tenant"]["privacyPolicy"]["version"], "v1");
    assert_eq!(r.data()["tenant"]["privacyPolicies"]["totalCount"], 1);
}

const CREATE_ORDER: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id status payment { paymentIntentId } } } }";

fn order_input(key: &str, session: &str) -> Value {
    json!({
        "idempotencyKey": key,
        "lines": [{ "sessionId": session }],
        "billing": { "name": "Max Bé", "address": { "line1": "1 rue de l'École", "postalCode": "69001", "city": "Lyon", "country": "FR" } },
    })
}

/// B's administrator, signed in with the admin role accepted: (token).
async fn b_admin(app: &TestApp) -> String {
    use pupitre::domain::accounts::set_password::{operator_admin, set_password};
    let email = Email::parse("e", "admin@ecole-b.example").expect("email");
    let link =
        operator_admin(app.services(), "ecole-b", &email, "Ada", "Admin").await.expect("admin");
    let token = link.link.split("token=").nth(1).expect("token").to_owned();
    let password = pupitre::domain::types::Password::parse("p", "b admin passphrase").expect("pw");
    set_password(app.services(), None, &token, password).await.expect("set");
    let b = [("x-pupitre-tenant", "ecole-b")];
    let login = "mutation { login(input: {email: \"admin@ecole-b.example\", password: \"b admin passphrase\"}) { accessToken } }";
    let r = app.gql_with(None, &b, login, json!({})).await;
    let t = r.assert_ok()["login"]["accessToken"].as_str().expect("token").to_owned();
    app.gql(
        Some(&t),
        "mutation { acceptRole(input: {role: ADMIN}) { user { roles } } }",
        json!({}),
    )
    .await
    .assert_ok();
    // Roles are in the token: sign in again.
    let r = app.gql_with(None, &b, login, json!({})).await;
    r.assert_ok()["login"]["accessToken"].as_str().expect("token").to_owned()
}

/// Each tenant takes its own payments: PaymentIntents are created with the tenant's own key,
/// its webhooks are verified with its own secret at its own endpoint; a tenant without keys
/// (that the installation's keys do not serve) answers `UNAVAILABLE` and writes nothing.
async fn each_tenant_takes_its_own_payments(app: TestApp, stripe: common::stripe::StripeStandIn) {
    use common::demo;
    stripe.set_auto_deliver(false);
    second_tenant(&app).await;
    let admin = b_admin(&app).await;
    let course = json!({ "slug": "cours-b", "title": "Cours B", "summary": "Un cours.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 9000, "currency": "EUR", "taxRateBp": 2000 });
    let r = app.gql(Some(&admin), "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }", json!({ "input": course })).await;
    let course_id = r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("id").to_owned();
    let start = (app.clock.now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (app.clock.now() + chrono::Duration::days(20)).to_rfc3339();
    let r = app.gql(Some(&admin), "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }",
        json!({ "input": { "courseId": course_id, "startsAt": start, "endsAt": end, "capacity": 5 } })).await;
    let session = r.assert_ok()["createSession"]["session"]["id"].as_str().expect("id").to_owned();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course_id }),
    )
    .await
    .assert_ok();
    let b = [("x-pupitre-tenant", "ecole-b")];
    let login = "mutation { login(input: {email: \"max@ecole-b.example\", password: \"a long enough passphrase\"}) { accessToken } }";
    let r = app.gql_with(None, &b, login, json!({})).await;
    let buyer = r.assert_ok()["login"]["accessToken"].as_str().expect("token").to_owned();

    // B has no keys, and the installation's keys serve demo only: nothing is written.
    let r = app
        .gql(Some(&buyer), CREATE_ORDER, json!({ "input": order_input("b-order-0001", &session) }))
        .await;
    assert_eq!(r.first_code().as_deref(), Some("UNAVAILABLE"), "{:?}", r.body);
    let b_id = app.services().tenants.by_slug("ecole-b").await.expect("dir").expect("b").id;
    assert_eq!(rows_by_table(&app, b_id).await["orders"], 0);
    let account = "{ paymentAccount { ownKeys ready secretKeyLast4 publishableKey webhookPath } }";
    let r = app.gql(Some(&admin), account, json!({})).await;
    assert_eq!(
        r.assert_ok()["paymentAccount"],
        json!({ "ownKeys": false, "ready": false, "secretKeyLast4": null, "publishableKey": null, "webhookPath": "/webhooks/stripe/ecole-b" })
    );

    // B's admin sets B's own keys; a learner may not, nor read them; bad keys are named.
    let (b_key, b_secret) = stripe.add_account();
    let set = "mutation($s: String!, $p: String!, $w: String!) { setPaymentAccount(input: {secretKey: $s, publishableKey: $p, webhookSecret: $w}) { paymentAccount { ownKeys ready secretKeyLast4 } } }";
    let publishable = "pk_test_0123456789abcdefghijklmn";
    let r =
        app.gql(Some(&buyer), set, json!({ "s": b_key, "p": publishable, "w": b_secret })).await;
    assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"));
    assert_eq!(
        app.gql(Some(&buyer), account, json!({})).await.first_code().as_deref(),
        Some("FORBIDDEN")
    );
    app.gql(Some(&admin), set, json!({ "s": publishable, "p": publishable, "w": b_secret }))
        .await
        .assert_bad_input("input.secretKey");
    app.gql(Some(&admin), set, json!({ "s": b_key, "p": publishable, "w": "secret" }))
        .await
        .assert_bad_input("input.webhookSecret");
    let r =
        app.gql(Some(&admin), set, json!({ "s": b_key, "p": publishable, "w": b_secret })).await;
    let last4: String = b_key.chars().skip(b_key.len() - 4).collect();
    assert_eq!(
        r.assert_ok()["setPaymentAccount"]["paymentAccount"],
        json!({ "ownKeys": true, "ready": true, "secretKeyLast4": last4 })
    );
    // Sealed: neither key is stored in clear.
    for needle in [b_key.as_str(), b_secret.as_str()] {
        assert_eq!(text_hits(&app, needle).await, Vec::<String>::new());
    }

    // Each tenant's PaymentIntent is created with its own key.
    let r = app
        .gql(Some(&buyer), CREATE_ORDER, json!({ "input": order_input("b-order-0002", &session) }))
        .await;
    let b_order = r.assert_ok()["createOrder"]["order"]["id"].as_str().expect("id").to_owned();
    let b_pi = r.data()["createOrder"]["order"]["payment"]["paymentIntentId"]
        .as_str()
        .expect("pi")
        .to_owned();
    let (_, demo_session) = common::published_course(&app, json!({ "slug": "cours-demo-paye", "title": "Cours payé", "summary": "Un cours.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 5000, "currency": "EUR", "taxRateBp": 2000 }), 5).await;
    let learner = app.token(demo::LEARNER).await;
    let r = app
        .gql(
            Some(&learner),
            CREATE_ORDER,
            json!({ "input": order_input("demo-order-0001", &demo_session) }),
        )
        .await;
    let demo_pi = r.assert_ok()["createOrder"]["order"]["payment"]["paymentIntentId"]
        .as_str()
        .expect("pi")
        .to_owned();
    let creates: Vec<_> = stripe
        .requests()
        .into_iter()
        .filter(|q| q.method == "POST" && q.path == "/v1/payment_intents")
        .collect();
    assert_eq!(creates.len(), 2);
    let key_of = |pi: &str| {
        creates
            .iter()
            .find(|q| q.answer.as_ref().is_some_and(|(_, a)| a["id"] == pi))
            .map(|q| q.api_key.clone())
            .expect("created")
    };
    assert_eq!(key_of(&b_pi), b_key, "B's intent with B's key");
    assert_eq!(key_of(&demo_pi), stripe.secret_key, "demo's with the installation's key");

    // B's webhook: signed with another account's secret → refused; with B's → applied.
    let (status, _) = stripe.confirm(&b_pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    let event = stripe
        .events()
        .into_iter()
        .rev()
        .find(|e| e.type_ == "payment_intent.succeeded")
        .expect("event");
    let now = app.clock.now().timestamp();
    let post = |path: &str, sig: String| {
        app.client
            .post(app.url(path))
            .header("stripe-signature", sig)
            .header("content-type", "application/json")
            .body(event.payload.clone())
            .send()
    };
    let wrong =
        post("/webhooks/stripe/ecole-b", stripe.sign(&event.payload, now)).await.expect("post");
    assert_eq!(wrong.status(), 400, "signed with the installation's secret");
    let nobody = post(
        "/webhooks/stripe/nope",
        common::stripe::StripeStandIn::sign_with(&b_secret, &event.payload, now),
    )
    .await
    .expect("post");
    assert_eq!(nobody.status(), 404);
    let view = "query($id: ID!) { order(id: $id) { status } }";
    let r = app.gql(Some(&buyer), view, json!({ "id": b_order })).await;
    assert_eq!(r.assert_ok()["order"]["status"], "AWAITING_PAYMENT");
    // The installation's endpoint serves demo: B's intent is no order of demo's.
    let other =
        stripe.make_event("payment_intent.succeeded", stripe.payment_intent(&b_pi).expect("pi"));
    let r = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", stripe.sign(&other.payload, now))
        .header("content-type", "application/json")
        .body(other.payload.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["outcome"], "unknown_order");
    let r = app.gql(Some(&buyer), view, json!({ "id": b_order })).await;
    assert_eq!(r.assert_ok()["order"]["status"], "AWAITING_PAYMENT");
    let right = post(
        "/webhooks/stripe/ecole-b",
        common::stripe::StripeStandIn::sign_with(&b_secret, &event.payload, now),
    )
    .await
    .expect("post");
    assert_eq!(right.status(), 200);
    let r = app.gql(Some(&buyer), view, json!({ "id": b_order })).await;
    assert_eq!(r.assert_ok()["order"]["status"], "PAID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_each_tenant_takes_its_own_payments() {
    let serve_demo = |s: &mut pupitre::config::Settings| s.stripe_tenant = Some("demo".into());
    if let Some((app, stripe)) = TestApp::with_stripe("sqlite", serve_demo).await {
        each_tenant_takes_its_own_payments(app, stripe).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_each_tenant_takes_its_own_payments() {
    let serve_demo = |s: &mut pupitre::config::Settings| s.stripe_tenant = Some("demo".into());
    if let Some((app, stripe)) = TestApp::with_stripe("postgres", serve_demo).await {
        each_tenant_takes_its_own_payments(app, stripe).await;
    }
}

/// Narrowing the matrix: the privacy officer removes a cell (instructors without their
/// learners' contact data); the next request is decided without it; protected and empty cells
/// cannot be removed; nothing can be added; restoring the default gives the access back.
async fn narrowing_removes_a_grant_at_once(app: TestApp) {
    use common::demo;
    let instructor = app.token(demo::INSTRUCTOR).await;
    let lea = app.user_id(demo::LEARNER).await;
    let profile = "query($id: ID!) { user(id: $id) { firstName email } }";
    let r = app.gql(Some(&instructor), profile, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["email"], demo::LEARNER, "the default table: {}", r.body);

    let set = "mutation($removed: [AccessCellInput!]!) { setAccessNarrowing(input: {removed: $removed}) { accessMatrix { removed { category column } } } }";
    let cell = |category: &str, column: &str| json!({ "category": category, "column": column });
    for who in [demo::ADMIN, demo::INSTRUCTOR, demo::SUPPORT] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), set, json!({ "removed": [cell("contact", "instructor")] })).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{who}");
        let r = app.gql(Some(&t), "{ accessMatrix { removed { column } } }", json!({})).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{who}");
    }
    let dpo = app.token(demo::DPO).await;
    let refused = [
        (json!([cell("contact", "self")]), "input.removed[0]"),
        (
            json!([cell("contact", "instructor"), cell("identity", "privacy_officer")]),
            "input.removed[1]",
        ),
        (json!([cell("financial_situation", "marketing")]), "input.removed[0]"),
        (json!([cell("contact", "janitor")]), "input.removed[0]"),
        (json!([cell("gossip", "support")]), "input.removed[0]"),
    ];
    for (removed, field) in refused {
        app.gql(Some(&dpo), set, json!({ "removed": removed })).await.assert_bad_input(field);
    }
    let r = app.gql(Some(&instructor), profile, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["email"], demo::LEARNER, "nothing changed by the refusals");

    let r = app.gql(Some(&dpo), set, json!({ "removed": [cell("contact", "instructor")] })).await;
    assert_eq!(
        r.assert_ok()["setAccessNarrowing"]["accessMatrix"]["removed"],
        json!([cell("contact", "instructor")])
    );
    // At once: the same token, the next request.
    let r = app.gql(Some(&instructor), profile, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["firstName"], "Léa", "identity stays: {}", r.body);
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    // Support keeps its own cell; the learner keeps their own data.
    let support = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support), profile, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["email"], demo::LEARNER);
    let me = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&me), "{ me { email } }", json!({})).await;
    assert_eq!(r.assert_ok()["me"]["email"], demo::LEARNER);

    // The table in ACCESS.md terms.
    let r = app
        .gql(
            Some(&dpo),
            "{ accessMatrix { rows { category cells { column defaultAccess effectiveAccess } } } }",
            json!({}),
        )
        .await;
    let rows = r.assert_ok()["accessMatrix"]["rows"].as_array().expect("rows").clone();
    let contact = rows.iter().find(|r| r["category"] == "contact").expect("contact");
    let instructor_cell = contact["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["column"] == "instructor")
        .expect("cell")
        .clone();
    assert_eq!(
        instructor_cell,
        json!({ "column": "instructor", "defaultAccess": "R (e-mail)", "effectiveAccess": "—" })
    );
    let identity = rows.iter().find(|r| r["category"] == "identity").expect("identity");
    assert!(
        identity["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .all(|c| c["defaultAccess"] == c["effectiveAccess"])
    );

    // List-level decisions read the same narrowed table: support without `order_status` no
    // longer lists the organisation's orders.
    let orders = "{ orders(first: 50) { totalCount } }";
    let all = app.gql(Some(&support), orders, json!({})).await;
    let all = all.assert_ok()["orders"]["totalCount"].as_i64().expect("count");
    assert!(all > 0);
    let r = app.gql(Some(&dpo), set, json!({ "removed": [cell("order_status", "support")] })).await;
    r.assert_ok();
    let r = app.gql(Some(&support), orders, json!({})).await;
    assert_eq!(r.assert_ok()["orders"]["totalCount"], 0, "support bought nothing itself");

    // Back to the default table.
    app.gql(Some(&dpo), set, json!({ "removed": [] })).await.assert_ok();
    let r = app.gql(Some(&instructor), profile, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["email"], demo::LEARNER);
    assert_eq!(app.count("audit_log WHERE action = 'access.narrowed'").await, 3);
}

/// The organisation's settings through the API: the admin's part, the privacy officer's part,
/// validation naming the field, no host (the operator's), and the new values in effect (the public DPO contact, the language of new accounts, the hold of a new order).
async fn tenant_settings_are_changed_by_whom_they_belong_to(app: TestApp) {
    use common::demo;
    second_tenant(&app).await;
    let admin = app.token(demo::ADMIN).await;
    let dpo = app.token(demo::DPO).await;
    let support = app.token(demo::SUPPORT).await;
    let read = "{ tenantSettings { name host dpoName dpoEmail defaultLocale orderHoldMinutes } }";
    assert_eq!(
        app.gql(Some(&support), read, json!({})).await.first_code().as_deref(),
        Some("FORBIDDEN")
    );
    let r = app.gql(Some(&dpo), read, json!({})).await;
    assert_eq!(r.assert_ok()["tenantSettings"]["defaultLocale"], "fr");

    let update = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { name host dpoName dpoEmail defaultLocale orderHoldMinutes } } }";
    let up = |token: &str, input: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { app.gql(Some(&token), update, json!({ "input": input })).await }
    };
    assert_eq!(
        up(&dpo, json!({ "name": "École X" })).await.first_code().as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        up(&admin, json!({ "dpoEmail": "x@y.example" })).await.first_code().as_deref(),
        Some("FORBIDDEN")
    );
    up(&admin, json!({})).await.assert_bad_input("input");
    up(&admin, json!({ "orderHoldMinutes": 2 })).await.assert_bad_input("input.orderHoldMinutes");
    // The host is the operator's: no input field for it.
    assert!(up(&admin, json!({ "host": "formation.demo.example" })).await.first_code().is_some());
    up(&admin, json!({ "defaultLocale": "french" })).await.assert_bad_input("input.defaultLocale");
    up(&dpo, json!({ "dpoEmail": "nope" })).await.assert_bad_input("input.dpoEmail");

    let r = up(
        &admin,
        json!({ "name": "École Pupitre", "defaultLocale": "en", "orderHoldMinutes": 30 }),
    )
    .await;
    let s = &r.assert_ok()["updateTenantSettings"]["settings"];
    assert_eq!(
        (
            s["name"].as_str(),
            s["host"].as_str(),
            s["defaultLocale"].as_str(),
            s["orderHoldMinutes"].as_i64()
        ),
        (Some("École Pupitre"), None, Some("en"), Some(30))
    );
    let r = up(&dpo, json!({ "dpoName": "Nouvelle DPO", "dpoEmail": "dpo2@demo.example" })).await;
    assert_eq!(r.assert_ok()["updateTenantSettings"]["settings"]["dpoEmail"], "dpo2@demo.example");

    // In effect: the public contact; a new account's language; a new hold.
    let r = app
        .gql_with(
            None,
            &[("x-pupitre-tenant", "demo")],
            "{ tenant { name dpoName dpoEmail } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.assert_ok()["tenant"],
        json!({ "name": "École Pupitre", "dpoName": "Nouvelle DPO", "dpoEmail": "dpo2@demo.example" })
    );
    let reg = "mutation { register(input: {email: \"new@demo.example\", password: \"a long enough passphrase\", firstName: \"N\", lastName: \"E\", acceptedPolicyVersion: \"2026-09\"}) { accessToken user { id } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "demo")], reg, json!({})).await;
    let token = r.assert_ok()["register"]["accessToken"].as_str().expect("token").to_owned();
    let r = app.gql(Some(&token), "{ me { locale } }", json!({})).await;
    assert_eq!(r.assert_ok()["me"]["locale"], "en");
    let demo_t = app.services().tenants.by_slug("demo").await.expect("dir").expect("demo");
    assert_eq!(demo_t.order_hold_secs, Some(1800), "what checkout reads for a new order's hold");
    assert_eq!(app.count("audit_log WHERE action = 'tenant.settings_changed'").await, 2);
}

on_both_databases!(
    tenant_settings_are_changed_by_whom_they_belong_to,
    narrowing_removes_a_grant_at_once,
    a_new_policy_version_requires_re_acceptance,
    the_operator_s_admin_link_sets_a_password_once,
    offboarding_returns_the_data_then_leaves_nothing_of_the_tenant_and_b_intact,
    an_interrupted_offboarding_resumes_without_exporting_again,
);
