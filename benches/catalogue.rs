//! Load benchmark of the public catalogue and of `me { enrollments }` (issue 3).
//!
//! Starts the real server in this process (release build) on a fresh SQLite file or, with
//! `BENCH_DATABASE=postgres`, on a fresh PostgreSQL database; loads the demo data plus
//! `BENCH_COURSES` extra published courses (default 200) through the admin API; then drives each
//! query from `BENCH_CONCURRENCY` client tasks (default 32, one keep-alive connection each) for
//! `BENCH_SECONDS` (default 10) and prints requests per second and latency percentiles.
//!
//!     cargo bench --bench catalogue
//!     BENCH_DATABASE=postgres cargo bench --bench catalogue
//!
//! The load generator shares the machine with the server: the figures include its cost.
//! `PUPITRE_*` variables are passed to the server, e.g. `PUPITRE_RESPONSE_CACHE_MS=0` to measure
//! the catalogue without the micro-cache.

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use pupitre::config::Settings;
use pupitre::startup::Application;
use serde_json::json;
use support::{BenchDatabase, env_or, post};

const CATALOGUE: &str = "{ courses(first: 20) { edges { node { slug title price { amountCents currency } tags
  sessions { id startsAt seatsLeft instructor { displayName } } } } pageInfo { hasNextPage endCursor } } }";
const MY_ENROLLMENTS: &str = "{ me { enrollments { id status progress { completedLessons totalLessons percent } session { startsAt course { title } } } } }";

struct Report {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn drive(
    url: Arc<String>,
    token: Option<Arc<String>>,
    query: &'static str,
    concurrency: usize,
    seconds: u64,
) -> Report {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let client =
                reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let body = serde_json::to_vec(&json!({ "query": query })).expect("body");
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut r = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body(body.clone());
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

fn print(name: &str, r: &Report) {
    println!(
        "{name:<24} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   ({} ok, {} errors, {:.1} s)",
        r.requests as f64 / r.elapsed.as_secs_f64(),
        r.p50.as_secs_f64() * 1000.0,
        r.p99.as_secs_f64() * 1000.0,
        r.max.as_secs_f64() * 1000.0,
        r.requests,
        r.errors,
        r.elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let courses: usize = env_or("BENCH_COURSES", 200);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let backend = db.backend.clone();
    let vars = support::settings(&db.url, &[("PUPITRE_LOGIN_MAX_FAILURES", "1000")]);
    let settings = Settings::from_map(&vars).expect("settings");
    let workers = settings.workers;
    let db_conns = settings.db_max_connections;
    let app = Application::build(settings).await.expect("app");
    app.load_demo().await.expect("demo data");
    let url = Arc::new(format!("http://127.0.0.1:{}/graphql", app.port()));
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let admin = support::demo_token(&client, &url, "admin@demo.pupitre.test").await;
    let instructor = post(
        &client,
        &url,
        Some(&admin),
        "{ users(first: 100) { edges { node { id roles } } } }",
        json!({}),
    )
    .await;
    let instructor_id = instructor["data"]["users"]["edges"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["node"]["roles"].to_string().contains("INSTRUCTOR")))
        .and_then(|e| e["node"]["id"].as_str())
        .expect("the instructor is a staff account")
        .to_owned();
    let seed_start = Instant::now();
    for i in 0..courses {
        let c = post(&client, &url, Some(&admin), "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
            json!({ "input": { "slug": format!("bench-course-{i}"), "title": format!("Bench course {i}"), "summary": "A course for the benchmark.",
                "description": "", "level": "BEGINNER", "format": "ONLINE", "language": "en", "priceCents": 1000 + i as i64, "tags": ["bench"] } })).await;
        let id = c["data"]["createCourse"]["course"]["id"].as_str().expect("course").to_owned();
        for s in 0..2 {
            let start = chrono::Utc::now() + chrono::Duration::days(5 + (i % 50) as i64 + s * 30);
            post(&client, &url, Some(&admin), "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }",
                json!({ "input": { "courseId": id, "startsAt": start.to_rfc3339(), "endsAt": (start + chrono::Duration::days(10)).to_rfc3339(), "capacity": 20, "instructorId": instructor_id } })).await;
        }
        post(
            &client,
            &url,
            Some(&admin),
            "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
            json!({ "id": id }),
        )
        .await;
    }
    // Freshly filled tables have no planner statistics yet (autovacuum has not run); a
    // production database has them.
    db.analyze().await;
    let learner = support::demo_token(&client, &url, "lea.martin@demo.pupitre.test").await;
    let check = post(&client, &url, None, CATALOGUE, json!({})).await;
    assert_eq!(
        check["data"]["courses"]["edges"].as_array().map(Vec::len),
        Some(20),
        "the page is full: {check}"
    );

    println!(
        "pupitre bench: {backend}, {} published courses, {concurrency} connections, {seconds} s per query, {workers} HTTP workers, {db_conns} DB connections, {} CPUs (seeding took {:.1} s)",
        courses + 38,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        seed_start.elapsed().as_secs_f64()
    );
    // Warm up, then measure.
    drive(url.clone(), None, CATALOGUE, concurrency, 2).await;
    let catalogue = drive(url.clone(), None, CATALOGUE, concurrency, seconds).await;
    print("catalogue (20 courses)", &catalogue);
    let mine =
        drive(url.clone(), Some(Arc::new(learner)), MY_ENROLLMENTS, concurrency, seconds).await;
    print("me { enrollments }", &mine);
    // The floor: HTTP, routing, GraphQL parsing and the load generator, with no resolver work.
    let floor = drive(url.clone(), None, "{ __typename }", concurrency, seconds).await;
    print("{ __typename } (floor)", &floor);
    let metrics = client
        .get(url.replace("/graphql", "/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    if let Some(line) = metrics.lines().find(|l| l.starts_with("pupitre_db_statements_total")) {
        println!("{line}");
    }
    db.drop_it().await;
}
