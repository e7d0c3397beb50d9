//! The retention sweep (SPEC §5) on SQLite and PostgreSQL, with the test clock: for each row of
//! the SPEC table that has data today, rows just past their cut-off go and rows just short of
//! it stay; a dry run changes nothing; an interrupted sweep resumes; two sweeps at once remove
//! each row once; every batch is audited; the audit log's rows go only through the retention
//! gate; only the privacy officer reads the report and sets periods, within legal bounds; the
//! scheduled job sweeps once per interval; the command prints its summary.
//!
//! Rows are arranged with SQL (never through the sweep's own code), then the clock is moved
//! past the period, so that the older row is an hour past its cut-off and the younger one an
//! hour short of it.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{TestApp, demo};
use pupitre::domain::retention::{self, Origin, Silent, SweepOptions, TenantSweep};
use pupitre::policy::retention::RuleId;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use serde_json::json;
use uuid::Uuid;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// A test server with the demo tenant's ids and a direct connection for arranging rows.
struct World {
    app: TestApp,
    db: DatabaseConnection,
    tenant: Uuid,
    learner: Uuid,
    /// Two sessions of the demo catalogue (with their course) and a lesson of the first.
    sessions: [(Uuid, Uuid); 2],
    lesson: Uuid,
}

impl World {
    async fn new(app: TestApp) -> World {
        let (db, _) = pupitre::db::connect(&app.settings().database_url, 2).await.expect("db");
        let tenant =
            app.services().tenants.by_slug("demo").await.expect("tenant").expect("demo").id;
        let learner = app.user_id(demo::LEARNER).await.parse().expect("uuid");
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT s.id AS id, s.course_id AS course FROM sessions s \
                 WHERE s.tenant_id = $1 AND EXISTS (SELECT 1 FROM lessons l WHERE l.course_id = s.course_id) \
                 ORDER BY s.id LIMIT 2",
                [tenant.into()],
            ))
            .await
            .expect("sessions");
        let pair = |i: usize| -> (Uuid, Uuid) {
            (rows[i].try_get("", "id").expect("id"), rows[i].try_get("", "course").expect("course"))
        };
        let sessions = [pair(0), pair(1)];
        let lesson: Uuid = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT id FROM lessons WHERE course_id = $1 LIMIT 1",
                [sessions[0].1.into()],
            ))
            .await
            .expect("lesson")
            .expect("a lesson")
            .try_get("", "id")
            .expect("id");
        World { app, db, tenant, learner, sessions, lesson }
    }

    fn now(&self) -> DateTime<Utc> {
        self.app.clock.now()
    }

    async fn sql(&self, sql: &str, values: Vec<Value>) {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn try_sql(&self, sql: &str, values: Vec<Value>) -> Result<u64, String> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string())
    }

    /// `SELECT COUNT(*) FROM table WHERE cond`.
    async fn count(&self, table: &str, cond: &str, values: Vec<Value>) -> i64 {
        self.db
            .query_one_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table} WHERE {cond}"),
                values,
            ))
            .await
            .expect("count")
            .expect("row")
            .try_get("", "n")
            .expect("n")
    }

    async fn exists(&self, table: &str, id: Uuid) -> bool {
        self.count(table, "id = $1", vec![id.into()]).await == 1
    }

    fn opts(&self, dry_run: bool) -> SweepOptions {
        let mut o = if dry_run {
            SweepOptions::dry_run(500)
        } else {
            SweepOptions::sweep(Origin::Command, 500)
        };
        o.tenant = Some(self.tenant);
        o
    }

    async fn run(&self, opts: SweepOptions) -> TenantSweep {
        let mut out =
            retention::sweep(self.app.services(), &opts, &Silent).await.expect("sweep runs");
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    async fn sweep(&self) -> TenantSweep {
        let r = self.run(self.opts(false)).await;
        assert_eq!(r.error, None, "{r:?}");
        assert_eq!(r.skipped, None);
        r
    }

    /// A dry run (the command's `--dry-run`, and the report's look ahead).
    async fn dry_run(&self) -> TenantSweep {
        self.run(self.opts(true)).await
    }

    /// A new account of the demo tenant (no contract, no role), last seen `at`.
    async fn person(&self, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        self.sql(
            "INSERT INTO users (id, tenant_id, email, first_name, last_name, locale, status, last_contact_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'Paul', 'Personne', 'fr', 'active', $4, $4, $4)",
            vec![id.into(), self.tenant.into(), format!("{id}@example.org").into(), at.into()],
        )
        .await;
        id
    }

    fn advance_days(&self, days: i64) {
        self.app.clock.advance_secs(days * DAY);
    }

    async fn outbox(&self, status: &str, sent_at: Option<DateTime<Utc>>) -> Uuid {
        let id = Uuid::now_v7();
        self.sql(
            "INSERT INTO outbox (id, tenant_id, recipient_id, kind, payload, status, attempts, created_at, sent_at) \
             VALUES ($1, $2, $3, 'payment_receipt', '{}', $4, 1, $5, $6)",
            vec![
                id.into(),
                self.tenant.into(),
                self.learner.into(),
                status.into(),
                (sent_at.unwrap_or_else(|| self.now()) - Duration::seconds(HOUR)).into(),
                sent_at.into(),
            ],
        )
        .await;
        id
    }

    /// A data-subject request about the learner, closed at `completed_at` (open if `None`),
    /// with one step, and an erasure report with one table line.
    async fn request(&self, kind: &str, completed_at: Option<DateTime<Utc>>) -> Uuid {
        let id = Uuid::now_v7();
        let received = completed_at.unwrap_or_else(|| self.now()) - Duration::days(10);
        let status = if completed_at.is_some() { "done" } else { "in_progress" };
        self.sql(
            "INSERT INTO data_subject_requests (id, tenant_id, subject_id, requested_by, channel, kind, status, \
             received_at, due_at, identity_check, completed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, 'api', $4, $5, $6, $7, 'fresh password', $8, $6, $6)",
            vec![
                id.into(),
                self.tenant.into(),
                self.learner.into(),
                kind.into(),
                status.into(),
                received.into(),
                (received + Duration::days(30)).into(),
                completed_at.into(),
            ],
        )
        .await;
        self.sql(
            "INSERT INTO data_subject_request_steps (id, tenant_id, request_id, position, name, status, \
             attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, 0, 'erase', 'done', 1, $4, $4)",
            vec![Uuid::now_v7().into(), self.tenant.into(), id.into(), received.into()],
        )
        .await;
        let report = Uuid::now_v7();
        self.sql(
            "INSERT INTO erasure_reports (id, tenant_id, request_id, started_at, orders_cancelled, \
             documents_deleted, consents_withdrawn, suppressed) VALUES ($1, $2, $3, $4, 0, 0, 0, TRUE)",
            vec![report.into(), self.tenant.into(), id.into(), received.into()],
        )
        .await;
        self.sql(
            "INSERT INTO erasure_report_tables (id, tenant_id, report_id, position, table_name, outcome, \
             row_count, released_count, references_cleared, references_kept, done_at) \
             VALUES ($1, $2, $3, 0, 'orders', 'erased', 1, 0, 0, 0, $4)",
            vec![Uuid::now_v7().into(), self.tenant.into(), report.into(), received.into()],
        )
        .await;
        id
    }

    async fn audit(&self, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        self.sql(
            "INSERT INTO audit_log (id, tenant_id, at, actor_id, actor_roles, action, category, subject_id, purpose, details, request_id) \
             VALUES ($1, $2, $3, NULL, 'support', 'personal_data.read', 'contact', $4, 'customer_service', NULL, 'test')",
            vec![id.into(), self.tenant.into(), at.into(), self.learner.into()],
        )
        .await;
        id
    }

    async fn consent(&self, purpose: &str, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        self.sql(
            "INSERT INTO consent_records (id, tenant_id, subject_user_id, subject_visitor_id, purpose, granted, recorded_at, source, policy_version, recorded_by) \
             VALUES ($1, $2, NULL, 'visitor-0123456789abcdef', $3, TRUE, $4, 'cookie-banner', NULL, NULL)",
            vec![id.into(), self.tenant.into(), purpose.into(), at.into()],
        )
        .await;
        id
    }

    /// A sign-in session of the learner with one refresh token.
    async fn auth_session(
        &self,
        expires_at: DateTime<Utc>,
        revoked_at: Option<DateTime<Utc>>,
    ) -> (Uuid, Uuid) {
        let (id, token) = (Uuid::now_v7(), Uuid::now_v7());
        self.sql(
            "INSERT INTO auth_sessions (id, tenant_id, user_id, created_at, expires_at, revoked_at, revoked_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            vec![
                id.into(),
                self.tenant.into(),
                self.learner.into(),
                (self.now() - Duration::days(1)).into(),
                expires_at.into(),
                revoked_at.into(),
            ],
        )
        .await;
        self.sql(
            "INSERT INTO refresh_tokens (id, session_id, token_hash, issued_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
            vec![
                token.into(),
                id.into(),
                format!("hash-{token}").into(),
                (self.now() - Duration::days(1)).into(),
                expires_at.into(),
            ],
        )
        .await;
        (id, token)
    }

    async fn live_class(&self, ends_at: DateTime<Utc>, recording: Option<&str>) -> Uuid {
        let id = Uuid::now_v7();
        self.sql(
            "INSERT INTO live_classes (id, tenant_id, session_id, title, starts_at, ends_at, recorded, recording_ref) \
             VALUES ($1, $2, $3, 'Classe', $4, $5, $6, $7)",
            vec![
                id.into(),
                self.tenant.into(),
                self.sessions[0].0.into(),
                (ends_at - Duration::seconds(HOUR)).into(),
                ends_at.into(),
                recording.is_some().into(),
                recording.map(str::to_owned).into(),
            ],
        )
        .await;
        id
    }

    async fn recording_ref(&self, id: Uuid) -> Option<String> {
        self.db
            .query_one_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT recording_ref FROM live_classes WHERE id = $1",
                [id.into()],
            ))
            .await
            .expect("read")
            .expect("row")
            .try_get("", "recording_ref")
            .expect("recording_ref")
    }

    /// An enrollment of `learner` in session `i` with its status and end.
    async fn enrollment(
        &self,
        i: usize,
        learner: Uuid,
        status: &str,
        ended: DateTime<Utc>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let (completed, cancelled) = match status {
            "completed" => (Some(ended), None),
            _ => (None, Some(ended)),
        };
        self.sql(
            "INSERT INTO enrollments (id, tenant_id, session_id, learner_id, status, created_at, hold_expires_at, activated_at, completed_at, cancelled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $6, $7, $8)",
            vec![
                id.into(),
                self.tenant.into(),
                self.sessions[i].0.into(),
                learner.into(),
                status.into(),
                (ended - Duration::days(30)).into(),
                completed.into(),
                cancelled.into(),
            ],
        )
        .await;
        id
    }

    /// A paid order with one line, and its invoice issued at `issued_at`.
    async fn invoiced_order(&self, seq: i64, issued_at: DateTime<Utc>) -> (Uuid, Uuid) {
        let (order, invoice) = (Uuid::now_v7(), Uuid::now_v7());
        let created = issued_at - Duration::seconds(HOUR);
        self.sql(
            "INSERT INTO orders (id, tenant_id, buyer_id, learner_id, status, currency, subtotal_cents, discount_cents, tax_cents, total_cents, refunded_cents, \
             idempotency_key, request_hash, billing_name, billing_address, payment_intent_id, client_secret, last_payment_error, hold_expires_at, paid_at, closed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, 'paid', 'EUR', 10000, 0, 2000, 12000, 0, $4, 'h', 'Léa Martin', '{}', NULL, NULL, NULL, $5, $5, NULL, $5, $5)",
            vec![
                order.into(),
                self.tenant.into(),
                self.learner.into(),
                format!("test-{seq}").into(),
                created.into(),
            ],
        )
        .await;
        self.sql(
            "INSERT INTO order_lines (id, tenant_id, order_id, position, session_id, course_id, description, unit_price_cents, tax_rate_bp, discount_cents, tax_cents, total_cents, enrollment_id) \
             VALUES ($1, $2, $3, 0, $4, $5, 'Cours', 10000, 2000, 0, 2000, 12000, NULL)",
            vec![
                Uuid::now_v7().into(),
                self.tenant.into(),
                order.into(),
                self.sessions[0].0.into(),
                self.sessions[0].1.into(),
            ],
        )
        .await;
        self.sql(
            "INSERT INTO invoices (id, tenant_id, order_id, buyer_id, series, seq, number, refund_id, credits_invoice_id, currency, total_cents, tax_cents, snapshot, issued_at) \
             VALUES ($1, $2, $3, $4, 'AV', $5, $6, NULL, NULL, 'EUR', 12000, 2000, '{}', $7)",
            vec![
                invoice.into(),
                self.tenant.into(),
                order.into(),
                self.learner.into(),
                (900_000 + seq).into(),
                format!("AV-{}", 900_000 + seq).into(),
                issued_at.into(),
            ],
        )
        .await;
        (order, invoice)
    }

    /// An equal-opportunity application of the learner with one document whose blob is in the
    /// document store.
    async fn application(&self, last_contact: DateTime<Utc>) -> (Uuid, Uuid, String) {
        let (app_id, doc) = (Uuid::now_v7(), Uuid::now_v7());
        self.sql(
            "INSERT INTO eo_applications (id, tenant_id, applicant_id, created_by, course_id, session_id, status, income_bracket, scholarship_holder, situation, \
             discount_percent, decision_reason, reviewer_note, decided_by, submitted_at, decided_at, last_contact_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, $4, NULL, 'withdrawn', NULL, FALSE, 'situation', NULL, NULL, NULL, NULL, NULL, NULL, $5, $5, $5)",
            vec![
                app_id.into(),
                self.tenant.into(),
                self.learner.into(),
                self.sessions[0].1.into(),
                last_contact.into(),
            ],
        )
        .await;
        let key = pupitre::domain::equal_opportunity::vault::storage_key(self.tenant, doc);
        self.app
            .services()
            .documents
            .store
            .put(&key, b"sealed bytes".to_vec())
            .await
            .expect("blob stored");
        self.sql(
            "INSERT INTO eo_documents (id, tenant_id, application_id, kind, original_name, mime_type, size_bytes, sha256, storage_key, key_id, wrapped_key, last_contact_at, created_at) \
             VALUES ($1, $2, $3, 'tax_notice', 'avis.pdf', 'application/pdf', 12, 'x', $4, 'dev', $5, $6, $6)",
            vec![
                doc.into(),
                self.tenant.into(),
                app_id.into(),
                key.clone().into(),
                vec![0u8; 8].into(),
                last_contact.into(),
            ],
        )
        .await;
        (app_id, doc, key)
    }
}

