//! Newsletter campaigns, end to end, against a real SMTP server the test starts
//! (`common::smtp`): a campaign reaches exactly the subscribers whose consent for its topic is
//! current (with the RFC 8058 headers, in their language); after a one-click unsubscribe the
//! next campaign does not reach them; a consent withdrawn between queueing and sending stops
//! that message; a hard bounce or a complaint stops marketing to the address at once (soft
//! bounces past the limit too); only marketing writes and sends campaigns, only marketing and
//! the privacy officer list the audience, and every page they read is in the audit log (the
//! page, and each listed subscriber who has an account, in their access log), as are the
//! creation and sending of a campaign; bad input names its field and writes nothing.

#![expect(clippy::expect_used, reason = "a failed set-up must abort the test with its reason")]

mod common;

use common::smtp::SmtpSink;
use common::{TestApp, demo};
use pupitre::config::{SmtpSecurity, SmtpSettings};
use serde_json::{Value, json};

const TENANT: (&str, &str) = ("x-pupitre-tenant", "demo");
const SUBSCRIBE: &str = "mutation($input: SubscribeNewsletterInput!) { subscribeNewsletter(input: $input) { accepted } }";
const CREATE: &str = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id status audienceCount } } }";
const SEND: &str = "mutation($id: ID!) { sendCampaign(input: { campaignId: $id }) { campaign { id status queuedCount queuedAt } } }";
const AUDIENCE: &str =
    "query($topic: String) { marketingAudience(topic: $topic) { id email topics } }";

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
        s.public_url = "https://learn.example.test".into();
    };
    match backend {
        "sqlite" => Some(TestApp::sqlite_with(tweak).await),
        _ => TestApp::postgres_with(tweak).await,
    }
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

fn campaign(topic: &str, n: u32) -> Value {
    json!({
        "topic": topic,
        "subjectFr": format!("Cours de printemps {n}"),
        "bodyFr": "De nouveaux cours.\n\nA bientôt.",
        "subjectEn": format!("Spring courses {n}"),
        "bodyEn": "New courses.\n\nSee you soon.",
    })
}

/// Subscribes and confirms `email` for `topics` through the confirmation e-mail.
async fn subscriber(app: &TestApp, sink: &SmtpSink, email: &str, topics: &[&str], locale: &str) {
    app.gql_with(
        None,
        &[TENANT],
        SUBSCRIBE,
        json!({ "input": { "email": email, "topics": topics, "locale": locale } }),
    )
    .await
    .assert_ok();
    deliver(app).await;
    let mail = sink.messages();
    let confirmation = mail
        .iter()
        .rev()
        .find(|m| m.contains(&format!("To: {email}")))
        .unwrap_or_else(|| panic!("no confirmation for {email}"));
    let token = token_in(confirmation, "/newsletter/confirm");
    app.gql_with(
        None,
        &[TENANT],
        "mutation($t: String!) { confirmNewsletter(input: {token: $t}) { confirmed } }",
        json!({ "t": token }),
    )
    .await
    .assert_ok();
}

/// Creates and sends a campaign as marketing; returns its audience preview, queued count and id.
async fn create_and_send(app: &TestApp, marketing: &str, n: u32) -> (i64, i64, String) {
    let created =
        app.gql(Some(marketing), CREATE, json!({ "input": campaign("courses", n) })).await;
    let c = &created.assert_ok()["createCampaign"]["campaign"];
    assert_eq!(c["status"], "DRAFT");
    let preview = c["audienceCount"].as_i64().expect("count");
    let id = c["id"].as_str().expect("id").to_owned();
    let sent = app.gql(Some(marketing), SEND, json!({ "id": id })).await;
    let s = &sent.assert_ok()["sendCampaign"]["campaign"];
    assert_eq!(s["status"], "SENT");
    (preview, s["queuedCount"].as_i64().expect("queued"), id)
}

/// The recipients of the messages whose subject mentions campaign `n`.
fn recipients_of(sink: &SmtpSink, n: u32) -> Vec<String> {
    let mut to: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| {
            m.contains(&format!("Subject: Spring courses {n}"))
                || m.contains(&format!("Subject: Cours de printemps {n}"))
        })
        .filter_map(|m| m.lines().find(|l| l.starts_with("To: ")).map(|l| l[4..].trim().to_owned()))
        .collect();
    to.sort();
    to
}

