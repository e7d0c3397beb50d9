//! Load benchmark of the public catalogue (issues 3 and 13) and of `me { enrollments }`, with
//! PostGraphile 4 on the same PostgreSQL database in the same run.
//!
//! Loads the demo data through an in-process server on a fresh SQLite file or, with
//! `BENCH_DATABASE=postgres`, on a fresh PostgreSQL database; then, for
//! each catalogue size of `BENCH_SIZES` (default `1000`; e.g. `1000,10000,100000`), adds
//! published courses up to that size with bulk inserts (not measured: 2 upcoming sessions and
//! 1 past one each, a tenth with "Français" in the title) and drives each query from
//! `BENCH_CONCURRENCY` keep-alive connections (default 32) for `BENCH_SECONDS` (default 10)
//! against `pupitre serve` (this build's binary, release) started in its own process after each
//! growth, printing requests per second, latency percentiles and the server's own memory (idle
//! after start, peak):
//!
//! - the catalogue page (20 courses with price, tags, upcoming sessions with seats left and
//!   instructor) executed on every request (a server with the micro-cache off): page 1 in the
//!   default order, page 1 by title, page 50 (keyset cursor), and a search for "francais";
//! - on PostgreSQL, unless `BENCH_POSTGRAPHILE=0`: PostGraphile 4 (`tools/postgraphile`,
//!   installed with `npm ci` on first use) started on the same database, serving the
//!   equivalent page (`allCourses` in the same order with tags and non-cancelled sessions), and
//!   the ratio of the two rates;
//! - at the first size only: the same page through the micro-cache (a second server on the
//!   same database with `PUPITRE_RESPONSE_CACHE_MS`, default 1000, so entries expire during the
//!   run), `me { enrollments }` as a learner, `{ __typename }` and `GET /healthz` (the
//!   GraphQL and HTTP floors, and their ratio).
//!
//! ```sh
//! cargo bench --bench catalogue
//! BENCH_DATABASE=postgres BENCH_SIZES=1000,10000,100000 cargo bench --bench catalogue
//! ```
//!
//! The load generator is `wrk` when installed (as the issue measured), else client tasks of this
//! process; either shares the machine with the servers (and PostgreSQL), and the figures include
//! its cost. `PUPITRE_*` variables are passed to the servers.

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use migration::catalogue::fold;
use pupitre::config::Settings;
use pupitre::entities::enums::{CourseStatus, Format, Level};
use pupitre::entities::{course, course_tag, session};
use pupitre::startup::Application;
use sea_orm::{Database, DatabaseConnection, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use support::{BenchDatabase, env_or, insert_in_chunks, one_id, post, status_kb};
use uuid::Uuid;

const CATALOGUE: &str = "query($after: String, $sort: CourseSort, $filter: CourseFilterInput) {
  courses(first: 20, after: $after, sort: $sort, filter: $filter) { edges { node { slug title
  price { amountCents currency } tags sessions { id startsAt seatsLeft instructor { displayName } } } }
  pageInfo { hasNextPage endCursor } } }";
const POSTGRAPHILE_CATALOGUE: &str = "query($tenant: UUID!) {
  allCourses(first: 20, condition: {tenantId: $tenant, status: \"published\"}, orderBy: [NEXT_START_AT_ASC, ID_ASC]) {
  nodes { slug title priceCents currency courseTagsByCourseId { nodes { tag } }
  sessionsByCourseId(condition: {cancelled: false}, orderBy: STARTS_AT_ASC) { nodes { id startsAt capacity seatsTaken instructorId } } }
  pageInfo { hasNextPage endCursor } } }";
const MY_ENROLLMENTS: &str = "{ me { enrollments { id status progress { completedLessons totalLessons percent } session { startsAt course { title } } } } }";

fn body(query: &str, variables: Value) -> Arc<Vec<u8>> {
    Arc::new(serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("body"))
}

