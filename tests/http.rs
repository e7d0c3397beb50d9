//! GraphQL over HTTP and operations: GET/POST rules, limits checked before any SQL, errors with
//! codes and request ids, health, readiness, metrics, the checked-in SDL, and the graphql-http
//! conformance audit run against the real server.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use serde_json::{Value, json};

async fn a_mutation_over_get_is_answered_405_and_a_query_over_get_works(app: TestApp) {
    let q = |s: &str| format!("{}?query={}", app.url("/graphql"), urlencode(s));
    let r = app
        .client
        .get(q("mutation { logout(input: {}) { revokedSessions } }"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    // Also when the mutation is picked among several operations by name.
    let doc = "query A { tenant { name } } mutation B { logout(input: {}) { revokedSessions } }";
    let r = app.client.get(format!("{}&operationName=B", q(doc))).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 405);
    let r = app.client.get(format!("{}&operationName=A", q(doc))).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["data"]["tenant"]["name"], "École Pupitre (démo)");
    // Other methods are refused.
    let r = app.client.put(app.url("/graphql")).send().await.expect("put");
    assert_eq!(r.status().as_u16(), 405);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs with the complexity limit lifted, so that the depth limit is the one that must act.
async fn a_query_over_the_depth_limit_is_rejected_before_any_sql_runs(app: TestApp) {
    let token = app.token(demo::GUARDIAN).await;
    // Warm up: the tenant directory is cached, the session is checked lazily.
    app.gql(Some(&token), "{ __typename }", json!({})).await.assert_ok();
    let mut deep = String::from("id");
    for _ in 0..12 {
        deep = format!("wards {{ {deep} }}");
    }
    let before = app.app_statements.get();
    let r = app.gql(Some(&token), &format!("{{ me {{ {deep} }} }}"), json!({})).await;
    let after = app.app_statements.get();
    assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(
        r.errors()[0]["message"].as_str().unwrap_or("").contains("nested too deep"),
        "{}",
        r.body
    );
    assert!(r.body.get("data").is_none_or(Value::is_null));
    assert_eq!(after, before, "no SQL statement ran for a query over the depth limit");
    // Control: a query within the limit does run SQL.
    app.gql(Some(&token), "{ me { wards { id } } }", json!({})).await.assert_ok();
    assert!(app.app_statements.get() > after);
}

async fn an_over_complex_query_is_rejected_before_any_sql_runs(app: TestApp) {
    let token = app.token(demo::DPO).await;
    app.gql(Some(&token), "{ __typename }", json!({})).await.assert_ok();
    let before = app.app_statements.get();
    let q = "{ users(first: 100) { edges { node { id wards { id email phone } accessLog(first: 100) { edges { node { id action } } } } } } }";
    let r = app.gql(Some(&token), q, json!({})).await;
    assert_eq!(app.app_statements.get(), before, "no SQL for a query over the complexity limit");
    assert!(r.errors()[0]["message"].as_str().unwrap_or("").contains("too complex"), "{}", r.body);
    assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"));
}

async fn batches_bodies_and_content_types_are_limited(app: TestApp) {
    let post = |body: Vec<u8>, ct: Option<&'static str>| {
        let mut r = app.client.post(app.url("/graphql")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send()
    };
    let one = json!({ "query": "{ __typename }" });
    let ok = post(serde_json::to_vec(&json!([one, one])).expect("json"), Some("application/json"))
        .await
        .expect("post");
    assert_eq!(ok.status().as_u16(), 200);
    let answers: Value = ok.json().await.expect("json");
    assert_eq!(answers.as_array().map(Vec::len), Some(2));
    let too_many =
        post(serde_json::to_vec(&vec![one.clone(); 6]).expect("json"), Some("application/json"))
            .await
            .expect("post");
    assert_eq!(too_many.status().as_u16(), 400);
    let body: Value = too_many.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let big = format!(
        "{{\"query\":\"{{ __typename }}\",\"variables\":{{\"x\":\"{}\"}}}}",
        "a".repeat(2 << 20)
    );
    let r = post(big.into_bytes(), Some("application/json")).await.expect("post");
    assert_eq!(r.status().as_u16(), 413);
    let r = post(b"{ not json".to_vec(), Some("application/json")).await.expect("post");
    assert_eq!(r.status().as_u16(), 400);
    let r = post(serde_json::to_vec(&one).expect("json"), None).await.expect("post");
    assert_eq!(r.status().as_u16(), 415);
    let r = post(serde_json::to_vec(&one).expect("json"), Some("text/plain")).await.expect("post");
    assert_eq!(r.status().as_u16(), 415);
}

async fn errors_carry_a_code_and_request_id_and_never_internals(app: TestApp) {
    let r = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ nosuchfield }" }))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 400, "validation failure with graphql-response+json is a 400");
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/graphql-response+json"))
    );
    let rid = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id");
    let body: Value = r.json().await.expect("json");
    assert!(body.get("data").is_none(), "no data entry on a request error");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], rid.as_str());
    // The same with application/json: 200, per the spec's legacy media type.
    let r = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/json")
        .json(&json!({ "query": "{ nosuchfield }" }))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    );
    // Unauthenticated access to `me`.
    let r = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(r.code_at("me").as_deref(), Some("UNAUTHENTICATED"));
    let bad_id = app
        .gql(
            Some(&app.token(demo::SUPPORT).await),
            "{ user(id: \"not-a-uuid\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(bad_id.code_at("user").as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_id.errors()[0]["extensions"]["field"], "id");
    let text = bad_id.body.to_string().to_lowercase();
    for leak in ["select ", "sqlx", "sqlite", "postgres", "panicked", "src/"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    // A database failure (a table dropped behind the server's back) reaches the client as
    // INTERNAL with the request id and nothing of the SQL or the database's message.
    // (The signed-in session check reads `guardian_links` too, so `me` itself fails.)
    let guardian = app.token(demo::GUARDIAN).await;
    app.execute("DROP TABLE guardian_links").await;
    let r = app.gql(Some(&guardian), "{ tenant { name } me { wards { id } } }", json!({})).await;
    assert_eq!(r.code_at("me").as_deref(), Some("INTERNAL"), "{}", r.body);
    assert_eq!(r.errors()[0]["message"], "internal error");
    assert!(r.errors()[0]["extensions"]["requestId"].is_string());
    assert_eq!(
        r.data()["tenant"]["name"],
        "École Pupitre (démo)",
        "the rest of the response still resolves"
    );
    let text = r.body.to_string().to_lowercase();
    for leak in ["guardian_links", "select", "no such table", "does not exist", "sqlx"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

async fn health_readiness_and_metrics_are_served(app: TestApp) {
    let r = app.client.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(r.status().as_u16(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status().as_u16(), 200);
    let token = app.token(demo::LEARNER).await;
    let other = app.user_id(demo::LEARNER2).await;
    let r = app
        .gql(Some(&token), "query($id: ID!) { user(id: $id) { email } }", json!({ "id": other }))
        .await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(
            "pupitre_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("pupitre_http_request_duration_seconds_bucket{route=\"/graphql\""));
    assert!(text.contains("pupitre_graphql_errors_total{code=\"FORBIDDEN\"} 1"), "{text}");
    assert!(text.contains("pupitre_db_statements_total"));
}

async fn graphiql_is_served_in_development(app: TestApp) {
    let r = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.expect("html").to_lowercase().contains("graphiql"));
}

on_both_databases!(
    a_mutation_over_get_is_answered_405_and_a_query_over_get_works,
    batches_bodies_and_content_types_are_limited,
    an_over_complex_query_is_rejected_before_any_sql_runs,
    errors_carry_a_code_and_request_id_and_never_internals,
    health_readiness_and_metrics_are_served,
    graphiql_is_served_in_development,
);

fn no_complexity_limit(s: &mut pupitre::config::Settings) {
    s.graphql_max_complexity = usize::MAX;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_depth_limit() {
    a_query_over_the_depth_limit_is_rejected_before_any_sql_runs(
        TestApp::sqlite_with(no_complexity_limit).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_depth_limit() {
    if let Some(app) = TestApp::postgres_with(no_complexity_limit).await {
        a_query_over_the_depth_limit_is_rejected_before_any_sql_runs(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_turns_introspection_and_graphiql_off() {
    let app = TestApp::sqlite_with(|s| {
        s.introspection = false;
        s.graphiql = false;
    })
    .await;
    let r = app
        .gql(None, "{ __schema { types { name } } __type(name: \"User\") { name } }", json!({}))
        .await;
    assert!(
        r.data()["__schema"].is_null() && r.data()["__type"].is_null(),
        "introspection must reveal nothing: {}",
        r.body
    );
    assert!(!r.body.to_string().contains("User"));
    // No GraphiQL page: HTML alone is not acceptable, and a browser (which also takes `*/*`)
    // gets the JSON answer to a GET without a query.
    let r = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 406);
    assert_eq!(
        r.text().await.expect("body"),
        "accept application/graphql-response+json or application/json"
    );
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let r =
        app.client.get(app.url("/graphql")).header("accept", browser).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("a JSON answer, not a page");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["message"], "missing `query` parameter", "{body}");
}

#[test]
fn the_checked_in_sdl_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("graphql/schema.graphql");
    assert!(
        checked_in == pupitre::graphql::sdl(),
        "graphql/schema.graphql is stale: run `cargo run -- schema > graphql/schema.graphql`"
    );
}

/// The SHOULD warnings we accept, as listed in the README between the audit markers.
fn documented_warnings() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme.find("<!-- audit-warnings:start -->").expect("README audit marker");
    let end = readme.find("<!-- audit-warnings:end -->").expect("README audit end marker");
    readme[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- `"))
        .filter_map(|l| l.split('`').next().map(str::to_owned))
        .collect()
}

/// The Node.js project of `tests/http-audit` (graphql-http and graphql-js), installed on first
/// use; `None` (with the reason printed) when Node.js is missing outside CI.
/// The Node.js project of the graphql-js checks, installed once per test binary: two tests use
/// it, and a second `npm ci` running while the first test reads `node_modules` would delete
/// the modules under it (seen on a fresh clone).
fn node_project() -> Option<&'static str> {
    static PROJECT: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    *PROJECT.get_or_init(install_node_project)
}

fn install_node_project() -> Option<&'static str> {
    let ci = std::env::var("CI")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http-audit");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        assert!(!ci, "CI is set and Node.js is missing: the graphql-js checks cannot run");
        eprintln!("SKIPPED the graphql-js checks: Node.js is not installed");
        return None;
    }
    let installed = ["graphql-http", "graphql"]
        .iter()
        .all(|m| std::path::Path::new(dir).join("node_modules").join(m).exists());
    if !installed {
        let st = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(dir)
            .status()
            .expect("npm");
        assert!(st.success(), "npm ci in tests/http-audit failed");
    }
    Some(dir)
}

/// Runs graphql-js's `validate` on every `*.graphql` file of `operations`.
fn validate_operations(dir: &str, operations: &std::path::Path) -> Vec<Value> {
    let sdl = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");
    let out = std::process::Command::new("node")
        .arg("validate-operations.mjs")
        .arg(sdl)
        .arg(operations)
        .current_dir(dir)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "validation did not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("validation JSON")
}

#[test]
fn the_example_operations_are_valid_against_the_sdl() {
    let Some(dir) = node_project() else { return };
    let ops = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql/operations");
    let results = validate_operations(dir, &ops);
    let files = std::fs::read_dir(&ops)
        .expect("operations")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "graphql")))
        .count();
    assert_eq!(results.len(), files, "every file was validated");
    for r in &results {
        assert!(
            r["operations"].as_array().is_some_and(|o| !o.is_empty()),
            "{} holds no operation",
            r["file"]
        );
        assert_eq!(
            r["errors"],
            json!([]),
            "{} is not valid against graphql/schema.graphql",
            r["file"]
        );
    }
    // The check itself can fail: a stale field is reported.
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("stale.graphql"), "query Stale { me { noSuchField } }")
        .expect("write");
    let stale = validate_operations(dir, tmp.path());
    assert!(
        stale[0]["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|m| m.as_str().is_some_and(|m| m.contains("noSuchField")))),
        "{stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_reports_no_failed_must() {
    let Some(dir) = node_project() else { return };
    let app = TestApp::sqlite().await;
    let out = tokio::process::Command::new("node")
        .arg("audit.mjs")
        .arg(app.url("/graphql"))
        .current_dir(dir)
        .output()
        .await
        .expect("node runs");
    assert!(out.status.success(), "audit did not run: {}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("audit JSON");
    assert!(results.len() >= 60, "the audit ran {} checks", results.len());
    let failed_must: Vec<&Value> = results.iter().filter(|r| r["status"] == "error").collect();
    assert!(failed_must.is_empty(), "failed MUST audits: {failed_must:#?}");
    let mut warnings: Vec<String> = results
        .iter()
        .filter(|r| r["status"] == "warn")
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    warnings.sort();
    let mut documented = documented_warnings();
    documented.sort();
    assert_eq!(
        warnings, documented,
        "SHOULD warnings must be exactly those listed (with reasons) in the README"
    );
}
