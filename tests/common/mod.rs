//! Test harness: starts the real server on port 0 against a fresh database (a SQLite file in a
//! temporary directory, or a PostgreSQL database created for the test and dropped after it).
//!
//! PostgreSQL: `PUPITRE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) is
//! the admin connection used to create and drop databases. Without PostgreSQL a test skips and
//! says so on stderr (one line per skipped test, shown even when output is captured), except
//! when `CI` is set to a true value (`true`, `1`, `yes`, any case) or `PUPITRE_TEST_PG_URL` is
//! given: then an unreachable PostgreSQL fails the test.

#![expect(dead_code, reason = "each test binary uses a different part of the harness")]
#![expect(clippy::expect_used, reason = "a failed set-up must abort the test with its reason")]

pub mod smtp;
pub mod stripe;

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use pupitre::config::Settings;
use pupitre::domain::Clock;
use pupitre::startup::Application;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const DEMO_PASSWORD: &str = "pupitre-demo-2026";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Demo accounts by role.
pub mod demo {
    pub const LEARNER: &str = "lea.martin@demo.pupitre.test";
    pub const LEARNER2: &str = "hugo.bernard@demo.pupitre.test";
    pub const GUARDIAN: &str = "claire.petit@demo.pupitre.test";
    pub const MINOR: &str = "tom.petit@demo.pupitre.test";
    pub const INSTRUCTOR: &str = "ines.moreau@demo.pupitre.test";
    pub const SUPPORT: &str = "sam.support@demo.pupitre.test";
    pub const BILLING: &str = "bastien.billing@demo.pupitre.test";
    pub const REVIEWER: &str = "rachel.reviewer@demo.pupitre.test";
    pub const MARKETING: &str = "marc.marketing@demo.pupitre.test";
    pub const DPO: &str = "dpo@demo.pupitre.test";
    pub const ADMIN: &str = "admin@demo.pupitre.test";
    pub const INTEGRATION: &str = "classe-virtuelle@demo.pupitre.test";
}

/// A clock the test can move.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

enum DbGuard {
    Sqlite(#[expect(dead_code, reason = "kept alive until the test ends")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Our own runtime on a fresh thread: Drop may run inside (or after) the test's one.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fresh, empty database (no migrations run) that is dropped with this value: a SQLite file
/// in a temporary directory, or a new PostgreSQL database.
pub struct EmptyDatabase {
    pub url: String,
    guard: DbGuard,
}

impl EmptyDatabase {
    pub fn sqlite() -> EmptyDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("pupitre.db").display());
        EmptyDatabase { url, guard: DbGuard::Sqlite(dir) }
    }

    /// `None` (with a printed reason) when PostgreSQL is unreachable and not required.
    pub async fn postgres() -> Option<EmptyDatabase> {
        let admin_url = std::env::var("PUPITRE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = match Database::connect(admin_url.as_str()).await {
            Ok(a) => a,
            Err(e) => {
                if postgres_required() {
                    panic!(
                        "PostgreSQL is required here (CI or PUPITRE_TEST_PG_URL is set) and unreachable at {admin_url}: {e}"
                    );
                }
                // Straight to stderr, past the test harness's capture: a skip must be seen.
                let test = std::thread::current().name().unwrap_or("a test").to_owned();
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: PostgreSQL unreachable at {admin_url} ({e}); set CI=true or PUPITRE_TEST_PG_URL to make this fail"
                );
                return None;
            }
        };
        let name = format!("pupitre_t_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let (prefix, _) = admin_url.rsplit_once('/').expect("admin url has a database path");
        let url = format!("{prefix}/{name}");
        Some(EmptyDatabase { url, guard: DbGuard::Postgres { admin_url, name } })
    }
}

/// A running Pupitre with its own database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app_statements: pupitre::db::StatementCounter,
    pub clock: TestClock,
    pub backend: &'static str,
    db_url: String,
    services: pupitre::domain::Services,
    /// Where this server's encrypted documents are stored.
    pub documents: tempfile::TempDir,
    settings: Settings,
    _db: DbGuard,
}

/// A GraphQL response.
#[derive(Debug)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
}