struct Report {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Drives `url` with `body` (a GET when empty) from `concurrency` connections for `seconds`:
/// with `wrk` when it is installed (`apt-get install wrk`; a C load generator, cheap enough to
/// leave the CPU to the servers, as the issue's figures were measured), else from client tasks
/// of this process (`BENCH_LOADGEN=builtin` forces them).
async fn drive(
    url: Arc<String>,
    token: Option<Arc<String>>,
    body: Arc<Vec<u8>>,
    concurrency: usize,
    seconds: u64,
) -> Report {
    if wrk_installed() {
        wrk(&url, token.as_deref().map(String::as_str), &body, concurrency, seconds).await
    } else {
        builtin(url, token, body, concurrency, seconds).await
    }
}

fn wrk_installed() -> bool {
    std::env::var("BENCH_LOADGEN").as_deref() != Ok("builtin")
        && Command::new("wrk").arg("--version").output().is_ok()
}

/// One request first (a GraphQL answer must carry no `errors`: wrk counts statuses only), then
/// `wrk --latency` with a script that sends the body and the token.
async fn wrk(
    url: &str,
    token: Option<&str>,
    body: &[u8],
    concurrency: usize,
    seconds: u64,
) -> Report {
    let client = reqwest::Client::new();
    let mut check = if body.is_empty() {
        client.get(url)
    } else {
        client.post(url).header("content-type", "application/json").body(body.to_vec())
    };
    if let Some(t) = token {
        check = check.bearer_auth(t);
    }
    let answer = check.send().await.expect("request").text().await.expect("body");
    assert!(!answer.contains("\"errors\":"), "the request answers without errors: {answer}");
    let mut script = String::new();
    if !body.is_empty() {
        let text = std::str::from_utf8(body).expect("a UTF-8 body");
        script.push_str(&format!(
            "wrk.method = \"POST\"\nwrk.body = [==[{text}]==]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ));
    }
    if let Some(t) = token {
        script.push_str(&format!("wrk.headers[\"Authorization\"] = \"Bearer {t}\"\n"));
    }
    let file = tempfile::NamedTempFile::new().expect("script file");
    std::fs::write(file.path(), script).expect("script");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let out = tokio::process::Command::new("wrk")
        .args(["-t", &threads.min(concurrency).to_string(), "-c", &concurrency.to_string()])
        .args(["-d", &format!("{seconds}s"), "--latency", "-s"])
        .arg(file.path())
        .arg(url)
        .output()
        .await
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk: {text}{}", String::from_utf8_lossy(&out.stderr));
    parse_wrk(&text)
}

/// `1.23ms`, `456.00us`, `1.02s` as a duration.
fn wrk_duration(text: &str) -> Duration {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().unwrap_or(0.0);
    Duration::from_secs_f64(match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "m" => n * 60.0,
        _ => n,
    })
}

fn parse_wrk(text: &str) -> Report {
    let mut report = Report {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        max: Duration::ZERO,
    };
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Latency", _avg, _stdev, max, ..] => report.max = wrk_duration(max),
            ["50%", t] => report.p50 = wrk_duration(t),
            ["99%", t] => report.p99 = wrk_duration(t),
            [n, "requests", "in", t, ..] => {
                report.requests = n.parse().unwrap_or(0);
                report.elapsed = wrk_duration(t.trim_end_matches(','));
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => report.errors += n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                report.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<usize>().ok())
                    .sum::<usize>()
            }
            _ => {}
        }
    }
    report
}