async fn a_campaign_reaches_exactly_the_consenting_subscribers(backend: &str) {
    let Some(sink) = SmtpSink::start().await else { return };
    let Some(app) = app_with_sink(backend, &sink).await else { return };
    subscriber(&app, &sink, "ann@example.org", &["courses"], "en").await;
    subscriber(&app, &sink, "bob@example.org", &["courses", "news"], "fr").await;
    subscriber(&app, &sink, "cat@example.org", &["news"], "en").await;
    // Léa subscribes with the address of her account (topic `news` only).
    subscriber(&app, &sink, demo::LEARNER, &["news"], "fr").await;
    // Dan never confirms: no consent.
    app.gql_with(
        None,
        &[TENANT],
        SUBSCRIBE,
        json!({ "input": { "email": "dan@example.org", "topics": ["courses"], "locale": "en" } }),
    )
    .await
    .assert_ok();
    deliver(&app).await;
    let marketing = app.token(demo::MARKETING).await;

    // Marketing sees the consenting audience of the topic: address and topics.
    let audience = app.gql(Some(&marketing), AUDIENCE, json!({ "topic": "courses" })).await;
    let mut emails: Vec<String> = audience.assert_ok()["marketingAudience"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["email"].as_str().expect("email").to_owned())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann@example.org", "bob@example.org"]);
    audience_read_is_audited(&app, &marketing).await;

    // Campaign 1: exactly Ann (in English) and Bob (in French), with the RFC 8058 headers.
    let (preview, queued, first) = create_and_send(&app, &marketing, 1).await;
    assert_eq!((preview, queued), (2, 2));
    deliver(&app).await;
    assert_eq!(recipients_of(&sink, 1), ["ann@example.org", "bob@example.org"]);
    let mail = sink.messages();
    let to_ann = mail
        .iter()
        .find(|m| m.contains("Subject: Spring courses 1"))
        .map(|m| unfold(m))
        .expect("Ann's issue");
    assert!(to_ann.contains("To: ann@example.org"), "{to_ann}");
    assert!(
        mail.iter()
            .any(|m| m.contains("Subject: Cours de printemps 1")
                && m.contains("To: bob@example.org"))
    );
    assert!(to_ann.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{to_ann}");
    let header =
        to_ann.lines().find(|l| l.starts_with("List-Unsubscribe:")).expect("List-Unsubscribe");
    assert!(header.contains("<mailto:"), "{header}");
    let url =
        header.split('<').nth(1).and_then(|s| s.split('>').next()).expect("https link").to_owned();
    let path = url.trim_start_matches("https://learn.example.test").to_owned();
    assert!(path.starts_with("/newsletter/unsubscribe?token="), "{url}");

    // Ann unsubscribes in one click: campaign 2 reaches Bob only.
    let res = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 200);
    let (preview, queued, _) = create_and_send(&app, &marketing, 2).await;
    assert_eq!((preview, queued), (1, 1));
    deliver(&app).await;
    assert_eq!(recipients_of(&sink, 2), ["bob@example.org"]);

    // Campaign 3 is queued for Bob, who then unsubscribes before it goes: it is not sent.
    let (_, queued, _) = create_and_send(&app, &marketing, 3).await;
    assert_eq!(queued, 1);
    let bob_issue = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("Subject: Cours de printemps 2"))
        .expect("Bob's issue");
    let bob_token = token_in(&bob_issue, "/newsletter/unsubscribe");
    app.gql_with(
        None,
        &[TENANT],
        "mutation($t: String!) { unsubscribeNewsletter(input: {token: $t}) { unsubscribed } }",
        json!({ "t": bob_token }),
    )
    .await
    .assert_ok();
    deliver(&app).await;
    deliver(&app).await;
    assert!(recipients_of(&sink, 3).is_empty(), "a withdrawn consent stops the queued message");
    let dropped = app.count("outbox WHERE kind = 'newsletter_issue' AND status = 'dropped'").await;
    assert_eq!(dropped, 1);
    // Nobody is left: the audience is empty, and a campaign is sent once.
    let audience = app.gql(Some(&marketing), AUDIENCE, json!({ "topic": "courses" })).await;
    assert_eq!(audience.assert_ok()["marketingAudience"], json!([]));
    let campaigns = app.gql(Some(&marketing), "{ campaigns { id status } }", json!({})).await;
    assert_eq!(campaigns.assert_ok()["campaigns"].as_array().map(Vec::len), Some(3));
    let again = app.gql(Some(&marketing), SEND, json!({ "id": first })).await;
    assert_eq!(again.first_code().as_deref(), Some("CONFLICT"), "{}", again.body);
    // Three campaigns written and sent: one entry each, by marketing, about nobody.
    for action in ["campaign.created", "campaign.sent"] {
        let n = app
            .count(&format!(
                "audit_log WHERE action = '{action}' AND purpose = 'marketing' \
                 AND actor_roles = 'marketing' AND subject_id IS NULL AND category IS NULL"
            ))
            .await;
        assert_eq!(n, 3, "{action}");
    }
    assert_eq!(
        app.count(
            "audit_log WHERE action = 'campaign.sent' AND CAST(details AS TEXT) LIKE '%courses%'"
        )
        .await,
        3
    );
}

