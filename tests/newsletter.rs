//! Newsletter subscriptions and e-mail delivery, end to end, against a real SMTP server the
//! test starts (`common::smtp`): subscribe → confirmation mail → confirm → a newsletter issue
//! with the RFC 8058 headers → one-click unsubscribe (idempotent) → nothing more; the same
//! answer for every address; a stopped SMTP server delays mail without duplicating it; bad input
//! names its field; billing, instructors and reviewers see no subscription.

#![expect(clippy::expect_used, reason = "a failed set-up must abort the test with its reason")]

mod common;

use common::smtp::SmtpSink;
use common::{TestApp, demo};
use pupitre::config::{SmtpSecurity, SmtpSettings};
use serde_json::{Value, json};

const SUBSCRIBE: &str = "mutation($input: SubscribeNewsletterInput!) { subscribeNewsletter(input: $input) { accepted } }";
const TENANT: (&str, &str) = ("x-pupitre-tenant", "demo");

async fn app_with_sink(backend: &str, sink: &SmtpSink) -> Option<TestApp> {
    let port = sink.port;
    let tweak = move |s: &mut pupitre::config::Settings| {
        s.mail.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            timeout_secs: 5,
        });
        s.mail.retry_base_secs = 60;
        s.public_url = "https://learn.example.test".into();
    };
    match backend {
        "sqlite" => Some(TestApp::sqlite_with(tweak).await),
        _ => TestApp::postgres_with(tweak).await,
    }
}

async fn subscribe(app: &TestApp, email: &str, locale: &str) -> common::Gql {
    app.gql_with(
        None,
        &[TENANT],
        SUBSCRIBE,
        json!({ "input": { "email": email, "topics": ["courses"], "locale": locale } }),
    )
    .await
}

/// Undoes the quoted-printable soft line breaks and `=3D` of a text part.
fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
        .replace("\r\n ", " ")
        .replace("\n ", " ")
}

fn token_in(message: &str, path: &str) -> String {
    let text = unfold(message);
    let re =
        regex::Regex::new(&format!(r"{path}\?token=([0-9a-f]{{32}}\.[0-9a-f]+)")).expect("regex");
    re.captures(&text)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("no {path} link in {text}"))
}

async fn deliver(app: &TestApp) {
    pupitre::jobs::run_once(app.services()).await;
}