// ---------------------------------------------------------------------------------------------
// One test per SPEC §5 row.
// ---------------------------------------------------------------------------------------------

async fn recording_references_go_after_the_organisations_period(app: TestApp) {
    let w = World::new(app).await;
    // Signed in before the clock moves (a token is not valid before its `nbf`).
    let dpo = w.app.token(demo::DPO).await;
    let set = "mutation($d: Int!) { setRetentionPeriod(input: {rule: RECORDING, days: $d}) { policy { days } } }";
    // The demo organisation keeps recordings 14 days; this one 7.
    w.app.gql(Some(&dpo), set, json!({ "d": 7 })).await.assert_ok();
    let now = w.now();
    let past = w.live_class(now - Duration::seconds(HOUR), Some("https://rec.example/a")).await;
    let short = w.live_class(now + Duration::seconds(HOUR), Some("https://rec.example/b")).await;
    w.advance_days(7);
    let r = w.sweep().await;
    assert_eq!(w.recording_ref(past).await, None, "7 days and an hour after the class");
    assert!(w.recording_ref(short).await.is_some(), "an hour short of 7 days");
    assert!(w.exists("live_classes", past).await, "the class itself stays");
    assert!(r.rows(RuleId::Recording, "live_classes") >= 1);

    // Back to 14 days: a class 8 days ago keeps its recording.
    w.app.gql(Some(&dpo), set, json!({ "d": 14 })).await.assert_ok();
    let eight = w.live_class(w.now() - Duration::days(8), Some("https://rec.example/c")).await;
    w.sweep().await;
    assert!(w.recording_ref(eight).await.is_some());
    assert!(w.recording_ref(short).await.is_some());
    w.advance_days(7);
    w.sweep().await;
    assert_eq!(w.recording_ref(eight).await, None, "15 days after the class");
    assert!(w.recording_ref(short).await.is_some(), "an hour short of 14 days");
}

