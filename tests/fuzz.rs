//! A GraphQL fuzzer against the real server: schemathesis (PyPI, pinned below), which this test
//! installs into a virtual environment under the target directory the first time, runs over
//! every query and mutation of `graphql/schema.graphql` (the SDL the server publishes, checked by
//! another test) with a fixed seed and a bounded number of examples, on SQLite and PostgreSQL,
//! with the demo data and a local Stripe stand-in (no request reaches Stripe).
//!
//! Each backend is fuzzed twice: anonymously, and signed in as the demo admin (every operation
//! but `logout`, which would end the fuzzer's session). The verdict is ours, read from the
//! exchanges schemathesis records (a HAR file), not from its own heuristics (which count every
//! `FORBIDDEN` as a "server error"): any HTTP 5xx, any `INTERNAL` error, any answer that is not
//! a GraphQL response, any request left without an answer (a crash, a hang), or an operation
//! never exercised fails the test, with the request to replay it.
//!
//! Bounds: `PUPITRE_FUZZ_EXAMPLES` examples per operation (default 10: about 1,000 requests per
//! backend), each request at most 10 s, each run at most 4 minutes (by default). Without Python (or when
//! pip cannot install schemathesis) the test prints why and skips, except under `CI=true`,
//! where it fails.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestApp;
use common::demo;
use serde_json::Value;

const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// A fixed seed: a failure found once is found again by the same run (`PUPITRE_FUZZ_SEED`
/// explores others).
const SEED: &str = "20261126";
const SDL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");

/// Strategies for the scalars schemathesis does not know (`DateTime` it knows), and for `ID`:
/// mostly ids of rows that exist (`PUPITRE_FUZZ_IDS`), so that requests get past "not a valid
/// id" / "not found" into the resolvers, sometimes anything. `Upload` is always null: files
/// travel in multipart requests, which this fuzzer does not send.
const HOOKS: &str = r#"
import os
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

schemathesis.graphql.scalar("NaiveDate", st.dates().map(str).map(nodes.String))
schemathesis.graphql.scalar("Upload", st.just(nodes.Null))
ids = [i for i in os.environ.get("PUPITRE_FUZZ_IDS", "").split(",") if i]
if ids:
    schemathesis.graphql.scalar("ID", st.one_of(st.sampled_from(ids), st.sampled_from(ids), st.uuids().map(str), st.text(max_size=40)).map(nodes.String))
"#;

/// Ids of the rows of the demo data (and of what the fuzzer creates: none yet), for `ID`.
async fn existing_ids(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    let mut ids = Vec::new();
    for table in [
        "users",
        "courses",
        "sessions",
        "lessons",
        "enrollments",
        "live_classes",
        "orders",
        "invoices",
        "refunds",
        "eo_applications",
        "eo_documents",
    ] {
        let sql = sea_orm::Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT id FROM {table}"),
        );
        for row in conn.query_all_raw(sql).await.expect("ids") {
            ids.push(row.try_get::<uuid::Uuid>("", "id").expect("a uuid id").to_string());
        }
    }
    ids
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (prints why) outside CI, fails under `CI=true`.
fn unavailable(why: &str) -> Option<PathBuf> {
    assert!(!ci(), "CI=true and {why}: the fuzz test cannot run");
    eprintln!("skipping the GraphQL fuzz test: {why}");
    None
}

/// The `schemathesis` executable of a virtual environment made (once) under the target
/// directory; `None` when Python or pip is not there (outside CI).
fn schemathesis() -> Option<PathBuf> {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("schemathesis-{SCHEMATHESIS_VERSION}"));
    let exe = venv.join("bin/schemathesis");
    let done = venv.join(".installed");
    if done.exists() {
        return Some(exe);
    }
    let python_ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python_ok {
        return unavailable("python3 is not installed");
    }
    let recent = std::process::Command::new("python3")
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 11))"])
        .status()
        .is_ok_and(|s| s.success());
    if !recent {
        return unavailable(&format!(
            "schemathesis {SCHEMATHESIS_VERSION} needs Python 3.11 or later"
        ));
    }
    let _ = std::fs::remove_dir_all(&venv);
    let venv_ok = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !venv_ok {
        return unavailable("python3 -m venv failed (is python3-venv installed?)");
    }
    let pip_ok = std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .status()
        .is_ok_and(|s| s.success());
    if !pip_ok {
        return unavailable(&format!("pip could not install schemathesis=={SCHEMATHESIS_VERSION}"));
    }
    std::fs::write(&done, SCHEMATHESIS_VERSION).expect("mark the install done");
    Some(exe)
}

