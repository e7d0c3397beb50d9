//! Load benchmark of `createOrder` against the local Stripe stand-in (issue 4).
//!
//! Starts the Stripe stand-in of the test suite and the real server in this process (release
//! build), on a fresh SQLite file or, with `BENCH_DATABASE=postgres`, a fresh PostgreSQL
//! database. Seeds one paid course with `BENCH_SESSIONS` sessions (default 400) and
//! `BENCH_CONCURRENCY` buyers (default 32); each buyer task then orders one session after the
//! other (a new idempotency key each time) for `BENCH_SECONDS` (default 10). Every order holds a
//! seat and creates a PaymentIntent on the stand-in, which answers after
//! `BENCH_STRIPE_LATENCY_MS` (default 0; Stripe itself answers a create in roughly 150–400 ms).
//!
//! Pupitre's own time per checkout is read from its metrics over the measured window: the
//! summed latency of `/graphql` minus the summed time spent waiting for Stripe, divided by the
//! number of orders.
//!
//!     cargo bench --bench checkout
//!     BENCH_DATABASE=postgres cargo bench --bench checkout
//!     BENCH_STRIPE_LATENCY_MS=200 cargo bench --bench checkout

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]
#![expect(dead_code, reason = "the benchmark uses part of the test suite's stand-in")]

#[path = "../tests/common/stripe/mod.rs"]
mod stripe;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use pupitre::config::Settings;
use pupitre::startup::Application;
use serde_json::{Value, json};
use support::{BenchDatabase, env_or, post};

const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { clientSecret order { id status } } }";