async fn equal_opportunity_data_goes_three_years_after_the_last_contact(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let (old, old_doc, old_key) = w.application(now - Duration::seconds(HOUR)).await;
    let (young, young_doc, young_key) = w.application(now + Duration::seconds(HOUR)).await;
    w.advance_days(3 * 365);
    let r = w.sweep().await;
    assert!(!w.exists("eo_applications", old).await);
    assert!(!w.exists("eo_documents", old_doc).await);
    let store = &w.app.services().documents.store;
    assert!(store.get(&old_key).await.is_err(), "the blob is gone too");
    assert!(w.exists("eo_applications", young).await);
    assert!(w.exists("eo_documents", young_doc).await);
    assert!(store.get(&young_key).await.is_ok());
    assert!(r.rows(RuleId::EqualOpportunity, "eo_applications") >= 1);
    assert!(r.rows(RuleId::EqualOpportunity, "eo_documents") >= 1);
    // The existing destroy path audited the application with the purpose `retention`.
    let audited = w
        .count(
            "audit_log",
            &format!(
                "action = 'application.deleted' AND purpose = 'retention' AND subject_id = $1 \
                 AND CAST(details AS TEXT) LIKE '%{old}%'"
            ),
            vec![w.learner.into()],
        )
        .await;
    assert_eq!(audited, 1);
}