/// The root fields of `type Query` and `type Mutation` in the SDL.
fn operations() -> BTreeSet<String> {
    let sdl = std::fs::read_to_string(SDL).expect("read the SDL");
    let mut ops = BTreeSet::new();
    let mut root = None;
    let mut in_description = false;
    for line in sdl.lines() {
        if line.trim() == "\"\"\""
            || (line.trim().starts_with("\"\"\"") && !line.trim().ends_with("\"\"\""))
        {
            in_description = !in_description;
            continue;
        }
        if in_description {
            continue;
        }
        if let Some(name) = line.strip_prefix("type ").and_then(|r| r.strip_suffix(" {")) {
            root = ["Query", "Mutation"].contains(&name).then(|| name.to_owned());
        } else if line == "}" {
            root = None;
        } else if let Some(r) = &root
            && let Some(field) = line.strip_prefix('\t').and_then(|f| f.split(['(', ':']).next())
            && !field.starts_with(['"', ' ', '\t'])
        {
            ops.insert(format!("{r}.{}", field.trim()));
        }
    }
    ops
}

/// The root field a fuzzer request calls (`Mutation.login`), from its query text.
fn operation_of(request: &Value) -> Option<String> {
    let query = request["query"].as_str()?;
    let kind = if query.trim_start().starts_with("mutation") { "Mutation" } else { "Query" };
    let body = &query[query.find('{')? + 1..];
    let field = body.trim_start().split(|c: char| !(c.is_alphanumeric() || c == '_')).next()?;
    Some(format!("{kind}.{field}"))
}

/// What one fuzzer run found: the operations it exercised and every server error, each with
/// the request that caused it.
struct Verdict {
    requests: usize,
    /// Test cases schemathesis could not complete (no answer: a crash, a hang, a reset), with
    /// its report of them.
    errored: Option<String>,
    exercised: BTreeSet<String>,
    server_errors: Vec<String>,
}

fn judge(har: &Path) -> Verdict {
    let har: Value = serde_json::from_slice(&std::fs::read(har).expect("read the HAR report"))
        .expect("the HAR report is JSON");
    let entries = har["log"]["entries"].as_array().cloned().unwrap_or_default();
    let mut verdict = Verdict {
        requests: entries.len(),
        errored: None,
        exercised: BTreeSet::new(),
        server_errors: Vec::new(),
    };
    for e in &entries {
        let sent = e["request"]["postData"]["text"].as_str().unwrap_or_default();
        let request: Value = serde_json::from_str(sent).unwrap_or(Value::Null);
        if let Some(op) = operation_of(&request) {
            verdict.exercised.insert(op);
        }
        let status = e["response"]["status"].as_u64().unwrap_or(0);
        let text = e["response"]["content"]["text"].as_str().unwrap_or_default();
        let body: Option<Value> = serde_json::from_str(text).ok();
        let internal = body
            .as_ref()
            .and_then(|b| b["errors"].as_array())
            .is_some_and(|errs| errs.iter().any(|er| er["extensions"]["code"] == "INTERNAL"));
        let graphql_shaped =
            body.as_ref().is_some_and(|b| b.get("data").is_some() || b.get("errors").is_some());
        let server_failed = status >= 500 || status == 0;
        if server_failed || internal || (status == 200 && !graphql_shaped) {
            let answer: String = text.chars().take(400).collect();
            verdict.server_errors.push(format!("HTTP {status}: {answer}\n  replay: {sent}"));
        }
    }
    verdict
}

