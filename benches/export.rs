//! Benchmark of an access export (issue 11, item 3): one person with 10,000 rows.
//!
//! Starts the real server in this process (release build) on a fresh SQLite file or, with
//! `BENCH_DATABASE=postgres`, a fresh PostgreSQL database, loads the demo data, then gives the
//! demo learner `BENCH_ROWS` (default 10,000) more rows, a third each of lesson completions
//! (progress, on lessons added to a course she follows), audit entries about her (read by
//! support) and cancelled orders. Then, `BENCH_RUNS` times (default 3): she asks for her data,
//! the privacy officer starts and completes the request (which builds the export: two passes
//! over every registered table, the documents decrypted, the ZIP deflated, sealed and stored),
//! and she downloads it through its link. Reported per run: the time of the completion (the
//! export and the request's close), the resident-memory growth over it (peak `VmHWM` after a
//! reset, and sampled every 2 ms, against the resident size just before), the ZIP's size, and
//! the download time.
//!
//!     cargo bench --bench export
//!     BENCH_DATABASE=postgres cargo bench --bench export

#![expect(clippy::expect_used, reason = "a benchmark aborts on set-up failure")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use pupitre::config::Settings;
use pupitre::entities::{audit_entry, enums::OrderStatus, lesson, lesson_completion, order};
use pupitre::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;
use support::{BenchDatabase, env_or, insert_in_chunks, one_id, post, status_kb};
use uuid::Uuid;