async fn contract_data_goes_ten_years_after_the_end(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let (learner, learner2) = (w.person(now).await, w.person(now).await);
    let ended = w.enrollment(0, learner, "completed", now - Duration::seconds(HOUR)).await;
    let cancelled = w.enrollment(1, learner, "cancelled", now - Duration::seconds(HOUR)).await;
    let recent = w.enrollment(0, learner2, "completed", now + Duration::seconds(HOUR)).await;
    w.sql(
        "INSERT INTO lesson_completions (enrollment_id, lesson_id, tenant_id, completed_at) VALUES ($1, $2, $3, $4)",
        vec![ended.into(), w.lesson.into(), w.tenant.into(), (now - Duration::days(40)).into()],
    )
    .await;
    // A class of the first session, attended by both learners.
    let class = w.live_class(now - Duration::days(35), None).await;
    for learner in [learner, learner2] {
        w.sql(
            "INSERT INTO live_class_attendance (live_class_id, learner_id, tenant_id, joined_at, left_at, talk_seconds, chat_messages, hand_raises, poll_answers) \
             VALUES ($1, $2, $3, $4, $4, 10, 1, 0, 0)",
            vec![class.into(), learner.into(), w.tenant.into(), (now - Duration::days(35)).into()],
        )
        .await;
    }
    w.advance_days(10 * 365);
    let r = w.sweep().await;
    assert!(!w.exists("enrollments", ended).await);
    assert!(!w.exists("enrollments", cancelled).await);
    assert!(w.exists("enrollments", recent).await, "ended an hour short of 10 years");
    assert_eq!(w.count("lesson_completions", "enrollment_id = $1", vec![ended.into()]).await, 0);
    let attendance = |l: Uuid| {
        w.count(
            "live_class_attendance",
            "live_class_id = $1 AND learner_id = $2",
            vec![class.into(), l.into()],
        )
    };
    assert_eq!(attendance(learner).await, 0, "none of her enrollments in the session is kept");
    assert_eq!(attendance(learner2).await, 1, "his enrollment in the session is kept");
    assert!(r.rows(RuleId::Contract, "enrollments") >= 2);
    assert!(r.rows(RuleId::Contract, "lesson_completions") >= 1);
}

async fn invoices_and_their_orders_go_ten_years_after_issue(app: TestApp) {
    let w = World::new(app).await;
    // The organisation cannot shorten it: accounting records are kept 10 years by law.
    let dpo = w.app.token(demo::DPO).await;
    w.app
        .gql(
            Some(&dpo),
            "mutation { setRetentionPeriod(input: {rule: ACCOUNTING, days: 1825}) { policy { days } } }",
            json!({}),
        )
        .await
        .assert_bad_input("input.days");
    let now = w.now();
    let (old_order, old_invoice) = w.invoiced_order(1, now - Duration::seconds(HOUR)).await;
    let (young_order, young_invoice) = w.invoiced_order(2, now + Duration::seconds(HOUR)).await;
    w.advance_days(10 * 365);
    let r = w.sweep().await;
    assert!(!w.exists("invoices", old_invoice).await);
    assert!(!w.exists("orders", old_order).await);
    assert_eq!(w.count("order_lines", "order_id = $1", vec![old_order.into()]).await, 0);
    assert!(w.exists("invoices", young_invoice).await, "issued an hour short of 10 years");
    assert!(w.exists("orders", young_order).await, "its invoice is kept, so is the order");
    assert_eq!(w.count("order_lines", "order_id = $1", vec![young_order.into()]).await, 1);
    assert!(r.rows(RuleId::Accounting, "invoices") >= 1);
    assert!(r.rows(RuleId::Accounting, "order_lines") >= 1);
}

async fn cookie_consents_go_after_thirteen_months(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let old = w.consent("analytics_cookies", now - Duration::seconds(HOUR)).await;
    let young = w.consent("advertising_cookies", now + Duration::seconds(HOUR)).await;
    let marketing = w.consent("marketing_email", now - Duration::seconds(HOUR)).await;
    w.advance_days(397);
    let r = w.sweep().await;
    assert!(!w.exists("consent_records", old).await);
    assert!(w.exists("consent_records", young).await);
    assert!(w.exists("consent_records", marketing).await, "not a cookie consent");
    assert_eq!(r.rows(RuleId::CookieConsent, "consent_records"), 1);
    // The ledger is still append-only for everyone else.
    let err = w.try_sql("DELETE FROM consent_records WHERE id = $1", vec![young.into()]).await;
    assert!(err.is_err_and(|e| e.contains("append-only")));
}

async fn expired_sessions_and_their_refresh_tokens_go(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let (expired, expired_token) = w.auth_session(now + Duration::seconds(HOUR), None).await;
    let (revoked, _) =
        w.auth_session(now + Duration::days(20), Some(now - Duration::days(1))).await;
    let (open, open_token) = w.auth_session(now + Duration::seconds(3 * HOUR), None).await;
    w.app.clock.advance_secs(2 * HOUR);
    let r = w.sweep().await;
    assert!(!w.exists("auth_sessions", expired).await);
    assert!(!w.exists("refresh_tokens", expired_token).await);
    assert!(!w.exists("auth_sessions", revoked).await);
    assert!(w.exists("auth_sessions", open).await);
    assert!(w.exists("refresh_tokens", open_token).await);
    assert!(r.rows(RuleId::Sessions, "auth_sessions") >= 2);
    assert!(r.rows(RuleId::Sessions, "refresh_tokens") >= 1);
}