const AUDIT_OF: &str = "query($s: ID!) { auditLog(first: 20, subjectId: $s) { edges { node { action category purpose actorRoles } } } }";

/// Marketing's audience reads leave their audit entries: one per page (count and topic, never
/// an address) and one about each listed subscriber who has an account (Léa), which she sees
/// in her own access log.
async fn audience_read_is_audited(app: &TestApp, marketing: &str) {
    let pages = "audit_log WHERE action = 'marketing_audience.listed' \
                 AND category = 'marketing_audience' AND purpose = 'marketing' AND subject_id IS NULL";
    assert_eq!(app.count(pages).await, 1, "the page on `courses`");
    let page = "REPLACE(CAST(details AS TEXT), ' ', '')";
    assert_eq!(
        app.count(&format!(
            "{pages} AND {page} LIKE '%\"count\":2%' AND {page} LIKE '%\"topic\":\"courses\"%'"
        ))
        .await,
        1
    );
    let lea = app.user_id(demo::LEARNER).await;
    let about_lea = "audit_log WHERE subject_id IS NOT NULL AND category = 'marketing_audience'";
    assert_eq!(app.count(about_lea).await, 0, "Léa is not in the `courses` audience");

    // The whole audience (every topic): Ann, Bob, Cat and Léa.
    let all = app.gql(Some(marketing), AUDIENCE, json!({})).await;
    assert_eq!(all.assert_ok()["marketingAudience"].as_array().map(Vec::len), Some(4));
    assert_eq!(app.count(pages).await, 2);
    assert_eq!(app.count(&format!("{pages} AND {page} LIKE '%\"count\":4%'")).await, 1);
    assert_eq!(app.count(about_lea).await, 1, "one entry about the one account listed");
    assert_eq!(
        app.count("audit_log WHERE CAST(details AS TEXT) LIKE '%@%'").await,
        0,
        "no address in the audit log"
    );
    let dpo = app.token(demo::DPO).await;
    let log = app.gql(Some(&dpo), AUDIT_OF, json!({ "s": lea })).await;
    let entries = log.assert_ok()["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
    let read = entries
        .iter()
        .find(|e| e["node"]["category"] == "marketing_audience")
        .unwrap_or_else(|| panic!("an audience read about Léa: {entries:?}"));
    assert_eq!(read["node"]["action"], "personal_data.read");
    assert_eq!(read["node"]["purpose"], "marketing");
    assert_eq!(read["node"]["actorRoles"], "marketing");
    let lea_token = app.token(demo::LEARNER).await;
    let mine = app
        .gql(
            Some(&lea_token),
            "{ me { accessLog(first: 20) { edges { node { category purpose } } } } }",
            json!({}),
        )
        .await;
    let mine = mine.assert_ok()["me"]["accessLog"]["edges"].as_array().cloned().unwrap_or_default();
    assert!(
        mine.iter().any(|e| e["node"]["category"] == "marketing_audience"
            && e["node"]["purpose"] == "marketing"),
        "Léa sees marketing's read in her access log: {mine:?}"
    );
}

const FEEDBACK: &str = "mutation($email: String!, $kind: MailFeedback!) { recordMailFeedback(input: { email: $email, kind: $kind }) { recorded } }";

async fn a_bounce_or_complaint_stops_marketing_to_the_address_at_once(backend: &str) {
    let Some(sink) = SmtpSink::start().await else { return };
    let Some(app) = app_with_sink(backend, &sink).await else { return };
    for who in ["ann@example.org", "bob@example.org", "cat@example.org"] {
        subscriber(&app, &sink, who, &["courses"], "en").await;
    }
    let marketing = app.token(demo::MARKETING).await;
    let integration = app.token(demo::INTEGRATION).await;

    // Only the provider's connector (integration), admins and the privacy officer record.
    for staff in [demo::MARKETING, demo::SUPPORT, demo::LEARNER] {
        let t = app.token(staff).await;
        let r = app
            .gql(Some(&t), FEEDBACK, json!({ "email": "ann@example.org", "kind": "HARD_BOUNCE" }))
            .await;
        assert_eq!(r.code_at("recordMailFeedback").as_deref(), Some("FORBIDDEN"), "{staff}");
    }
    app.gql(Some(&integration), FEEDBACK, json!({ "email": "nope", "kind": "COMPLAINT" }))
        .await
        .assert_bad_input("input.email");
    assert_eq!(app.count("marketing_suppressions").await, 0, "nothing written");

    // Campaign 1 is queued for all three; then Ann hard-bounces and Bob complains.
    let (_, queued, _) = create_and_send(&app, &marketing, 1).await;
    assert_eq!(queued, 3);
    let ledger = app.count("consent_records").await;
    for (email, kind) in [("ann@example.org", "HARD_BOUNCE"), ("bob@example.org", "COMPLAINT")] {
        let r =
            app.gql(Some(&integration), FEEDBACK, json!({ "email": email, "kind": kind })).await;
        assert_eq!(r.assert_ok()["recordMailFeedback"]["recorded"], true);
    }
    assert_eq!(app.count("consent_records").await, ledger + 1, "the complaint withdraws consent");
    deliver(&app).await;
    deliver(&app).await;
    assert_eq!(recipients_of(&sink, 1), ["cat@example.org"], "stopped at once, even when queued");
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.contains("To: bob@example.org")
                && m.contains("unsubscribed from the newsletter")),
        "no receipt after a complaint"
    );

    // Soft bounces: counted, and past the limit (5) the address is suppressed too.
    for _ in 0..4 {
        app.gql(
            Some(&integration),
            FEEDBACK,
            json!({ "email": "cat@example.org", "kind": "SOFT_BOUNCE" }),
        )
        .await
        .assert_ok();
    }
    assert_eq!(audience_count(&app, &marketing).await, 1, "four soft bounces: still reached");
    app.gql(
        Some(&integration),
        FEEDBACK,
        json!({ "email": "cat@example.org", "kind": "SOFT_BOUNCE" }),
    )
    .await
    .assert_ok();
    assert_eq!(audience_count(&app, &marketing).await, 0, "the fifth suppresses the address");
    assert_eq!(app.count("marketing_suppressions").await, 3);
}