/// The value of a metric line such as `name_sum{route="/graphql"} 1.23`.
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sessions: usize = env_or("BENCH_SESSIONS", 400);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let stripe_latency: u64 = env_or("BENCH_STRIPE_LATENCY_MS", 0);

    let stand_in = stripe::StripeStandIn::start().await;
    // The events a Pupitre webhook endpoint is configured for (README).
    stand_in.set_enabled_events(&[
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.canceled",
    ]);

    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let backend = db.backend.clone();
    let vars = support::settings(
        &db.url,
        &[
            ("PUPITRE_STRIPE_SECRET_KEY", &stand_in.secret_key),
            ("PUPITRE_STRIPE_API_BASE", &stand_in.base_url),
            ("PUPITRE_STRIPE_WEBHOOK_SECRET", &stand_in.webhook_secret),
            ("PUPITRE_JOBS_INTERVAL_SECS", "0"),
        ],
    );
    let settings = Settings::from_map(&vars).expect("settings");
    let workers = settings.workers;
    let db_conns = settings.db_max_connections;
    let app = Application::build(settings).await.expect("app");
    app.load_demo().await.expect("demo data");
    let base = format!("http://127.0.0.1:{}", app.port());
    let url = Arc::new(format!("{base}/graphql"));
    stand_in.set_webhook_url(&format!("{base}/webhooks/stripe"));
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let admin = support::demo_token(&client, &url, "admin@demo.pupitre.test").await;
    let seed_start = Instant::now();
    let c = post(&client, &url, Some(&admin), "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
        json!({ "input": { "slug": "bench-checkout", "title": "Bench checkout", "summary": "A paid course for the benchmark.",
            "description": "", "level": "BEGINNER", "format": "ONLINE", "language": "en", "priceCents": 24_000, "taxRateBp": 2000 } })).await;
    let course = c["data"]["createCourse"]["course"]["id"].as_str().expect("course").to_owned();
    let mut session_ids = Vec::with_capacity(sessions);
    for s in 0..sessions {
        let start = chrono::Utc::now() + chrono::Duration::days(5 + (s % 300) as i64);
        let r = post(&client, &url, Some(&admin), "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }",
            json!({ "input": { "courseId": course, "startsAt": start.to_rfc3339(), "endsAt": (start + chrono::Duration::days(10)).to_rfc3339(), "capacity": concurrency.max(1) } })).await;
        session_ids.push(
            r["data"]["createSession"]["session"]["id"].as_str().expect("session").to_owned(),
        );
    }
    post(
        &client,
        &url,
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course }),
    )
    .await;
    let mut buyers = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let r = post(&client, &url, None,
            "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Bench\", lastName: \"Buyer\", acceptedPolicyVersion: \"2026-09\"}) { accessToken } }",
            json!({ "e": format!("bench-buyer-{i}@example.test") })).await;
        buyers.push(r["data"]["register"]["accessToken"].as_str().expect("buyer token").to_owned());
    }
    db.analyze().await;
    println!(
        "pupitre checkout bench: {backend}, {sessions} sessions, {concurrency} buyers, {seconds} s, Stripe stand-in latency {stripe_latency} ms, {workers} HTTP workers, {db_conns} DB connections, {} CPUs (seeding took {:.1} s)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        seed_start.elapsed().as_secs_f64()
    );
    stand_in.set_latency(Duration::from_millis(stripe_latency));

    let metrics_url = format!("{base}/metrics");
    let before =
        client.get(&metrics_url).send().await.expect("metrics").text().await.expect("text");
    let sessions = Arc::new(session_ids);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (b, token) in buyers.into_iter().enumerate() {
        let (url, sessions) = (url.clone(), sessions.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut lat = Vec::new();
            let mut errors = Vec::new();
            for (n, session) in sessions.iter().enumerate() {
                if Instant::now() >= deadline {
                    break;
                }
                let input = json!({ "idempotencyKey": format!("bench-{b}-{n}"), "lines": [{ "sessionId": session }],
                    "billing": { "name": "Bench Buyer", "address": { "line1": "1 rue du Banc", "postalCode": "75001", "city": "Paris", "country": "FR" } } });
                let t = Instant::now();
                let res = client.post(url.as_str()).bearer_auth(&token).json(&json!({ "query": CREATE, "variables": { "input": input } })).send().await;
                match res {
                    Ok(r) => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        if body["data"]["createOrder"]["clientSecret"].is_string() {
                            lat.push(t.elapsed());
                        } else {
                            errors.push(body["errors"][0]["extensions"]["code"].as_str().unwrap_or("?").to_owned());
                        }
                    }
                    Err(_) => errors.push("transport".into()),
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for t in tasks {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors.extend(e);
    }
    let elapsed = start.elapsed();
    let after = client.get(&metrics_url).send().await.expect("metrics").text().await.expect("text");
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let n = all.len();
    println!(
        "createOrder              {:>8.1} orders/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   ({n} ok, {} errors {:?}, {:.1} s)",
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        errors.len(),
        errors.iter().take(3).collect::<Vec<_>>(),
        elapsed.as_secs_f64()
    );
    let graphql = metric(&after, "pupitre_http_request_duration_seconds_sum{route=\"/graphql\"}")
        - metric(&before, "pupitre_http_request_duration_seconds_sum{route=\"/graphql\"}");
    let requests =
        metric(&after, "pupitre_http_request_duration_seconds_count{route=\"/graphql\"}")
            - metric(&before, "pupitre_http_request_duration_seconds_count{route=\"/graphql\"}");
    let stripe_s = metric(&after, "pupitre_stripe_request_seconds_total")
        - metric(&before, "pupitre_stripe_request_seconds_total");
    let stripe_calls = metric(&after, "pupitre_stripe_requests_total")
        - metric(&before, "pupitre_stripe_requests_total");
    if requests > 0.0 {
        println!(
            "per checkout (metrics)   server time {:>7.2} ms = Stripe {:>7.2} ms ({} calls) + Pupitre's own {:>7.2} ms   over {} requests",
            graphql / requests * 1000.0,
            stripe_s / requests * 1000.0,
            stripe_calls,
            (graphql - stripe_s) / requests * 1000.0,
            requests
        );
    }
    db.drop_it().await;
}
