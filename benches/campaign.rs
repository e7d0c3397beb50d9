//! Benchmark of a newsletter campaign to 100,000 subscribers (issue 12), and of the timing
//! classes of `subscribeNewsletter`.
//!
//! Starts the real server in this process (release build) on a fresh SQLite file or, with
//! `BENCH_DATABASE=postgres`, a fresh PostgreSQL database, loads the demo data, starts a real
//! SMTP server (the tests' aiosmtpd sink, `tests/common/smtp_sink.py`), then:
//!
//! 1. seeds `BENCH_SUBSCRIBERS` (default 100,000) confirmed subscribers of the topic `courses`
//!    with bulk inserts (not measured);
//! 2. as the demo marketing user, creates a campaign through GraphQL and times `sendCampaign`,
//!    which returns once every message is queued (one outbox row per subscriber), sampling the
//!    resident memory meanwhile;
//! 3. delivers through the real outbox worker (`domain::mail::deliver`, rounds of
//!    `PUPITRE_MAIL_BATCH`, default here 500) to the sink, `BENCH_DELIVER` messages (default
//!    2,000, a measured subset: at the rate seen, about 18 messages/s, all 100,000 would take
//!    well over an hour; `BENCH_DELIVER=0` sends them all), reporting messages per second and
//!    the resident memory every tenth of the way;
//! 4. times `subscribeNewsletter` `BENCH_SUBSCRIBE_CALLS` times (default 200) for each of a new
//!    address, an address already subscribed and an address pending confirmation, the three
//!    interleaved, each call from its own client address (`X-Forwarded-For` through a trusted
//!    proxy, so the per-client throttle is exercised as in production and never refuses), and
//!    prints the median and p90 of each and their ratios.
//!
//! ```sh
//! cargo bench --bench campaign
//! BENCH_DATABASE=postgres cargo bench --bench campaign
//! ```

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]

#[path = "support/smtp.rs"]
mod smtp;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use pupitre::config::Settings;
use pupitre::domain::{mail, privacy::suppression};
use pupitre::entities::newsletter_subscription::{self as ns, NewsletterStatus};
use pupitre::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
use serde_json::{Value, json};
use support::{BenchDatabase, env_or, insert_in_chunks, one_id, post, status_kb};
use uuid::Uuid;

const MARKETING: &str = "marc.marketing@demo.pupitre.test";
const TOPIC: &str = "courses";
const SUBSCRIBE: &str = "mutation($input: SubscribeNewsletterInput!) { subscribeNewsletter(input: $input) { accepted } }";

fn rss_kb() -> u64 {
    status_kb("self", "VmRSS:")
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Samples the resident size every 5 ms until stopped; returns (min, max) seen.
struct Sampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    min: Arc<AtomicU64>,
    handle: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(rss_kb()));
        let min = Arc::new(AtomicU64::new(rss_kb()));
        let handle = {
            let (stop, max, min) = (stop.clone(), max.clone(), min.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let now = rss_kb();
                    max.fetch_max(now, Ordering::Relaxed);
                    min.fetch_min(now, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Sampler { stop, max, min, handle }
    }

    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
        (self.min.load(Ordering::Relaxed), self.max.load(Ordering::Relaxed))
    }
}

async fn count(conn: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("count")
}