async fn audience_count(app: &TestApp, marketing: &str) -> i64 {
    let c = app.gql(Some(marketing), CREATE, json!({ "input": campaign("courses", 9) })).await;
    c.assert_ok()["createCampaign"]["campaign"]["audienceCount"].as_i64().expect("count")
}

async fn only_marketing_writes_and_sends_campaigns(app: TestApp) {
    let marketing = app.token(demo::MARKETING).await;
    let created =
        app.gql(Some(&marketing), CREATE, json!({ "input": campaign("courses", 1) })).await;
    let id = created.assert_ok()["createCampaign"]["campaign"]["id"].clone();
    for staff in [
        demo::SUPPORT,
        demo::BILLING,
        demo::INSTRUCTOR,
        demo::REVIEWER,
        demo::ADMIN,
        demo::DPO,
        demo::LEARNER,
    ] {
        let t = app.token(staff).await;
        let c = app.gql(Some(&t), CREATE, json!({ "input": campaign("courses", 2) })).await;
        assert_eq!(
            c.code_at("createCampaign").as_deref(),
            Some("FORBIDDEN"),
            "{staff}: {}",
            c.body
        );
        let s = app.gql(Some(&t), SEND, json!({ "id": id })).await;
        assert_eq!(s.code_at("sendCampaign").as_deref(), Some("FORBIDDEN"), "{staff}: {}", s.body);
        let l = app.gql(Some(&t), "{ campaigns { id } }", json!({})).await;
        assert_eq!(l.code_at("campaigns").as_deref(), Some("FORBIDDEN"), "{staff}: {}", l.body);
        let a = app.gql(Some(&t), AUDIENCE, json!({})).await;
        if staff == demo::DPO {
            a.assert_ok();
            let dpo_pages = "audit_log WHERE action = 'marketing_audience.listed' \
                             AND purpose = 'data_protection' AND actor_roles LIKE '%privacy_officer%'";
            assert_eq!(app.count(dpo_pages).await, 1, "the privacy officer's read is audited too");
        } else {
            assert_eq!(
                a.code_at("marketingAudience").as_deref(),
                Some("FORBIDDEN"),
                "{staff}: {}",
                a.body
            );
        }
    }
    let anon =
        app.gql_with(None, &[TENANT], CREATE, json!({ "input": campaign("courses", 3) })).await;
    assert!(anon.data().is_null() || anon.data()["createCampaign"].is_null(), "{}", anon.body);
    assert!(anon.first_code().is_some());
    assert_eq!(app.count("newsletter_campaigns").await, 1, "only marketing's campaign");
    assert_eq!(app.count("audit_log WHERE action = 'campaign.created'").await, 1);
    assert_eq!(app.count("audit_log WHERE action = 'campaign.sent'").await, 0, "refused: no entry");
    assert_eq!(
        app.count("audit_log WHERE action = 'marketing_audience.listed'").await,
        1,
        "refused reads write nothing"
    );
    assert_eq!(app.count("outbox WHERE kind = 'newsletter_issue'").await, 0);
    let list = app.gql(Some(&marketing), "{ campaigns { id status } }", json!({})).await;
    assert_eq!(list.assert_ok()["campaigns"][0]["status"], "DRAFT");
}

