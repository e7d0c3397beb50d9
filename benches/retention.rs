//! Benchmark of the retention sweep (issue 11): `BENCH_ROWS` expired rows (default 1,000,000;
//! 40 % audit entries, which go through the retention gate's trigger, 30 % sent e-mail, 30 %
//! cookie consents, which go through it too) swept by one `pupitre retention run` equivalent,
//! while `BENCH_CONCURRENCY` clients (default 8) read the uncached catalogue. Prints the sweep's
//! time and rows per second, and the catalogue's p50/p99 before (idle, `BENCH_SECONDS`, default
//! 10) and during the sweep.
//!
//!     BENCH_DATABASE=postgres cargo bench --bench retention
//!     BENCH_DATABASE=postgres PUPITRE_RETENTION_BATCH_SIZE=5000 cargo bench --bench retention
//!
//! The server, the load generator, the sweep and (on this machine) PostgreSQL share the cores.

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]
#![expect(dead_code, reason = "the benchmark uses part of the shared set-up")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pupitre::config::Settings;
use pupitre::domain::retention::{self, Origin, Silent, SweepOptions};
use pupitre::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};
use serde_json::json;
use support::{BenchDatabase, env_or};

const CATALOGUE: &str = "{ courses(first: 20) { edges { node { slug title price { amountCents currency } tags
  sessions { id startsAt seatsLeft instructor { displayName } } } } pageInfo { hasNextPage endCursor } } }";

/// Latencies of the catalogue query from `concurrency` clients until `stop` is set.
async fn drive(url: Arc<String>, concurrency: usize, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, stop) = (url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client =
                reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let body = serde_json::to_vec(&json!({ "query": CATALOGUE })).expect("body");
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let res = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .header("x-pupitre-tenant", "demo")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("request");
                let _ = res.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    all
}

fn pct(lat: &[Duration], p: f64) -> Duration {
    if lat.is_empty() {
        return Duration::ZERO;
    }
    let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
    lat[i]
}

/// Inserts `n` rows of `columns` from `select` (with `$1` = tenant, `g` = 1..=n).
async fn fill(
    conn: &sea_orm::DatabaseConnection,
    tenant: uuid::Uuid,
    table: &str,
    n: u64,
    pg: &str,
    lite: &str,
) {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            format!("INSERT INTO {table} SELECT {pg} FROM generate_series(1, $2) AS g")
        }
        _ => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $2) \
             INSERT INTO {table} SELECT {lite} FROM s"
        ),
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [tenant.into(), i64::try_from(n).expect("rows").into()],
    ))
    .await
    .expect("rows inserted");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: u64 = env_or("BENCH_ROWS", 1_000_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 8);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);

    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let vars = support::settings(
        &db.url,
        &[("PUPITRE_JOBS_INTERVAL_SECS", "0"), ("PUPITRE_RESPONSE_CACHE_MS", "0")],
    );
    let settings = Settings::from_map(&vars).expect("settings");
    let batch = settings.retention_batch_size;
    let app = Application::build(settings).await.expect("app");
    app.load_demo().await.expect("demo data");
    let services = app.services().clone();
    let url = Arc::new(format!("http://127.0.0.1:{}/graphql", app.port()));
    tokio::spawn(app.run_until_stopped());
    let tenant = services.tenants.by_slug("demo").await.expect("tenant").expect("demo").id;

    // Arrange: expired rows, in the columns' order of each table.
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let t = Instant::now();
    let (audit, outbox) = (rows * 4 / 10, rows * 3 / 10);
    let consents = rows - audit - outbox;
    let old_pg = "now() - interval '3 years' - make_interval(secs => g)";
    let old_lite = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-3 years', '-' || g || ' seconds')";
    fill(
        &conn,
        tenant,
        "audit_log (id, tenant_id, at, actor_id, actor_roles, action, category, subject_id, purpose, details, request_id)",
        audit,
        &format!("gen_random_uuid(), $1, {old_pg}, NULL, 'support', 'personal_data.read', 'contact', NULL, 'customer_service', NULL, 'bench'"),
        &format!("randomblob(16), $1, {old_lite}, NULL, 'support', 'personal_data.read', 'contact', NULL, 'customer_service', NULL, 'bench'"),
    )
    .await;
    fill(
        &conn,
        tenant,
        "outbox (id, tenant_id, recipient_id, kind, payload, status, attempts, created_at, sent_at)",
        outbox,
        &format!("gen_random_uuid(), $1, NULL, 'payment_receipt', '{{}}', 'sent', 1, {old_pg}, {old_pg}"),
        &format!("randomblob(16), $1, NULL, 'payment_receipt', '{{}}', 'sent', 1, {old_lite}, {old_lite}"),
    )
    .await;
    fill(
        &conn,
        tenant,
        "consent_records (id, tenant_id, subject_user_id, subject_visitor_id, purpose, granted, recorded_at, source, policy_version, recorded_by)",
        consents,
        &format!("gen_random_uuid(), $1, NULL, 'visitor-' || g, 'analytics_cookies', TRUE, {old_pg}, 'bench', NULL, NULL"),
        &format!("randomblob(16), $1, NULL, 'visitor-' || g, 'analytics_cookies', 1, {old_lite}, 'bench', NULL, NULL"),
    )
    .await;
    db.analyze().await;
    println!("arranged {rows} expired rows in {:.1} s", t.elapsed().as_secs_f64());

    let mut dry = SweepOptions::dry_run(batch);
    dry.tenant = Some(tenant);
    let due = retention::sweep(&services, &dry, &Silent).await.expect("dry run");
    let due = due.first().map_or(0, |d| d.total());
    println!("due (dry run): {due} rows");

    // The uncached catalogue, idle.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(drive(url.clone(), concurrency, stop.clone()));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let idle = load.await.expect("idle load");

    // The sweep, with the same load.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(drive(url.clone(), concurrency, stop.clone()));
    let mut opts = SweepOptions::sweep(Origin::Command, batch);
    opts.tenant = Some(tenant);
    let t = Instant::now();
    let swept = retention::sweep(&services, &opts, &Silent).await.expect("sweep");
    let elapsed = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = load.await.expect("load");
    let swept = swept.first().expect("one tenant");
    assert_eq!(swept.error, None);

    println!("database: {}, batch size {batch}, {concurrency} catalogue clients", db.backend);
    println!(
        "sweep: {} rows in {} batches, {:.1} s ({:.0} rows/s)",
        swept.total(),
        swept.batches,
        elapsed.as_secs_f64(),
        swept.total() as f64 / elapsed.as_secs_f64()
    );
    for (name, lat, secs) in
        [("idle", &idle, seconds as f64), ("during the sweep", &during, elapsed.as_secs_f64())]
    {
        println!(
            "catalogue {name}: {} requests ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            lat.len() as f64 / secs,
            pct(lat, 0.50).as_secs_f64() * 1000.0,
            pct(lat, 0.99).as_secs_f64() * 1000.0
        );
    }
    db.drop_it().await;
}