async fn builtin(
    url: Arc<String>,
    token: Option<Arc<String>>,
    body: Arc<Vec<u8>>,
    concurrency: usize,
    seconds: u64,
) -> Report {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, token, body) = (url.clone(), token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client =
                reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                // An empty body: a GET (the `/healthz` floor).
                let mut r = if body.is_empty() {
                    client.get(url.as_str())
                } else {
                    client
                        .post(url.as_str())
                        .header("content-type", "application/json")
                        .body(body.as_ref().clone())
                };
                if let Some(tok) = &token {
                    r = r.bearer_auth(tok.as_str());
                }
                match r.send().await {
                    Ok(res) if res.status().is_success() => match res.bytes().await {
                        Ok(b) if !b.windows(9).any(|w| w == b"\"errors\":") => {
                            lat.push(t.elapsed())
                        }
                        _ => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Report {
        requests: all.len(),
        errors,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
    }
}

fn rate(r: &Report) -> f64 {
    r.requests as f64 / r.elapsed.as_secs_f64()
}

fn print(name: &str, r: &Report) {
    println!(
        "{name:<34} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   ({} ok, {} errors, {:.1} s)",
        rate(r),
        r.p50.as_secs_f64() * 1000.0,
        r.p99.as_secs_f64() * 1000.0,
        r.max.as_secs_f64() * 1000.0,
        r.requests,
        r.errors,
        r.elapsed.as_secs_f64()
    );
}

/// Adds published courses `from..to` (bulk inserts, one transaction per 5,000): prices, levels,
/// formats and languages vary; sessions at dates spread over the next months.
async fn grow(conn: &DatabaseConnection, tenant: Uuid, instructor: Uuid, from: usize, to: usize) {
    let now = Utc::now();
    let levels = [Level::Beginner, Level::Intermediate, Level::Advanced];
    for start in (from..to).step_by(5000) {
        let end = (start + 5000).min(to);
        let (mut courses, mut tags, mut sessions) = (Vec::new(), Vec::new(), Vec::new());
        for i in start..end {
            let id = Uuid::now_v7();
            let title = if i % 10 == 0 {
                format!("Français des affaires {i}")
            } else {
                format!("Bench course {i}")
            };
            let summary = "A course for the benchmark.".to_owned();
            let first = now + chrono::Duration::hours(24 + ((i * 7919) % (24 * 120)) as i64);
            for (k, starts) in [
                (0, now - chrono::Duration::days(30)),
                (1, first),
                (2, first + chrono::Duration::days(45)),
            ] {
                sessions.push(session::ActiveModel::from(session::Model {
                    id: Uuid::now_v7(),
                    tenant_id: tenant,
                    course_id: id,
                    starts_at: starts,
                    ends_at: starts + chrono::Duration::days(10),
                    instructor_id: Some(instructor),
                    capacity: 20,
                    seats_taken: k,
                    location: None,
                    virtual_room: None,
                    cancelled: false,
                    created_at: now,
                }));
            }
            tags.push(course_tag::ActiveModel::from(course_tag::Model {
                course_id: id,
                tag: "bench".into(),
                tenant_id: tenant,
            }));
            courses.push(course::ActiveModel::from(course::Model {
                id,
                tenant_id: tenant,
                slug: format!("bench-course-{i}"),
                search_text: fold(&format!("{title} {summary}")),
                title,
                summary,
                description: "A longer description that the catalogue page does not ask for. "
                    .repeat(8),
                level: levels[i % 3],
                format: Format::Online,
                language: if i % 2 == 0 { "en" } else { "fr" }.into(),
                price_cents: 1000 + (i % 5000) as i64,
                currency: "EUR".into(),
                tax_rate_bp: 2000,
                status: CourseStatus::Published,
                created_at: now,
                updated_at: now,
                next_start_at: first,
            }));
        }
        let txn = conn.begin().await.expect("begin");
        insert_in_chunks(&txn, courses).await;
        insert_in_chunks(&txn, tags).await;
        insert_in_chunks(&txn, sessions).await;
        txn.commit().await.expect("commit");
    }
}

/// PostGraphile 4 on `db_url`, installed from `tools/postgraphile` on first use; ready to serve.
async fn start_postgraphile(db_url: &str, port: u16) -> Child {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/postgraphile");
    let bin = dir.join("node_modules/.bin/postgraphile");
    if !bin.exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm");
        assert!(ok.success(), "npm ci in tools/postgraphile");
    }
    let mut child = Command::new(bin)
        .args(["-c", db_url, "-s", "public", "-n", "127.0.0.1", "-p", &port.to_string()])
        .args(["--disable-query-log", "--disable-graphiql", "-m", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("postgraphile starts");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    for _ in 0..300 {
        if let Ok(r) = client.post(&url).json(&json!({ "query": "{ __typename }" })).send().await
            && r.status().is_success()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("PostGraphile did not answer within 30 s");
}

/// The cursor after `pages` pages of the catalogue in `sort`.
async fn cursor_after(client: &reqwest::Client, url: &str, sort: &str, pages: usize) -> Value {
    let mut after = Value::Null;
    for _ in 0..pages {
        let r = post(client, url, None, CATALOGUE, json!({ "after": after, "sort": sort })).await;
        after = r["data"]["courses"]["pageInfo"]["endCursor"].clone();
        assert!(after.is_string(), "a full page: {r}");
    }
    after
}

/// The in-process server that loads the demo data (and answers the bench's own set-up calls).
async fn seeding_server(db_url: &str) -> (Arc<String>, Settings) {
    let mut vars = support::settings(db_url, &[("PUPITRE_LOGIN_MAX_FAILURES", "1000")]);
    vars.insert("PUPITRE_RESPONSE_CACHE_MS".into(), "0".into());
    vars.insert("PUPITRE_JOBS_INTERVAL_SECS".into(), "0".into());
    let settings = Settings::from_map(&vars).expect("settings");
    let app = Application::build(settings.clone()).await.expect("app");
    let url = Arc::new(format!("http://127.0.0.1:{}/graphql", app.port()));
    app.load_demo().await.expect("demo data");
    tokio::spawn(app.run_until_stopped());
    (url, settings)
}

/// A measured server: `pupitre serve` (this build's binary) in its own process on `db_url`,
/// its logs at the default level to nowhere, the micro-cache set to `cache_ms`; started now, so
/// that on SQLite its connections read the planner statistics present at this point (see
/// `pupitre::db::optimize`). Its memory is its own (`rss_mb`, `peak_mb`).
struct Server {
    child: Child,
    url: Arc<String>,
}

impl Server {
    async fn start(db_url: &str, cache_ms: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut vars = support::settings(db_url, &[("PUPITRE_LOGIN_MAX_FAILURES", "1000")]);
        vars.insert("PUPITRE_BIND".into(), format!("127.0.0.1:{port}"));
        vars.insert("PUPITRE_RESPONSE_CACHE_MS".into(), cache_ms.into());
        vars.insert("PUPITRE_JOBS_INTERVAL_SECS".into(), "0".into());
        // `BENCH_SERVER_PRELOAD`: a library preloaded into the server (another allocator, say).
        if let Ok(lib) = std::env::var("BENCH_SERVER_PRELOAD") {
            vars.insert("LD_PRELOAD".into(), lib);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_pupitre"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pupitre serve starts");
        let client = reqwest::Client::new();
        let health = format!("http://127.0.0.1:{port}/healthz");
        for _ in 0..300 {
            if client.get(&health).send().await.is_ok_and(|r| r.status().is_success()) {
                return Server { child, url: Arc::new(format!("http://127.0.0.1:{port}/graphql")) };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("pupitre serve did not answer within 30 s");
    }

    fn rss_mb(&self) -> f64 {
        status_kb(&self.child.id().to_string(), "VmRSS:") as f64 / 1024.0
    }

    fn peak_mb(&self) -> f64 {
        status_kb(&self.child.id().to_string(), "VmHWM:") as f64 / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SIZES: numbers"))
        .collect();
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let cache_ms = std::env::var("PUPITRE_RESPONSE_CACHE_MS").unwrap_or_else(|_| "1000".into());
    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let backend = db.backend.clone();
    let (demo_url, settings) = seeding_server(&db.url).await;
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let tenant = one_id(&conn, "SELECT id FROM tenants WHERE slug = 'demo'").await;
    let instructor = one_id(
        &conn,
        "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = 'instructor'",
    )
    .await;
    let demo_courses = one_count(&conn).await;
    let postgraphile = if backend == "postgres" && env_or("BENCH_POSTGRAPHILE", 1) == 1 {
        let port = 15_000 + (std::process::id() % 10_000) as u16;
        Some((
            start_postgraphile(&db.url, port).await,
            Arc::new(format!("http://127.0.0.1:{port}/graphql")),
        ))
    } else {
        None
    };
    let client = reqwest::Client::new();
    let learner = support::demo_token(&client, &demo_url, "lea.martin@demo.pupitre.test").await;
    println!(
        "pupitre catalogue bench: {backend}, {concurrency} connections ({}), {seconds} s per query, {} HTTP workers and {} DB connections per server, {} CPUs",
        if wrk_installed() { "wrk" } else { "built-in load generator" },
        settings.workers,
        settings.db_max_connections,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    );
    let mut grown = 0;
    for (round, size) in sizes.iter().copied().enumerate() {
        let t = Instant::now();
        grow(&conn, tenant, instructor, grown, size).await;
        grown = grown.max(size);
        db.analyze().await;
        // Servers started now, as after a restart (or a pool's connection renewal) on a live
        // database whose statistics are current.
        let measured = Server::start(&db.url, "0").await;
        let url = measured.url.clone();
        let idle_mb = measured.rss_mb();
        println!(
            "\n{} published courses ({} added in {:.1} s):",
            grown + demo_courses,
            grown,
            t.elapsed().as_secs_f64()
        );
        let page50 = cursor_after(&client, &url, "START_DATE", 49).await;
        let cases = [
            ("page 1, next session first", json!({})),
            ("page 1, by title", json!({ "sort": "TITLE" })),
            ("page 50 (keyset cursor)", json!({ "after": page50 })),
            ("search \"francais\", page 1", json!({ "filter": { "search": "francais" } })),
        ];
        let first = drive(url.clone(), None, body(CATALOGUE, json!({})), concurrency, 2).await;
        assert_eq!(first.errors, 0, "the page answers without errors");
        let mut pupitre_rate = 0.0;
        for (i, (name, vars)) in cases.into_iter().enumerate() {
            let r = drive(url.clone(), None, body(CATALOGUE, vars), concurrency, seconds).await;
            print(&format!("pupitre {name}"), &r);
            if i == 0 {
                pupitre_rate = rate(&r);
            }
        }
        if let Some((_, pg_url)) = &postgraphile {
            let q = body(POSTGRAPHILE_CATALOGUE, json!({ "tenant": tenant }));
            let check = client
                .post(pg_url.as_str())
                .header("content-type", "application/json")
                .body(q.as_ref().clone())
                .send()
                .await
                .expect("postgraphile")
                .json::<Value>()
                .await
                .expect("json");
            assert_eq!(
                check["data"]["allCourses"]["nodes"].as_array().map(Vec::len),
                Some(20),
                "PostGraphile answers the page: {check}"
            );
            drive(pg_url.clone(), None, q.clone(), concurrency, 2).await;
            let r = drive(pg_url.clone(), None, q, concurrency, seconds).await;
            print("postgraphile page 1, same order", &r);
            println!("ratio pupitre / postgraphile (page 1): {:.2}", pupitre_rate / rate(&r));
        }
        if round == 0 {
            let cached = Server::start(&db.url, &cache_ms).await;
            let cached_url = cached.url.clone();
            let q = body(CATALOGUE, json!({}));
            drive(cached_url.clone(), None, q.clone(), concurrency, 2).await;
            let r = drive(cached_url.clone(), None, q, concurrency, seconds).await;
            print(&format!("pupitre page 1, micro-cache {cache_ms} ms"), &r);
            let mine = body(MY_ENROLLMENTS, json!({}));
            let r = drive(url.clone(), Some(Arc::new(learner.clone())), mine, concurrency, seconds)
                .await;
            print("me { enrollments }", &r);
            let floor =
                drive(url.clone(), None, body("{ __typename }", json!({})), concurrency, seconds)
                    .await;
            print("{ __typename } (GraphQL floor)", &floor);
            let health = Arc::new(url.replace("/graphql", "/healthz"));
            let r = drive(health, None, Arc::new(Vec::new()), concurrency, seconds).await;
            print("GET /healthz (HTTP floor)", &r);
            println!("floor ratio {{ __typename }} / healthz: {:.2}", rate(&floor) / rate(&r));
            println!(
                "memory of the micro-cache server (pupitre serve): {:.1} MB now, peak {:.1} MB",
                cached.rss_mb(),
                cached.peak_mb()
            );
        }
        println!(
            "memory of the uncached server (pupitre serve): {idle_mb:.1} MB idle after start, {:.1} MB now, peak {:.1} MB",
            measured.rss_mb(),
            measured.peak_mb()
        );
    }
    if let Some((mut child, _)) = postgraphile {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(conn);
    db.drop_it().await;
}

async fn one_count(conn: &DatabaseConnection) -> usize {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    course::Entity::find()
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .count(conn)
        .await
        .expect("count") as usize
}