async fn subscribe_confirm_receive_and_unsubscribe_in_one_click(backend: &str) {
    let Some(sink) = SmtpSink::start().await else { return };
    let Some(app) = app_with_sink(backend, &sink).await else { return };
    let before_ledger = app.count("consent_records").await;

    // Subscribe: the answer reveals nothing, and the confirmation arrives over SMTP.
    let first = subscribe(&app, "newcomer@example.org", "en").await;
    assert_eq!(first.assert_ok()["subscribeNewsletter"]["accepted"], true);
    deliver(&app).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "one confirmation: {mail:?}");
    assert!(mail[0].contains("To: newcomer@example.org"), "{}", mail[0]);
    assert!(unfold(&mail[0]).contains("confirm your newsletter subscription"), "{}", mail[0]);
    assert!(mail[0].contains("text/plain") && mail[0].contains("text/html"));
    assert!(!mail[0].contains("List-Unsubscribe"), "a confirmation is not a newsletter");
    let token = token_in(&mail[0], "/newsletter/confirm");

    // The same answer for a pending, an account's and a new address.
    for email in ["newcomer@example.org", demo::LEARNER, "other@example.org"] {
        let again = subscribe(&app, email, "fr").await;
        assert_eq!(again.body, first.body, "{email}");
    }

    // Confirm through the plain link: subscribed, with a grant in the consent ledger.
    let res = app
        .client
        .get(app.url(&format!("/newsletter/confirm?token={token}")))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("consent_records").await, before_ledger + 1);
    // Single use: the confirmed subscription answers "already", a made-up token is refused.
    let bad = app
        .gql_with(
            None,
            &[TENANT],
            "mutation($t: String!) { confirmNewsletter(input: {token: $t}) { confirmed } }",
            json!({ "t": format!("{}.00", &token[..32]) }),
        )
        .await;
    assert!(bad.errors().is_empty(), "a confirmed subscription stays confirmed: {}", bad.body);
    let forged = app
        .gql_with(
            None,
            &[TENANT],
            "mutation($t: String!) { confirmNewsletter(input: {token: $t}) { confirmed } }",
            json!({ "t": "0190b5a4e9b87c6a9d3f0e1a2b3c4d5e.00" }),
        )
        .await;
    forged.assert_bad_input("input.token");

    // A newsletter issue carries the RFC 8058 headers.
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenant").expect("demo");
    let sub = uuid::Uuid::parse_str(&token[..32]).expect("subscription id");
    pupitre::domain::newsletter::queue_issue(
        app.services(),
        tenant.id,
        sub,
        "courses",
        "Spring courses",
        "New courses.\n\nSee you soon.",
    )
    .await
    .expect("queued");
    let sent_before = sink.messages().len();
    deliver(&app).await;
    let mail = sink.messages();
    let issues: Vec<&String> =
        mail.iter().filter(|m| m.contains("Subject: Spring courses")).collect();
    assert_eq!(issues.len(), 1, "{mail:?}");
    assert!(mail.len() > sent_before);
    let issue = unfold(issues[0]);
    assert!(issue.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{issue}");
    let header =
        issue.lines().find(|l| l.starts_with("List-Unsubscribe:")).expect("List-Unsubscribe");
    assert!(header.contains("<mailto:"), "{header}");
    let url =
        header.split('<').nth(1).and_then(|s| s.split('>').next()).expect("https link").to_owned();
    assert!(url.starts_with("https://learn.example.test/newsletter/unsubscribe?token="), "{url}");

    // One click (POST, no sign-in), twice: idempotent, one withdrawal in the ledger.
    let path = url.trim_start_matches("https://learn.example.test");
    for _ in 0..2 {
        let res = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("post");
        assert_eq!(res.status().as_u16(), 200);
    }
    assert_eq!(app.count("consent_records").await, before_ledger + 2);
    assert_eq!(app.count("marketing_suppressions").await, 1, "the address is suppressed");

    // Nothing more: the next issue is dropped at send time; only the unsubscribe receipt goes.
    pupitre::domain::newsletter::queue_issue(
        app.services(),
        tenant.id,
        sub,
        "courses",
        "Summer courses",
        "More.",
    )
    .await
    .expect("queued");
    deliver(&app).await;
    deliver(&app).await;
    let mail = sink.messages();
    assert!(
        !mail.iter().any(|m| m.contains("Subject: Summer courses")),
        "nothing after unsubscribing"
    );
    let receipts = mail.iter().filter(|m| m.contains("unsubscribed from the newsletter")).count();
    assert_eq!(receipts, 1, "one unsubscribe receipt");

    // Subscribing again without confirming does not bring the address back.
    subscribe(&app, "newcomer@example.org", "en").await.assert_ok();
    assert_eq!(app.count("marketing_suppressions").await, 1);
}

async fn a_stopped_smtp_server_delays_mail_without_duplicating_it(backend: &str) {
    let Some(mut sink) = SmtpSink::start().await else { return };
    let Some(app) = app_with_sink(backend, &sink).await else { return };
    sink.stop().await;
    for email in ["one@example.org", "two@example.org"] {
        subscribe(&app, email, "fr").await.assert_ok();
    }
    deliver(&app).await;
    assert!(sink.messages().is_empty());
    // Not due yet: nothing is attempted before the backoff.
    sink.restart().await;
    deliver(&app).await;
    assert!(sink.messages().is_empty(), "retried before its backoff");
    app.clock.advance_secs(61);
    deliver(&app).await;
    deliver(&app).await;
    app.clock.advance_secs(3600);
    deliver(&app).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 2, "each message once: {mail:?}");
    assert!(mail.iter().any(|m| m.contains("To: one@example.org")));
    assert!(mail.iter().any(|m| m.contains("To: two@example.org")));
    assert!(mail[0].contains("Confirmez") || mail[0].contains("confirmez"), "French: {}", mail[0]);
}

async fn bad_input_names_its_field(app: TestApp) {
    let cases: [(Value, &str); 4] = [
        (
            json!({ "email": "not-an-address", "topics": ["courses"], "locale": "fr" }),
            "input.email",
        ),
        (json!({ "email": "a@example.org", "topics": [], "locale": "fr" }), "input.topics"),
        (
            json!({ "email": "a@example.org", "topics": ["Bad Topic!"], "locale": "fr" }),
            "input.topics",
        ),
        (
            json!({ "email": "a@example.org", "topics": ["courses"], "locale": "de" }),
            "input.locale",
        ),
    ];
    let outbox = app.count("outbox").await;
    for (input, field) in cases {
        app.gql_with(None, &[TENANT], SUBSCRIBE, json!({ "input": input }))
            .await
            .assert_bad_input(field);
    }
    assert_eq!(app.count("newsletter_subscriptions").await, 0);
    assert_eq!(app.count("outbox").await, outbox, "no confirmation queued");
}