impl Gql {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }
    /// The `extensions.code` of the first error at `path` (e.g. `user.email`).
    pub fn code_at(&self, path: &str) -> Option<String> {
        let want: Vec<&str> = path.split('.').collect();
        self.errors().into_iter().find_map(|e| {
            let p: Vec<String> = e["path"]
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_owned).unwrap_or_else(|| s.to_string()))
                .collect();
            (p == want).then(|| e["extensions"]["code"].as_str().map(str::to_owned)).flatten()
        })
    }
    /// The first error's code, whatever its path.
    pub fn first_code(&self) -> Option<String> {
        self.errors().first().and_then(|e| e["extensions"]["code"].as_str().map(str::to_owned))
    }
    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert!(self.errors().is_empty(), "unexpected errors: {}", self.body);
        self.data()
    }
    /// Asserts that the answer is one `BAD_USER_INPUT` error naming `field` (e.g. `input.email`).
    #[track_caller]
    pub fn assert_bad_input(&self, field: &str) {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "exactly one error: {}", self.body);
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{}", self.body);
        assert_eq!(errors[0]["extensions"]["field"], field, "{}", self.body);
    }
}

/// Runs `n` operations (`op(0)` … `op(n - 1)`) as one race: each waits at a shared barrier and
/// none sends anything before all are ready, so a guard that is missing on the server loses.
/// The answers come back in the order of `i`.
pub async fn race<T, Fut: Future<Output = T>>(n: usize, op: impl Fn(usize) -> Fut) -> Vec<T> {
    let start = tokio::sync::Barrier::new(n);
    let start = &start;
    let runners = (0..n).map(|i| {
        let run = op(i);
        async move {
            start.wait().await;
            run.await
        }
    });
    futures_util::future::join_all(runners).await
}

/// Whether `CI` is set to a true value (`true`, `1`, `yes`, any case).
pub fn ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// Whether the environment forbids skipping the PostgreSQL tests: `CI` set to a true value
/// (`true`, `1`, `yes`, in any case), or `PUPITRE_TEST_PG_URL` given.
pub fn postgres_required() -> bool {
    let ci = std::env::var("CI")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    ci || std::env::var_os("PUPITRE_TEST_PG_URL").is_some()
}

fn base_settings(database_url: String) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("PUPITRE_BIND".into(), "127.0.0.1:0".into());
    vars.insert("DATABASE_URL".into(), database_url);
    vars.insert("PUPITRE_JWT_SECRET".into(), JWT_SECRET.into());
    vars.insert("PUPITRE_WORKERS".into(), "1".into());
    vars.insert("PUPITRE_DB_MAX_CONNECTIONS".into(), "5".into());
    // Tests read seats and statuses right after changing them: no micro-cache unless a test
    // turns it on (tests/catalog.rs does).
    vars.insert("PUPITRE_RESPONSE_CACHE_MS".into(), "0".into());
    // Background jobs run only when a test calls them.
    vars.insert("PUPITRE_JOBS_INTERVAL_SECS".into(), "0".into());
    Settings::from_map(&vars).expect("test settings are valid")
}