async fn login_failures_go_once_out_of_the_throttling_window(app: TestApp) {
    let w = World::new(app).await;
    let window = w.app.settings().login_window_secs;
    let now = w.now();
    let (old, recent) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, at) in [
        (old, now - Duration::seconds(window + HOUR)),
        (recent, now - Duration::seconds(window - 60)),
    ] {
        w.sql(
            "INSERT INTO login_failures (id, tenant_id, key_hash, at) VALUES ($1, $2, 'k', $3)",
            vec![id.into(), w.tenant.into(), at.into()],
        )
        .await;
    }
    let r = w.sweep().await;
    assert!(!w.exists("login_failures", old).await);
    assert!(w.exists("login_failures", recent).await, "still counts for throttling");
    assert!(r.rows(RuleId::LoginFailures, "login_failures") >= 1);
}

async fn audit_entries_go_after_two_years_through_the_gate_only(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let old = w.audit(now - Duration::seconds(HOUR)).await;
    let young = w.audit(now + Duration::seconds(HOUR)).await;
    // A plain DELETE fails, whatever its age.
    for id in [old, young] {
        let err = w.try_sql("DELETE FROM audit_log WHERE id = $1", vec![id.into()]).await;
        assert!(err.is_err_and(|e| e.contains("append-only")), "{id}");
    }
    w.advance_days(2 * 365);
    let r = w.sweep().await;
    assert!(!w.exists("audit_log", old).await);
    assert!(w.exists("audit_log", young).await);
    assert!(r.rows(RuleId::AuditLog, "audit_log") >= 1);
    // Outside the sweep the table is append-only again; UPDATE stays refused.
    let err = w.try_sql("DELETE FROM audit_log WHERE id = $1", vec![young.into()]).await;
    assert!(err.is_err_and(|e| e.contains("append-only")));
    let err =
        w.try_sql("UPDATE audit_log SET purpose = 'x' WHERE id = $1", vec![young.into()]).await;
    assert!(err.is_err_and(|e| e.contains("append-only")));
    // A gate row lets only rows of its tenant older than its cut-off go, never a younger one.
    let gate = Uuid::now_v7();
    let cutoff = w.now() - Duration::days(2 * 365);
    w.sql(
        "INSERT INTO retention_gate (id, tenant_id, target_table, cutoff, opened_at) VALUES ($1, $2, 'audit_log', $3, $4)",
        vec![gate.into(), w.tenant.into(), cutoff.into(), w.now().into()],
    )
    .await;
    let err = w.try_sql("DELETE FROM audit_log WHERE id = $1", vec![young.into()]).await;
    assert!(err.is_err_and(|e| e.contains("append-only")), "younger than the gate's cut-off");
    w.sql("DELETE FROM retention_gate WHERE id = $1", vec![gate.into()]).await;
    // The gate's use is itself audited: the batch's entry says so.
    let gated = w
        .count(
            "audit_log",
            "action = 'retention.swept' AND purpose = 'retention' \
             AND (CAST(details AS TEXT) LIKE '%\"gate\":true%' OR CAST(details AS TEXT) LIKE '%\"gate\": true%')",
            vec![],
        )
        .await;
    assert!(gated >= 1);
}

async fn sent_mail_goes_thirty_days_after_sending(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let old = w.outbox("sent", Some(now - Duration::seconds(HOUR))).await;
    let young = w.outbox("sent", Some(now + Duration::seconds(HOUR))).await;
    let queued = w.outbox("queued", None).await;
    w.advance_days(30);
    let r = w.sweep().await;
    assert!(!w.exists("outbox", old).await);
    assert!(w.exists("outbox", young).await);
    assert!(w.exists("outbox", queued).await, "not sent yet");
    assert_eq!(r.rows(RuleId::Outbox, "outbox"), 1);
}

async fn closed_requests_go_two_years_after_their_close_with_their_steps_and_reports(app: TestApp) {
    let w = World::new(app).await;
    let now = w.now();
    let old = w.request("erasure", Some(now - Duration::seconds(HOUR))).await;
    let young = w.request("access", Some(now + Duration::seconds(HOUR))).await;
    let open = w.request("rectification", None).await;
    // A closed request that carries a post-mortem directive stays while the directive does.
    let directive = w.request("post_mortem_directive", Some(now - Duration::seconds(HOUR))).await;
    w.sql(
        "INSERT INTO post_mortem_directives (id, tenant_id, subject_id, request_id, instructions, outcome, created_at) \
         VALUES ($1, $2, $3, $4, 'Supprimez tout.', 'delete', $5)",
        vec![
            Uuid::now_v7().into(),
            w.tenant.into(),
            w.learner.into(),
            directive.into(),
            now.into(),
        ],
    )
    .await;
    let of = |id: Uuid| -> Vec<Value> { vec![id.into()] };
    let reports = "request_id = $1";
    let lines = "report_id IN (SELECT id FROM erasure_reports WHERE request_id = $1)";
    assert_eq!(w.count("erasure_report_tables", lines, of(old)).await, 1);
    w.advance_days(2 * 365);
    let r = w.sweep().await;
    assert!(!w.exists("data_subject_requests", old).await);
    assert_eq!(w.count("data_subject_request_steps", reports, of(old)).await, 0);
    assert_eq!(w.count("erasure_reports", reports, of(old)).await, 0);
    assert_eq!(w.count("erasure_report_tables", lines, of(old)).await, 0);
    for (kept, why) in [(young, "an hour short"), (open, "still open"), (directive, "directive")] {
        assert!(w.exists("data_subject_requests", kept).await, "{why}");
        assert_eq!(w.count("data_subject_request_steps", reports, of(kept)).await, 1, "{why}");
        assert_eq!(w.count("erasure_report_tables", lines, of(kept)).await, 1, "{why}");
    }
    assert_eq!(r.rows(RuleId::Requests, "data_subject_requests"), 1);
    assert_eq!(r.rows(RuleId::Requests, "erasure_report_tables"), 1);
    assert_eq!(r.rows(RuleId::Requests, "data_subject_request_steps"), 1);
}