/// The retention of subscriptions: an unconfirmed one goes when its link expires (7 days), any
/// other 3 years after the last interaction.
async fn subscriptions_go_when_unconfirmed_or_three_years_after_the_last_interaction(app: TestApp) {
    subscribe(&app, "pending@example.org", "fr").await.assert_ok();
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenant").expect("demo").id;
    let now = app.clock.now();
    let (conn, _) = pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
    for (name, last) in [
        ("old", now - chrono::Duration::days(3 * 365 + 1)),
        ("recent", now - chrono::Duration::days(1)),
    ] {
        use pupitre::entities::newsletter_subscription as ns;
        use sea_orm::{ActiveValue::Set, EntityTrait};
        ns::Entity::insert(ns::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            tenant_id: Set(tenant),
            user_id: Set(None),
            email: Set(format!("{name}@example.org")),
            email_hash: Set(format!("hash-{name}")),
            topics: Set("[\"courses\"]".into()),
            locale: Set("fr".into()),
            status: Set(ns::NewsletterStatus::Subscribed),
            confirm_token_hash: Set(None),
            confirm_expires_at: Set(None),
            consented_at: Set(Some(last)),
            consent_source: Set(Some("form".into())),
            consent_policy_version: Set(None),
            consent_topics: Set(None),
            unsubscribed_at: Set(None),
            last_interaction_at: Set(last),
            created_at: Set(last),
            soft_bounces: Set(0),
        })
        .exec_without_returning(&conn)
        .await
        .expect("inserted");
    }
    let sweep = || pupitre::domain::newsletter::sweep(app.services(), 500);
    assert_eq!(sweep().await.expect("sweep"), 1, "the old subscription");
    assert_eq!(app.count("newsletter_subscriptions WHERE email = 'old@example.org'").await, 0);
    assert_eq!(app.count("newsletter_subscriptions").await, 2);
    app.clock.advance_secs(7 * 24 * 3600 + 60);
    assert_eq!(sweep().await.expect("sweep"), 1, "the expired confirmation");
    assert_eq!(app.count("newsletter_subscriptions WHERE email = 'pending@example.org'").await, 0);
    assert_eq!(app.count("newsletter_subscriptions WHERE email = 'recent@example.org'").await, 1);
    assert_eq!(sweep().await.expect("sweep"), 0, "idempotent");
}

async fn billing_instructors_and_reviewers_see_no_subscription(app: TestApp) {
    subscribe(&app, demo::LEARNER, "fr").await.assert_ok();
    let learner = app.user_id(demo::LEARNER).await;
    let q = "query($id: ID!) { user(id: $id) { id newsletterSubscriptions { status } } }";
    let own = app
        .gql(
            Some(&app.token(demo::LEARNER).await),
            "{ me { newsletterSubscriptions { status topics source } } }",
            json!({}),
        )
        .await;
    assert_eq!(own.assert_ok()["me"]["newsletterSubscriptions"][0]["status"], "PENDING");
    assert_eq!(own.data()["me"]["newsletterSubscriptions"][0]["source"], "form");
    for staff in [demo::BILLING, demo::INSTRUCTOR, demo::REVIEWER] {
        let r = app.gql(Some(&app.token(staff).await), q, json!({ "id": learner })).await;
        let code = r.code_at("user.newsletterSubscriptions");
        let hidden = r.data()["user"].is_null() || code.as_deref() == Some("FORBIDDEN");
        assert!(hidden, "{staff}: {}", r.body);
        assert!(r.data()["user"]["newsletterSubscriptions"].is_null(), "{staff}: {}", r.body);
    }
    let support = app.gql(Some(&app.token(demo::SUPPORT).await), q, json!({ "id": learner })).await;
    assert_eq!(support.assert_ok()["user"]["newsletterSubscriptions"][0]["status"], "PENDING");
}

on_each_backend!(
    subscribe_confirm_receive_and_unsubscribe_in_one_click,
    a_stopped_smtp_server_delays_mail_without_duplicating_it,
);

mod both {
    use super::*;
    on_both_databases!(
        bad_input_names_its_field,
        billing_instructors_and_reviewers_see_no_subscription,
        subscriptions_go_when_unconfirmed_or_three_years_after_the_last_interaction
    );
}