impl TestApp {
    /// A server on a fresh SQLite file, with the demo data loaded.
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(|_| {}).await
    }

    /// A SQLite server with adjusted settings.
    pub async fn sqlite_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let db = EmptyDatabase::sqlite();
        Self::start_with(base_settings(db.url.clone()), db.guard, "sqlite", tweak).await
    }

    /// A server on a fresh PostgreSQL database, or `None` (with the reason printed) when
    /// PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<TestApp> {
        Self::postgres_with(|_| {}).await
    }

    /// A PostgreSQL server with adjusted settings (see [`TestApp::postgres`]).
    pub async fn postgres_with(tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let db = EmptyDatabase::postgres().await?;
        let url = db.url.clone();
        Some(Self::start_with(base_settings(url), db.guard, "postgres", tweak).await)
    }

    async fn start_with(
        mut settings: Settings,
        guard: DbGuard,
        backend: &'static str,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let documents = tempfile::tempdir().expect("documents dir");
        settings.document_dir = documents.path().display().to_string();
        tweak(&mut settings);
        let db_url = settings.database_url.clone();
        let kept = settings.clone();
        let clock = TestClock(Arc::new(AtomicI64::new(Utc::now().timestamp_millis())));
        let c = clock.clone();
        let app = Application::build_with_clock(settings, Clock::from_fn(move || c.now()))
            .await
            .expect("application builds");
        app.load_demo().await.expect("demo data loads");
        let base = format!("http://127.0.0.1:{}", app.port());
        let services = app.services().clone();
        let app_statements = services.statements.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::new(),
            app_statements,
            clock,
            backend,
            db_url,
            services,
            documents,
            settings: kept,
            _db: guard,
        }
    }

    /// The settings this server was started with (paths and URLs included).
    pub fn settings(&self) -> Settings {
        self.settings.clone()
    }

    pub fn services(&self) -> &pupitre::domain::Services {
        &self.services
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Starts another Pupitre process on this server's database, with the same settings and
    /// clock (what a load balancer spreads requests over), and returns its base URL.
    pub async fn another_instance(&self) -> String {
        self.another_instance_with(|_| {}).await
    }

    /// [`TestApp::another_instance`] with adjusted settings.
    pub async fn another_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> String {
        let c = self.clock.clone();
        let mut settings = self.settings();
        tweak(&mut settings);
        let app = Application::build_with_clock(settings, Clock::from_fn(move || c.now()))
            .await
            .expect("second instance builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        base
    }

    /// POSTs a GraphQL operation to the instance at `base` (see [`TestApp::another_instance`]).
    pub async fn gql_on(
        &self,
        base: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Gql {
        self.post_graphql(base, token, &[], query, variables).await
    }

    /// POSTs a GraphQL operation with optional bearer token and extra headers.
    pub async fn gql_with(
        &self,
        token: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> Gql {
        self.post_graphql(&self.base, token, headers, query, variables).await
    }

    async fn post_graphql(
        &self,
        base: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> Gql {
        let mut req = self
            .client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("JSON body");
        Gql { status, body }
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        self.gql_with(token, &[], query, variables).await
    }

    /// Logs in and returns (access token, refresh token, user id).
    pub async fn login(&self, email: &str) -> (String, String, String) {
        self.login_with(email, DEMO_PASSWORD).await
    }

    /// The answer to a log-in with the demo password, whatever it is (for tests that expect
    /// a refusal).
    pub async fn login_answer(&self, email: &str) -> Gql {
        self.login_attempt(email, DEMO_PASSWORD).await
    }

    async fn login_attempt(&self, email: &str, password: &str) -> Gql {
        self.gql_with(
            None,
            &[("x-pupitre-tenant", "demo")],
            "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken user { id } } }",
            json!({ "e": email, "p": password }),
        )
        .await
    }

    pub async fn login_with(&self, email: &str, password: &str) -> (String, String, String) {
        let r = self.login_attempt(email, password).await;
        let d = r.assert_ok();
        (
            d["login"]["accessToken"].as_str().expect("access").to_owned(),
            d["login"]["refreshToken"].as_str().expect("refresh").to_owned(),
            d["login"]["user"]["id"].as_str().expect("id").to_owned(),
        )
    }

    /// The access token of a demo account.
    pub async fn token(&self, email: &str) -> String {
        self.login(email).await.0
    }

    /// The id of a demo account, read by the privacy officer (who may read everyone).
    pub async fn user_id(&self, email: &str) -> String {
        self.login(email).await.2
    }

    /// Number of rows of `table` (direct SQL, to prove that nothing was written).
    pub async fn count(&self, table: &str) -> i64 {
        let (conn, _) = pupitre::db::connect(&self.database_url(), 1).await.expect("connect");
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// A connection of its own to the app's database (to arrange data in bulk).
    pub async fn connect(&self) -> sea_orm::DatabaseConnection {
        pupitre::db::connect(&self.database_url(), 1).await.expect("connect").0
    }

    /// Runs one SQL statement directly and reports whether the database accepted it.
    pub async fn try_execute(&self, sql: &str) -> Result<(), String> {
        let (conn, _) = pupitre::db::connect(&self.database_url(), 1).await.expect("connect");
        conn.execute_unprepared(sql).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Runs one SQL statement directly (to arrange faults).
    pub async fn execute(&self, sql: &str) {
        let (conn, _) = pupitre::db::connect(&self.database_url(), 1).await.expect("connect");
        conn.execute_unprepared(sql).await.expect("statement runs");
    }

    fn database_url(&self) -> String {
        self.db_url.clone()
    }

    /// POSTs a multipart body (the GraphQL multipart request spec) to `/graphql` as `token`.
    pub async fn post_multipart(
        &self,
        token: &str,
        boundary: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .expect("multipart request sent")
    }
}

/// A second organisation, "ecole-b" (host `b.example`, privacy policy `v1`), created as the
/// operator's command does.
pub async fn second_tenant(app: &TestApp) -> pupitre::domain::tenancy::Tenant {
    use pupitre::domain::platform::{self, Created};
    use pupitre::domain::tenancy::NewTenant;
    use pupitre::domain::types::{Email, Slug};
    let created = platform::create_tenant(
        app.services(),
        NewTenant {
            slug: Slug::parse("slug", "ecole-b").expect("slug"),
            name: "École B".into(),
            dpo_name: "Dora B".into(),
            dpo_email: Email::parse("e", "dpo@ecole-b.example").expect("email"),
            host: Some("b.example".into()),
        },
        "v1",
        "https://ecole-b.example/privacy",
    )
    .await
    .expect("tenant B");
    match created {
        Created::New(b) => b,
        Created::Unchanged(b) => b,
    }
}

/// Creates (as the demo admin) and publishes a course from `input` (a `CreateCourseInput`) with
/// one session of `capacity` seats starting in 10 days. Returns (course id, session id).
pub async fn published_course(app: &TestApp, input: Value, capacity: i32) -> (String, String) {
    published_course_with(app, input, json!({ "capacity": capacity })).await
}

/// [`published_course`] with more of the session's `CreateSessionInput` (`capacity` and any of
/// `instructorId`, `location`, `virtualRoom`).
pub async fn published_course_with(
    app: &TestApp,
    input: Value,
    session: Value,
) -> (String, String) {
    let admin = app.token(demo::ADMIN).await;
    let r = app.gql(Some(&admin), "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }", json!({ "input": input })).await;
    let course =
        r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("course id").to_owned();
    let start = (Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (Utc::now() + chrono::Duration::days(20)).to_rfc3339();
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }",
            json!({ "input": {
                "courseId": course, "startsAt": start, "endsAt": end,
                "capacity": session["capacity"], "instructorId": session["instructorId"],
                "location": session["location"], "virtualRoom": session["virtualRoom"],
            } }),
        )
        .await;
    let session =
        r.assert_ok()["createSession"]["session"]["id"].as_str().expect("session id").to_owned();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course }),
    )
    .await
    .assert_ok();
    (course, session)
}

/// Points a test server at a Stripe stand-in (keys, API base, a short timeout).
pub fn use_stripe(s: &mut Settings, stripe: &stripe::StripeStandIn) {
    s.stripe_secret_key = pupitre::config::Secret::new(stripe.secret_key.clone());
    s.stripe_api_base = Some(stripe.base_url.clone());
    s.stripe_webhook_secret = pupitre::config::Secret::new(stripe.webhook_secret.clone());
    s.stripe_timeout_ms = 2_000;
}

impl TestApp {
    /// A server of `backend` ("sqlite" or "postgres") talking to a fresh Stripe stand-in whose
    /// events are delivered to the server's webhook endpoint; `None` as for [`TestApp::postgres`].
    pub async fn with_stripe(
        backend: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<(TestApp, stripe::StripeStandIn)> {
        let stand_in = stripe::StripeStandIn::start().await;
        let configure = |s: &mut Settings| {
            use_stripe(s, &stand_in);
            tweak(s);
        };
        let app = match backend {
            "sqlite" => TestApp::sqlite_with(configure).await,
            _ => TestApp::postgres_with(configure).await?,
        };
        stand_in.set_webhook_url(&app.url("/webhooks/stripe"));
        Some((app, stand_in))
    }
}

/// Runs each listed `async fn(TestApp, StripeStandIn)` against SQLite and PostgreSQL, each
/// with its own Stripe stand-in.
#[macro_export]
macro_rules! with_stripe_on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some((app, stripe)) = $crate::common::TestApp::with_stripe("sqlite", |_| {}).await {
                        super::$name(app, stripe).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some((app, stripe)) = $crate::common::TestApp::with_stripe("postgres", |_| {}).await {
                        super::$name(app, stripe).await;
                    }
                }
            )*
        }
    };
}

/// Runs each listed `async fn(&str)` once with `"sqlite"` and once with `"postgres"`: for tests
/// that start their own server and services (an SMTP sink) before the app.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("sqlite").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("postgres").await;
                }
            )*
        }
    };
}

/// Runs each listed `async fn(TestApp)` against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