async fn contact_requests_go_three_years_after_the_last_exchange(app: TestApp) {
    let w = World::new(app).await;
    let request = |at: DateTime<Utc>| {
        let w = &w;
        async move {
            let id = Uuid::now_v7();
            w.sql(
                "INSERT INTO contact_requests (id, tenant_id, name, email, email_hash, message, locale, \
                 contact_consent, phone_consent, status, created_at, last_contact_at) \
                 VALUES ($1, $2, 'Camille', $3, $4, 'Bonjour', 'fr', false, false, 'open', $5, $6)",
                vec![
                    id.into(),
                    w.tenant.into(),
                    format!("{id}@example.org").into(),
                    id.simple().to_string().into(),
                    (at - Duration::days(400)).into(),
                    at.into(),
                ],
            )
            .await;
            id
        }
    };
    let now = w.now();
    // Created long ago, but answered 10 days ago: the clock runs from the last exchange.
    let recent = request(now - Duration::days(10)).await;
    let old = request(now - Duration::days(3 * 365 + 1)).await;
    let r = w.sweep().await;
    assert_eq!(r.rows(RuleId::ContactRequests, "contact_requests"), 1);
    assert!(!w.exists("contact_requests", old).await);
    assert!(w.exists("contact_requests", recent).await);
    w.advance_days(3 * 365 - 9);
    let r = w.sweep().await;
    assert_eq!(r.rows(RuleId::ContactRequests, "contact_requests"), 1);
    assert!(!w.exists("contact_requests", recent).await);
}

async fn prospects_are_reported_as_due_and_never_deleted_here(app: TestApp) {
    let w = World::new(app).await;
    let before = {
        let mut o = w.opts(true);
        o.as_of = Some(w.now() + Duration::days(3 * 365) + Duration::seconds(HOUR));
        w.run(o).await.rows(RuleId::Prospect, "users")
    };
    let prospect = w.person(w.now()).await;
    w.advance_days(3 * 365);
    w.app.clock.advance_secs(HOUR);
    let r = w.sweep().await;
    assert_eq!(r.rows(RuleId::Prospect, "users"), before + 1);
    assert!(w.exists("users", prospect).await, "account erasure, not the sweep, erases them");
}

// ---------------------------------------------------------------------------------------------
// How the sweep runs.
// ---------------------------------------------------------------------------------------------

/// Rows of every registered table.
async fn snapshot(w: &World) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in pupitre::policy::registry::TABLES {
        let n = w.count(t.name, "1 = 1", vec![]).await;
        let nulls = if t.name == "live_classes" {
            w.count(t.name, "recording_ref IS NULL", vec![]).await
        } else {
            0
        };
        out.push((t.name.to_owned(), n * 1_000_000 + nulls));
    }
    out
}

/// Expired rows of several kinds (outbox, audit, consents, sessions).
async fn arrange_expired(w: &World, n: usize) {
    let now = w.now();
    for _ in 0..n {
        w.outbox("sent", Some(now - Duration::days(31))).await;
        w.audit(now - Duration::days(2 * 365 + 1)).await;
        w.consent("analytics_cookies", now - Duration::days(400)).await;
        w.auth_session(now - Duration::seconds(HOUR), None).await;
    }
}

async fn a_dry_run_changes_nothing(app: TestApp) {
    let w = World::new(app).await;
    arrange_expired(&w, 3).await;
    let before = snapshot(&w).await;
    let dry = w.dry_run().await;
    assert_eq!(snapshot(&w).await, before, "no table changed");
    assert!(dry.total() >= 12, "{dry:?}");
    // The real sweep removes what the dry run announced.
    let real = w.sweep().await;
    assert_eq!(real.total(), dry.total());
    for c in &dry.counts {
        assert_eq!(real.rows(c.rule, c.table), c.rows, "{:?} {}", c.rule, c.table);
    }
    assert_eq!(w.dry_run().await.total(), 0);
}

async fn an_interrupted_sweep_resumes(app: TestApp) {
    let w = World::new(app).await;
    arrange_expired(&w, 2).await;
    let due = w.dry_run().await.total();
    let mut o = w.opts(false);
    o.batch_size = 1;
    o.stop_after_batches = Some(1);
    let stopped = w.run(o).await;
    assert_eq!(stopped.batches, 1);
    assert!(stopped.error.is_some(), "{stopped:?}");
    assert!(stopped.total() >= 1);
    let left = w.dry_run().await.total();
    assert_eq!(left, due - stopped.total(), "one batch went, nothing else");
    // The stopped run is recorded with its reason.
    let run = stopped.run_id.expect("recorded");
    assert_eq!(
        w.count(
            "retention_runs",
            "id = $1 AND error IS NOT NULL AND finished_at IS NOT NULL",
            vec![run.into()]
        )
        .await,
        1
    );
    let resumed = w.sweep().await;
    assert_eq!(resumed.total(), left);
    assert_eq!(w.dry_run().await.total(), 0);
}

/// Two sweeps of the tenant started at the same instant (two instances, or the job and the
/// command), each with batches of 4 rows, within a minute (a deadlock or a lock wait that never
/// ends fails here).
async fn race_two_sweeps(w: &World, lock: bool) -> Vec<TenantSweep> {
    let race = common::race(2, |_| {
        let mut o = w.opts(false);
        o.batch_size = 4;
        o.lock = lock;
        w.run(o)
    });
    tokio::time::timeout(std::time::Duration::from_secs(60), race)
        .await
        .expect("both sweeps end within a minute")
}

