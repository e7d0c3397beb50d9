//! Set-up shared by the load benchmarks: settings, a fresh database, a GraphQL client call,
//! bulk inserts and the process's memory.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut r = client.post(url).json(&json!({ "query": query, "variables": vars }));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.expect("request").json().await.expect("json")
}

/// A fresh database for one run: a SQLite file in `dir`, or with `BENCH_DATABASE=postgres` a new
/// PostgreSQL database (dropped by [`BenchDatabase::drop_it`]).
pub struct BenchDatabase {
    pub backend: String,
    pub url: String,
    admin: Option<(DatabaseConnection, String)>,
}

impl BenchDatabase {
    pub async fn create(dir: &std::path::Path) -> BenchDatabase {
        let backend = std::env::var("BENCH_DATABASE").unwrap_or_else(|_| "sqlite".into());
        if backend == "postgres" {
            let admin_url = std::env::var("PUPITRE_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let name = format!("pupitre_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(admin_url.as_str()).await.expect("PostgreSQL reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create db");
            let prefix = admin_url.rsplit_once('/').map(|(p, _)| p.to_owned()).expect("url");
            // Plain TCP for every server of the run by default: PostgreSQL here has TLS on,
            // which sqlx uses unless told otherwise while PostGraphile's `pg` does not ask for
            // it (`BENCH_PG_SSLMODE=prefer` measures Pupitre with it).
            let mode = std::env::var("BENCH_PG_SSLMODE").unwrap_or_else(|_| "disable".into());
            let url = format!("{prefix}/{name}?sslmode={mode}");
            BenchDatabase { backend, url, admin: Some((admin, name)) }
        } else {
            BenchDatabase {
                backend,
                url: format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
                admin: None,
            }
        }
    }

    /// Gathers planner statistics (PostgreSQL), as autovacuum would on a live database.
    /// Planner statistics after bulk seeding, as a live database has them: PostgreSQL's
    /// `ANALYZE` (autovacuum's job), SQLite's `PRAGMA optimize` (what Pupitre's jobs round runs,
    /// `pupitre::db::optimize`).
    pub async fn analyze(&self) {
        let conn = Database::connect(self.url.as_str()).await.expect("connect");
        if self.admin.is_some() {
            conn.execute_unprepared("ANALYZE").await.expect("analyze");
        } else {
            pupitre::db::optimize(&conn).await.expect("optimize");
        }
    }

    pub async fn drop_it(self) {
        if let Some((admin, name)) = self.admin {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

/// Server settings for a benchmark: the database, a fixed JWT secret, then every `PUPITRE_*`
/// variable of the environment on top.
pub fn settings(database_url: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("PUPITRE_BIND".into(), "127.0.0.1:0".into());
    vars.insert("DATABASE_URL".into(), database_url.to_owned());
    vars.insert("PUPITRE_JWT_SECRET".into(), "bench-secret-bench-secret-bench-secret-01".into());
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("PUPITRE_")) {
        vars.insert(k, v);
    }
    vars
}

/// Logs a demo account in (password of the demo data) and returns its access token.
pub async fn demo_token(client: &reqwest::Client, url: &str, email: &str) -> String {
    let login = "mutation($e: String!) { login(input: {email: $e, password: \"pupitre-demo-2026\"}) { accessToken } }";
    post(client, url, None, login, json!({ "e": email })).await["data"]["login"]["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// The `id` of the one row `sql` selects.
pub async fn one_id(conn: &DatabaseConnection, sql: &str) -> uuid::Uuid {
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("a row")
        .try_get::<uuid::Uuid>("", "id")
        .expect("id")
}

/// A `/proc/<pid>/status` figure in kB (`VmRSS:`, `VmHWM:`) of process `pid` (`"self"` for this
/// one); 0 when unreadable.
pub fn status_kb(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Inserts `rows` 200 at a time (seeding only, outside what a bench measures).
pub async fn insert_in_chunks<C, A, I>(conn: &C, rows: I)
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send,
    I: IntoIterator<Item = A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(200).collect();
        <A::Entity as sea_orm::EntityTrait>::insert_many(chunk)
            .exec_without_returning(conn)
            .await
            .expect("bulk insert");
    }
}