/// Confirmed subscribers `bench-<i>@example.test` of [`TOPIC`], in one transaction per 1,000.
async fn seed(
    services: &pupitre::domain::Services,
    conn: &sea_orm::DatabaseConnection,
    tenant: Uuid,
    n: usize,
) {
    let now = Utc::now();
    let topics = json!([TOPIC, "news"]).to_string();
    for start in (0..n).step_by(1000) {
        let rows: Vec<ns::ActiveModel> = (start..(start + 1000).min(n))
            .map(|i| {
                let email = format!("bench-{i:06}@example.test");
                ns::ActiveModel::from(ns::Model {
                    id: Uuid::now_v7(),
                    tenant_id: tenant,
                    user_id: None,
                    email_hash: suppression::email_hash(services, tenant, &email),
                    email,
                    topics: topics.clone(),
                    locale: if i % 2 == 0 { "en" } else { "fr" }.into(),
                    status: NewsletterStatus::Subscribed,
                    confirm_token_hash: None,
                    confirm_expires_at: None,
                    consented_at: Some(now),
                    consent_source: Some("form".into()),
                    consent_policy_version: None,
                    consent_topics: Some(topics.clone()),
                    unsubscribed_at: None,
                    last_interaction_at: now,
                    created_at: now,
                    soft_bounces: 0,
                })
            })
            .collect();
        let txn = conn.begin().await.expect("begin");
        insert_in_chunks(&txn, rows).await;
        txn.commit().await.expect("commit");
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn subscribe_from(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    client_ip: &str,
) -> (Duration, Value) {
    let start = Instant::now();
    let body: Value = client
        .post(url)
        .header("x-pupitre-tenant", "demo")
        .header("x-forwarded-for", client_ip)
        .json(&json!({ "query": SUBSCRIBE, "variables": { "input": {
            "email": email, "topics": [TOPIC], "locale": "en" } } }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    (start.elapsed(), body)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let subscribers: usize = env_or("BENCH_SUBSCRIBERS", 100_000);
    let deliver_n: usize = env_or("BENCH_DELIVER", 2_000);
    let deliver_n = if deliver_n == 0 { subscribers } else { deliver_n.min(subscribers) };
    let calls: usize = env_or("BENCH_SUBSCRIBE_CALLS", 200);

    let sink = smtp::Sink::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let backend = db.backend.clone();
    let port = sink.port.to_string();
    let vars = support::settings(
        &db.url,
        &[
            ("PUPITRE_JOBS_INTERVAL_SECS", "0"),
            ("PUPITRE_SMTP_HOST", "127.0.0.1"),
            ("PUPITRE_SMTP_PORT", &port),
            ("PUPITRE_SMTP_SECURITY", "none"),
            ("PUPITRE_MAIL_BATCH", "500"),
            ("PUPITRE_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    let settings = Settings::from_map(&vars).expect("settings");
    let app = Application::build(settings).await.expect("app");
    app.load_demo().await.expect("demo data");
    let services = app.services().clone();
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    tokio::spawn(app.run_until_stopped());

    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let tenant = one_id(&conn, "SELECT id FROM tenants WHERE slug = 'demo'").await;
    let start = Instant::now();
    seed(&services, &conn, tenant, subscribers).await;
    db.analyze().await;
    println!(
        "pupitre campaign bench: {backend}, {subscribers} confirmed subscribers of `{TOPIC}` seeded in {:.1} s, {} CPUs",
        start.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    // 1. Queueing: create and send as marketing.
    let client = reqwest::Client::new();
    let marketing = support::demo_token(&client, &url, MARKETING).await;
    let created = post(
        &client,
        &url,
        Some(&marketing),
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }",
        json!({ "input": {
            "topic": TOPIC,
            "subjectFr": "Cours de printemps", "bodyFr": "De nouveaux cours.\n\nA bientôt.",
            "subjectEn": "Spring courses", "bodyEn": "New courses.\n\nSee you soon.",
        } }),
    )
    .await;
    let id = created["data"]["createCampaign"]["campaign"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("campaign created: {created}"))
        .to_owned();
    let rss_before = rss_kb();
    let sampler = Sampler::start();
    let start = Instant::now();
    let sent = post(
        &client,
        &url,
        Some(&marketing),
        "mutation($id: ID!) { sendCampaign(input: { campaignId: $id }) { campaign { status queuedCount } } }",
        json!({ "id": id }),
    )
    .await;
    let queue_time = start.elapsed();
    let (_, queue_peak) = sampler.finish();
    let c = &sent["data"]["sendCampaign"]["campaign"];
    assert_eq!(c["status"], "SENT", "{sent}");
    let queued = c["queuedCount"].as_i64().expect("queued count");
    let rows = count(&conn, "SELECT COUNT(*) FROM outbox WHERE kind = 'newsletter_issue'").await;
    assert_eq!((queued, rows), (subscribers as i64, subscribers as i64), "one message each");
    println!(
        "queueing: sendCampaign queued {queued} messages in {:.2} s ({:.0} messages/s); RSS {:.1} MB before, peak {:.1} MB (+{:.1} MB), {:.1} MB after",
        queue_time.as_secs_f64(),
        queued as f64 / queue_time.as_secs_f64(),
        mb(rss_before),
        mb(queue_peak),
        mb(queue_peak.saturating_sub(rss_before)),
        mb(rss_kb()),
    );

    // 2. Delivery through the outbox worker to the SMTP sink.
    println!(
        "delivery: {deliver_n} of {subscribers} messages through domain::mail::deliver (rounds of 500) to aiosmtpd{}",
        if deliver_n < subscribers { " (a measured subset)" } else { "" }
    );
    println!("| delivered | elapsed | messages/s (so far) | RSS now | RSS peak so far |");
    println!("|---|---|---|---|---|");
    let sampler = Sampler::start();
    let rss_start = rss_kb();
    let start = Instant::now();
    let (mut done, mut failed, mut dropped) = (0u64, 0u64, 0u64);
    let step = (deliver_n as u64 / 10).max(1);
    let mut next_report = step;
    while done < deliver_n as u64 {
        let r = mail::deliver(&services).await.expect("deliver");
        if r.sent + r.failed + r.dead + r.dropped + r.logged == 0 {
            break;
        }
        done += r.sent;
        failed += r.failed + r.dead;
        dropped += r.dropped;
        if done >= next_report {
            let t = start.elapsed().as_secs_f64();
            println!(
                "| {done} | {t:.1} s | {:.0} | {:.1} MB | {:.1} MB |",
                done as f64 / t,
                mb(rss_kb()),
                mb(sampler.max.load(Ordering::Relaxed)),
            );
            next_report += step;
        }
    }
    let took = start.elapsed();
    let (low, peak) = sampler.finish();
    let received = sink.received();
    println!(
        "delivered {done} in {:.1} s: {:.0} messages/s; failed {failed}, dropped {dropped}; the sink received {received}; RSS {:.1} MB at start, {:.1}–{:.1} MB over the delivery, {:.1} MB at the end",
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64(),
        mb(rss_start),
        mb(low),
        mb(peak),
        mb(rss_kb()),
    );

    // 3. subscribeNewsletter timing classes: pending addresses made first (not measured).
    for i in 0..calls {
        let (_, r) = subscribe_from(
            &client,
            &url,
            &format!("pending-{i}@example.test"),
            &format!("10.1.{}.{}", i / 250, i % 250 + 1),
        )
        .await;
        assert_eq!(r["data"]["subscribeNewsletter"]["accepted"], true, "{r}");
    }
    let (mut new, mut subscribed, mut pending) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..calls {
        let ip = |k: u32| format!("10.{}.{}.{}", 2 + k, i / 250, i % 250 + 1);
        let cases = [
            (format!("new-{i}@example.test"), ip(0), 0),
            (format!("bench-{:06}@example.test", i * 7 % subscribers), ip(1), 1),
            (format!("pending-{i}@example.test"), ip(2), 2),
        ];
        for (email, client_ip, class) in cases {
            let (t, r) = subscribe_from(&client, &url, &email, &client_ip).await;
            assert_eq!(r, json!({ "data": { "subscribeNewsletter": { "accepted": true } } }));
            let ms = t.as_secs_f64() * 1000.0;
            match class {
                0 => new.push(ms),
                1 => subscribed.push(ms),
                _ => pending.push(ms),
            }
        }
    }
    println!("subscribeNewsletter, {calls} calls each, interleaved, one client address per call:");
    println!("| address | median | p90 | median / new |");
    println!("|---|---|---|---|");
    for v in [&mut new, &mut subscribed, &mut pending] {
        v.sort_by(f64::total_cmp);
    }
    let base = quantile(&new, 0.5);
    for (name, v) in [("new", &new), ("already subscribed", &subscribed), ("pending", &pending)] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} |",
            quantile(v, 0.5),
            quantile(v, 0.9),
            quantile(v, 0.5) / base
        );
    }
    drop(conn);
    db.drop_it().await;
}