async fn two_sweeps_at_once_remove_each_row_once(app: TestApp) {
    let w = World::new(app).await;
    arrange_expired(&w, 15).await;
    let due = w.dry_run().await.total();
    let runs = race_two_sweeps(&w, true).await;
    for r in &runs {
        assert_eq!(r.error, None, "{r:?}");
    }
    assert_eq!(runs.iter().map(TenantSweep::total).sum::<u64>(), due, "{runs:?}");
    assert_eq!(w.dry_run().await.total(), 0);
    if w.app.backend == "postgres" {
        // The advisory lock: one sweeps, the other skips the tenant this round.
        assert_eq!(runs.iter().filter(|r| r.skipped.is_some()).count(), 1, "{runs:?}");
    }
    // Every batch was audited with what it removed: the entries add up to the total.
    let logged: u64 = audit_counts(&w).await.iter().sum();
    assert_eq!(logged, due);
}

/// The lock is not what keeps rows from going twice: without it, two sweeps share the work
/// (on PostgreSQL each batch skips the rows the other has locked; on SQLite batches take
/// turns), neither fails or deadlocks, and what they report and audit adds up to what was due.
async fn two_sweeps_without_the_lock_still_remove_each_row_once(app: TestApp) {
    let w = World::new(app).await;
    arrange_expired(&w, 15).await;
    let due = w.dry_run().await.total();
    assert!(due >= 60, "{due}");
    let runs = race_two_sweeps(&w, false).await;
    for r in &runs {
        assert_eq!(r.error, None, "{r:?}");
        assert_eq!(r.skipped, None, "{r:?}");
    }
    assert_eq!(runs.iter().map(TenantSweep::total).sum::<u64>(), due, "{runs:?}");
    assert_eq!(w.dry_run().await.total(), 0);
    let logged: u64 = audit_counts(&w).await.iter().sum();
    assert_eq!(logged, due, "no batch audited a row another batch removed");
    assert_eq!(w.count("retention_gate", "1 = 1", vec![]).await, 0, "every gate closed");
}

/// The rows (own and related) of every `retention.swept` audit entry.
async fn audit_counts(w: &World) -> Vec<u64> {
    let rows =
        w.db.query_all_raw(Statement::from_string(
            w.db.get_database_backend(),
            "SELECT details FROM audit_log WHERE action = 'retention.swept'",
        ))
        .await
        .expect("audit");
    rows.iter()
        .map(|r| {
            let d: serde_json::Value = r.try_get("", "details").expect("details");
            let related: u64 = d["related"]
                .as_object()
                .map(|o| o.values().filter_map(serde_json::Value::as_u64).sum())
                .unwrap_or(0);
            d["rows"].as_u64().expect("rows") + related
        })
        .collect()
}

async fn every_batch_writes_one_audit_entry_without_personal_data(app: TestApp) {
    let w = World::new(app).await;
    arrange_expired(&w, 3).await;
    let mut o = w.opts(false);
    o.batch_size = 2;
    let r = w.run(o).await;
    let entries = w.count("audit_log", "action = 'retention.swept'", vec![]).await;
    assert_eq!(u64::try_from(entries).expect("n"), r.batches);
    let rows = w
        .db
        .query_all_raw(Statement::from_string(
            w.db.get_database_backend(),
            "SELECT details, subject_id, actor_id, purpose FROM audit_log WHERE action = 'retention.swept'",
        ))
        .await
        .expect("audit");
    for row in rows {
        let d: serde_json::Value = row.try_get("", "details").expect("details");
        for key in ["runId", "rule", "table", "rows", "cutoff", "action"] {
            assert!(d.get(key).is_some(), "{key} in {d}");
        }
        assert_eq!(row.try_get::<Option<Uuid>>("", "subject_id").expect("subject"), None);
        assert_eq!(row.try_get::<Option<Uuid>>("", "actor_id").expect("actor"), None);
        assert_eq!(row.try_get::<String>("", "purpose").expect("purpose"), "retention");
        assert!(!d.to_string().contains('@'), "no e-mail address: {d}");
    }
    assert_eq!(audit_counts(&w).await.iter().sum::<u64>(), r.total());
}

async fn the_scheduled_job_sweeps_each_tenant_once_per_interval(app: TestApp) {
    let w = World::new(app).await;
    let jobs =
        || w.count("retention_runs", "origin = 'job' AND tenant_id = $1", vec![w.tenant.into()]);
    pupitre::jobs::run_once(w.app.services()).await;
    assert_eq!(jobs().await, 1);
    pupitre::jobs::run_once(w.app.services()).await;
    assert_eq!(jobs().await, 1, "the last sweep is younger than the interval");
    w.app.clock.advance_secs(HOUR + 1);
    pupitre::jobs::run_once(w.app.services()).await;
    assert_eq!(jobs().await, 2);
}

// ---------------------------------------------------------------------------------------------
// The report and the periods, through the API.
// ---------------------------------------------------------------------------------------------

const REPORT: &str = "{ retentionReport { dueAsOf policies { rule days defaultDays overridden minDays maxDays boundsReason tables action description } \
    runs { id origin startedAt finishedAt error counts { rule table action rows cutoff } } due { rule table action rows cutoff } } }";

async fn only_the_privacy_officer_reads_the_report_and_sets_periods(app: TestApp) {
    let set =
        "mutation { setRetentionPeriod(input: {rule: OUTBOX, days: 60}) { policy { days } } }";
    let anonymous = app.gql_with(None, &[("x-pupitre-tenant", "demo")], REPORT, json!({})).await;
    assert_eq!(anonymous.code_at("retentionReport").as_deref(), Some("UNAUTHENTICATED"));
    for email in [
        demo::LEARNER,
        demo::GUARDIAN,
        demo::INSTRUCTOR,
        demo::SUPPORT,
        demo::BILLING,
        demo::REVIEWER,
        demo::MARKETING,
        demo::ADMIN,
        demo::INTEGRATION,
    ] {
        let t = app.token(email).await;
        let r = app.gql(Some(&t), REPORT, json!({})).await;
        assert_eq!(r.code_at("retentionReport").as_deref(), Some("FORBIDDEN"), "{email}");
        assert!(r.data()["retentionReport"].is_null());
        let r = app.gql(Some(&t), set, json!({})).await;
        assert_eq!(r.code_at("setRetentionPeriod").as_deref(), Some("FORBIDDEN"), "{email}");
    }
    let dpo = app.token(demo::DPO).await;
    app.gql(Some(&dpo), REPORT, json!({})).await.assert_ok();
    app.gql(Some(&dpo), set, json!({})).await.assert_ok();
}