const LEARNER: &str = "lea.martin@demo.pupitre.test";

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: usize = env_or("BENCH_ROWS", 10_000);
    let runs: usize = env_or("BENCH_RUNS", 3);

    let dir = tempfile::tempdir().expect("tmp");
    let db = BenchDatabase::create(dir.path()).await;
    let backend = db.backend.clone();
    let documents = dir.path().join("documents");
    let vars = support::settings(
        &db.url,
        &[
            ("PUPITRE_JOBS_INTERVAL_SECS", "0"),
            ("PUPITRE_DOCUMENT_DIR", documents.to_str().expect("path")),
        ],
    );
    let settings = Settings::from_map(&vars).expect("settings");
    let app = Application::build(settings).await.expect("app");
    app.load_demo().await.expect("demo data");
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    // Her extra rows, written directly (the set-up is not what is measured).
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let lea = one_id(&conn, &format!("SELECT id FROM users WHERE email = '{LEARNER}'")).await;
    let support_id =
        one_id(&conn, "SELECT id FROM users WHERE email = 'sam.support@demo.pupitre.test'").await;
    let tenant = one_id(&conn, "SELECT id FROM tenants WHERE slug = 'demo'").await;
    let all = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT e.id AS id, s.course_id AS course, e.learner_id AS learner FROM enrollments e JOIN sessions s ON s.id = e.session_id".to_owned(),
        ))
        .await
        .expect("enrollments");
    let (enrollment, course) = all
        .iter()
        .map(|r| {
            (
                r.try_get::<Uuid>("", "id").expect("id"),
                r.try_get::<Uuid>("", "course").expect("course"),
                r.try_get::<Uuid>("", "learner").expect("learner"),
            )
        })
        .find(|(_, _, l)| *l == lea)
        .map(|(e, c, _)| (e, c))
        .expect("an enrollment of hers");
    let now = Utc::now();
    let third = rows / 3;
    let lessons: Vec<lesson::Model> = (0..third)
        .map(|i| lesson::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            course_id: course,
            position: 1000 + i as i32,
            title: format!("Bench lesson {i}"),
            duration_minutes: Some(10),
        })
        .collect();
    insert_in_chunks(&conn, lessons.iter().map(|l| lesson::ActiveModel::from(l.clone()))).await;
    insert_in_chunks(
        &conn,
        lessons.iter().map(|l| {
            lesson_completion::ActiveModel::from(lesson_completion::Model {
                enrollment_id: enrollment,
                lesson_id: l.id,
                tenant_id: tenant,
                completed_at: now,
            })
        }),
    )
    .await;
    insert_in_chunks(
        &conn,
        (0..third).map(|i| {
            audit_entry::ActiveModel::from(audit_entry::Model {
                id: Uuid::now_v7(),
                tenant_id: tenant,
                at: now,
                actor_id: Some(support_id),
                actor_roles: "support".into(),
                action: "user.read".into(),
                category: Some("contact".into()),
                subject_id: Some(lea),
                purpose: "customer_service".into(),
                details: Some(json!({ "fields": ["phone"], "n": i })),
                request_id: Some(format!("bench-{i}")),
            })
        }),
    )
    .await;
    insert_in_chunks(
        &conn,
        (0..rows - 2 * third).map(|i| {
            order::ActiveModel::from(order::Model {
                id: Uuid::now_v7(),
                tenant_id: tenant,
                buyer_id: Some(lea),
                learner_id: Some(lea),
                status: OrderStatus::Cancelled,
                currency: "EUR".into(),
                subtotal_cents: 24_000,
                discount_cents: 0,
                tax_cents: 4_000,
                total_cents: 24_000,
                refunded_cents: 0,
                idempotency_key: format!("bench-{i}"),
                request_hash: "0".repeat(64),
                billing_name: "Léa Martin".into(),
                billing_address: r#"{"line1":"12 rue des Écoles","postal_code":"69001","city":"Lyon","country":"FR"}"#.into(),
                payment_intent_id: None,
                client_secret: None,
                last_payment_error: None,
                hold_expires_at: now,
                paid_at: None,
                closed_at: Some(now),
                created_at: now,
                updated_at: now,
            })
        }),
    )
    .await;
    db.analyze().await;

    let client = reqwest::Client::new();
    let dpo = support::demo_token(&client, &url, "dpo@demo.pupitre.test").await;
    println!(
        "pupitre export bench: {backend}, {rows} extra rows for one learner ({third} lesson completions, {third} audit entries, {} orders), {runs} runs, {} CPUs",
        rows - 2 * third,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("| run | export + close | RSS before | peak | growth | ZIP | download |");
    println!("|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        let lea_token = support::demo_token(&client, &url, LEARNER).await;
        let r = post(&client, &url, Some(&lea_token),
            "mutation { requestDataSubjectRight(input: {kind: ACCESS, password: \"pupitre-demo-2026\"}) { request { id } } }", json!({})).await;
        let id = r["data"]["requestDataSubjectRight"]["request"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("request made: {r}"))
            .to_owned();
        post(&client, &url, Some(&dpo), "mutation($id: ID!) { startDataSubjectRequest(input: {requestId: $id}) { request { id } } }", json!({ "id": id })).await;

        // Memory: the peak is reset to the current size, and sampled meanwhile in case the
        // reset is refused.
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_kb("self", "VmRSS:");
        let sampled = Arc::new(AtomicU64::new(before));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (sampled, stop) = (sampled.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sampled.fetch_max(status_kb("self", "VmRSS:"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        let start = Instant::now();
        let done = post(&client, &url, Some(&dpo),
            "mutation($id: ID!) { completeDataSubjectRequest(input: {requestId: $id, outcome: \"Ready.\"}) { request { status export { sizeBytes } } } }",
            json!({ "id": id })).await;
        let took = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let peak = if reset {
            status_kb("self", "VmHWM:").max(sampled.load(Ordering::Relaxed))
        } else {
            sampled.load(Ordering::Relaxed)
        };
        let req = &done["data"]["completeDataSubjectRequest"]["request"];
        assert_eq!(req["status"], "DONE", "{done}");
        let size = req["export"]["sizeBytes"].as_i64().expect("size");

        let l = post(
            &client,
            &url,
            Some(&lea_token),
            "query($id: ID!) { dataSubjectRequest(id: $id) { export { downloadLink { url } } } }",
            json!({ "id": id }),
        )
        .await;
        let link = l["data"]["dataSubjectRequest"]["export"]["downloadLink"]["url"]
            .as_str()
            .expect("link")
            .to_owned();
        let start = Instant::now();
        let body = client.get(format!("{base}{link}")).send().await.expect("download");
        assert_eq!(body.status().as_u16(), 200);
        let bytes = body.bytes().await.expect("zip");
        let download = start.elapsed();
        assert_eq!(bytes.len() as i64, size);
        println!(
            "| {run} | {:.0} ms | {before} kB | {peak} kB{} | {:.1} MB | {:.1} MB | {:.0} ms |",
            took.as_secs_f64() * 1000.0,
            if reset { "" } else { " (sampled)" },
            peak.saturating_sub(before) as f64 / 1024.0,
            size as f64 / 1_048_576.0,
            download.as_secs_f64() * 1000.0,
        );
    }
    db.drop_it().await;
}