/// Runs schemathesis against `app` with `headers`, skipping the operations in `exclude`.
async fn fuzz(
    exe: &Path,
    app: &TestApp,
    ids: &[String],
    label: &str,
    headers: &[String],
    exclude: &[&str],
) -> Verdict {
    let work = tempfile::tempdir().expect("work dir");
    let hooks = work.path().join("hooks.py");
    std::fs::write(&hooks, HOOKS).expect("write the hooks");
    let har = work.path().join("run.har");
    let seed = std::env::var("PUPITRE_FUZZ_SEED").unwrap_or_else(|_| SEED.into());
    let examples: u64 =
        std::env::var("PUPITRE_FUZZ_EXAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(10);
    // About 50 operations at up to 0.2 s a request on busy cores, plus start-up.
    let limit = Duration::from_secs(120 + 12 * examples);
    let mut cmd = tokio::process::Command::new(exe);
    cmd.current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("PUPITRE_FUZZ_IDS", ids.join(","))
        .args(["run", SDL, "--url", &app.url("/graphql")])
        .args(["--phases", "fuzzing", "--checks", "not_a_server_error", "--continue-on-failure"])
        .args([
            "--max-examples",
            &examples.to_string(),
            "--seed",
            &seed,
            "--workers",
            "1",
            "--no-shrink",
        ])
        .args(["--request-timeout", "10", "--generation-database", "none", "--no-color"])
        .args(["--report", "har", "--report-dir"])
        .arg(work.path())
        .arg("--report-har-path")
        .arg(&har)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for h in headers {
        cmd.args(["--header", h]);
    }
    for op in exclude {
        cmd.args(["--exclude-name", op]);
    }
    let run = tokio::time::timeout(limit, cmd.output()).await;
    let output = run
        .unwrap_or_else(|_| panic!("{label}: the fuzzer ran for more than {limit:?}"))
        .expect("the fuzzer runs");
    let log = String::from_utf8_lossy(&output.stdout);
    // Its exit status counts its own heuristics (every FORBIDDEN is a "server error" to it):
    // only a run that could not start is a failure here; the verdict is read from the HAR.
    assert!(
        har.exists(),
        "{label}: schemathesis wrote no report\n{log}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: String = log
        .lines()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!(
        "--- {label} ({} backend); schemathesis' own counts, the verdict is ours:\n{summary}",
        app.backend
    );
    let mut verdict = judge(&har);
    let errored = log.lines().find(|l| l.contains(" errored")).map(str::trim);
    if let Some(line) = errored {
        verdict.errored = Some(format!("{line}\n{log}"));
    }
    verdict
}

async fn fuzzing_every_operation_finds_no_server_error(backend: &str) {
    let Some(exe) = tokio::task::spawn_blocking(schemathesis).await.expect("install") else {
        return;
    };
    let Some((app, _stripe)) = TestApp::with_stripe(backend, |_| {}).await else { return };
    let admin = app.token(demo::ADMIN).await;
    let tenant = "x-pupitre-tenant: demo".to_owned();
    let ids = existing_ids(&app).await;
    assert!(ids.len() > 50, "the demo data has rows to aim at: {}", ids.len());

    let anonymous = fuzz(&exe, &app, &ids, "anonymous", std::slice::from_ref(&tenant), &[]).await;
    let signed_in = fuzz(
        &exe,
        &app,
        &ids,
        "signed in as admin",
        &[tenant, format!("authorization: Bearer {admin}")],
        &["Mutation.logout"],
    )
    .await;

    let all = operations();
    assert!(all.len() > 40, "the SDL lists the operations: {all:?}");
    for (label, v, expected) in [
        ("anonymous", &anonymous, all.clone()),
        (
            "signed in",
            &signed_in,
            all.iter().filter(|o| *o != "Mutation.logout").cloned().collect(),
        ),
    ] {
        assert!(
            v.errored.is_none(),
            "{label} on {backend}: requests without an answer:\n{}",
            v.errored.as_deref().unwrap_or_default()
        );
        assert!(
            v.server_errors.is_empty(),
            "{label} on {backend}: {} server error(s) in {} requests:\n{}",
            v.server_errors.len(),
            v.requests,
            v.server_errors.join("\n")
        );
        let missed: Vec<&String> = expected.difference(&v.exercised).collect();
        assert!(missed.is_empty(), "{label} on {backend}: never exercised {missed:?}");
        assert!(
            v.requests >= expected.len() * 2,
            "{label} on {backend}: only {} requests",
            v.requests
        );
    }
    // The server is still answering after the fuzzing.
    let health = app.client.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
}

#[test]
fn the_verdict_counts_server_errors_and_every_operation_of_the_sdl() {
    // Arrange: a HAR as schemathesis writes it, with one exchange of each kind.
    let exchange = |query: &str, status: u16, answer: &str| {
        serde_json::json!({ "request": { "postData": { "text": serde_json::json!({ "query": query }).to_string() } },
            "response": { "status": status, "content": { "text": answer } } })
    };
    let har = serde_json::json!({ "log": { "entries": [
        exchange("{\n  courses(first: 1) { edges { cursor } }\n}", 200, r#"{"data":{"courses":{"edges":[]}}}"#),
        exchange("mutation {\n  login(input: {email: \"a\", password: \"b\"}) { accessToken }\n}", 200, r#"{"data":null,"errors":[{"message":"no","extensions":{"code":"BAD_USER_INPUT"}}]}"#),
        exchange("{ me { email } }", 200, r#"{"data":null,"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#),
        exchange("{ tenant { name } }", 502, "Bad Gateway"),
        exchange("{ session(id: \"x\") { id } }", 200, "<html>oops</html>"),
    ] } });
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("run.har");
    std::fs::write(&path, har.to_string()).expect("write");

    // Act
    let v = judge(&path);

    // Assert: the INTERNAL, the 502 and the non-GraphQL answer; not the refusal.
    assert_eq!(v.requests, 5);
    assert_eq!(v.server_errors.len(), 3, "{:#?}", v.server_errors);
    assert!(v.server_errors[0].contains("INTERNAL") && v.server_errors[0].contains("me { email }"));
    let exercised: Vec<&str> = v.exercised.iter().map(String::as_str).collect();
    assert_eq!(
        exercised,
        ["Mutation.login", "Query.courses", "Query.me", "Query.session", "Query.tenant"]
    );
    let ops = operations();
    for op in [
        "Query.courses",
        "Query.me",
        "Mutation.login",
        "Mutation.recordLiveClass",
        "Mutation.logout",
    ] {
        assert!(ops.contains(op), "{op} in {ops:?}");
    }
    assert!(ops.iter().all(|o| !o.contains(' ') && !o.ends_with('.')), "{ops:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_every_operation_on_sqlite_finds_no_server_error() {
    fuzzing_every_operation_finds_no_server_error("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_every_operation_on_postgres_finds_no_server_error() {
    fuzzing_every_operation_finds_no_server_error("postgres").await;
}