async fn the_report_shows_rules_runs_and_what_is_due_within_thirty_days(app: TestApp) {
    let w = World::new(app).await;
    let dpo = w.app.token(demo::DPO).await;
    // Sent 10 days ago: not due now, due within 30 days.
    w.outbox("sent", Some(w.now() - Duration::days(10))).await;
    let r = w.app.gql(Some(&dpo), REPORT, json!({})).await;
    let report = &r.assert_ok()["retentionReport"];
    assert_eq!(report["policies"].as_array().expect("policies").len(), RuleId::ALL.len());
    let due_outbox = report["due"]
        .as_array()
        .expect("due")
        .iter()
        .find(|c| c["rule"] == "OUTBOX" && c["table"] == "outbox")
        .expect("outbox counted")
        .clone();
    assert!(due_outbox["rows"].as_i64().expect("rows") >= 1, "{due_outbox}");
    assert!(report["runs"].as_array().expect("runs").is_empty(), "no sweep yet");
    assert_eq!(w.dry_run().await.rows(RuleId::Outbox, "outbox"), 0, "not due today");

    // A sweep is listed with its counts; a dry run, which changes nothing, is not.
    w.outbox("sent", Some(w.now() - Duration::days(40))).await;
    w.sweep().await;
    w.dry_run().await;
    let r = w.app.gql(Some(&dpo), REPORT, json!({})).await;
    let runs = r.assert_ok()["retentionReport"]["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["origin"], "COMMAND");
    assert!(runs[0]["finishedAt"].is_string());
    let went = runs[0]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .find(|c| c["table"] == "outbox")
        .expect("outbox")
        .clone();
    assert_eq!(went["rows"], 1);
    assert_eq!(went["action"], "DELETE");
}

async fn periods_stay_within_their_legal_bounds_and_changes_are_audited(app: TestApp) {
    let w = World::new(app).await;
    let dpo = w.app.token(demo::DPO).await;
    let set = "mutation($r: RetentionRule!, $d: Int!) { setRetentionPeriod(input: {rule: $r, days: $d}) { policy { rule days overridden } } }";
    for (rule, days) in
        [("CONTRACT", 4 * 365), ("RECORDING", 10), ("AUDIT_LOG", 3 * 365), ("OUTBOX", 0)]
    {
        w.app
            .gql(Some(&dpo), set, json!({ "r": rule, "d": days }))
            .await
            .assert_bad_input("input.days");
    }
    // Five years for customers, as one seed promises.
    let r = w.app.gql(Some(&dpo), set, json!({ "r": "CONTRACT", "d": 5 * 365 })).await;
    let p = &r.assert_ok()["setRetentionPeriod"]["policy"];
    assert_eq!(p["days"], 5 * 365);
    assert_eq!(p["overridden"], true);
    let r = w.app.gql(Some(&dpo), REPORT, json!({})).await;
    let contract = r.assert_ok()["retentionReport"]["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["rule"] == "CONTRACT")
        .expect("contract")
        .clone();
    assert_eq!(contract["days"], 5 * 365);
    assert_eq!(contract["defaultDays"], 10 * 365);
    assert_eq!(
        w.count(
            "audit_log",
            "action = 'retention.period_set' AND purpose = 'data_protection'",
            vec![]
        )
        .await,
        1
    );
    // The sweep applies it: an enrollment ended 5 years and an hour ago goes.
    let person = w.person(w.now()).await;
    let e = w.enrollment(0, person, "completed", w.now() - Duration::seconds(HOUR)).await;
    w.advance_days(5 * 365);
    w.sweep().await;
    assert!(!w.exists("enrollments", e).await);
}

on_both_databases!(
    recording_references_go_after_the_organisations_period,
    equal_opportunity_data_goes_three_years_after_the_last_contact,
    contract_data_goes_ten_years_after_the_end,
    invoices_and_their_orders_go_ten_years_after_issue,
    cookie_consents_go_after_thirteen_months,
    expired_sessions_and_their_refresh_tokens_go,
    login_failures_go_once_out_of_the_throttling_window,
    audit_entries_go_after_two_years_through_the_gate_only,
    sent_mail_goes_thirty_days_after_sending,
    closed_requests_go_two_years_after_their_close_with_their_steps_and_reports,
    prospects_are_reported_as_due_and_never_deleted_here,
    contact_requests_go_three_years_after_the_last_exchange,
    a_dry_run_changes_nothing,
    an_interrupted_sweep_resumes,
    two_sweeps_at_once_remove_each_row_once,
    two_sweeps_without_the_lock_still_remove_each_row_once,
    every_batch_writes_one_audit_entry_without_personal_data,
    the_scheduled_job_sweeps_each_tenant_once_per_interval,
    only_the_privacy_officer_reads_the_report_and_sets_periods,
    the_report_shows_rules_runs_and_what_is_due_within_thirty_days,
    periods_stay_within_their_legal_bounds_and_changes_are_audited,
);

/// `pupitre retention run`: a dry run prints its summary and changes nothing; a real run
/// records itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_a_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pupitre"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PUPITRE_LOG_FORMAT", "json")
            .current_dir(dir.path())
            .args(args);
        c.output().expect("binary runs")
    };
    assert!(run(&["seed"]).status.success());
    let out = run(&["retention", "run", "--dry-run", "--tenant", "demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("demo (as of "), "{stdout}");
    assert!(stdout.contains("would go"), "{stdout}");
    let out = run(&["retention", "run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" went"));
    let out = run(&["retention", "run", "--tenant", "nobody"]);
    assert!(!out.status.success());
    let out = run(&["retention", "run", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