async fn bad_campaign_input_names_its_field(app: TestApp) {
    let marketing = app.token(demo::MARKETING).await;
    let with = |k: &str, v: Value| {
        let mut c = campaign("courses", 1);
        c[k] = v;
        c
    };
    let cases = [
        (with("topic", json!("Bad Topic!")), "input.topic"),
        (with("subjectFr", json!("  ")), "input.subjectFr"),
        (with("bodyFr", json!("")), "input.bodyFr"),
        (with("subjectEn", json!("Two\nlines")), "input.subjectEn"),
        (with("bodyEn", json!("x".repeat(50_001))), "input.bodyEn"),
    ];
    for (input, field) in cases {
        app.gql(Some(&marketing), CREATE, json!({ "input": input })).await.assert_bad_input(field);
    }
    app.gql(Some(&marketing), SEND, json!({ "id": "not-an-id" }))
        .await
        .assert_bad_input("input.campaignId");
    app.gql(Some(&marketing), AUDIENCE, json!({ "topic": "Nope!" }))
        .await
        .assert_bad_input("topic");
    assert_eq!(app.count("newsletter_campaigns").await, 0, "nothing written");
}

on_each_backend!(
    a_campaign_reaches_exactly_the_consenting_subscribers,
    a_bounce_or_complaint_stops_marketing_to_the_address_at_once,
);

mod both {
    use super::*;
    on_both_databases!(
        only_marketing_writes_and_sends_campaigns,
        bad_campaign_input_names_its_field
    );
}
