//! The reference storefront (`examples/storefront`) in a real browser against the real server
//! and the Stripe stand-in (issue 15): the test builds the storefront (GraphQL Code Generator
//! against `graphql/schema.graphql`, `tsc`, Vite), then `e2e/journey.mjs` drives Debian's
//! Chromium through browse → register → buy → pay (signed webhook) → lesson → application with
//! a PDF → consent withdrawn, saving a screenshot per step under
//! `target/storefront-artifacts/`. What the browser did is then checked through the API as the
//! new account.
//!
//! Needs Node.js and Chromium (`/usr/bin/chromium`, installed with `apt-get install chromium`
//! when missing and possible). Outside CI a missing tool skips the test with the reason; with
//! `CI` true it fails.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestApp;
use pupitre::http::graphql::PersistedMode;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

fn skip_or_fail(why: &str) -> Option<()> {
    assert!(!common::ci(), "CI is set and {why}: the storefront's browser test cannot run");
    eprintln!("SKIPPED the storefront browser test: {why}");
    None
}

/// Debian's Chromium, installed when missing (the machine's package manager, as root).
fn chromium() -> Option<PathBuf> {
    if !Path::new(CHROMIUM).exists() {
        let installed = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
        if !installed || !Path::new(CHROMIUM).exists() {
            return skip_or_fail("Chromium is missing and `apt-get install chromium` failed")
                .map(|()| PathBuf::new());
        }
    }
    Some(PathBuf::from(CHROMIUM))
}

/// `npm ci` (first time) and `npm run build` in the storefront.
fn build_storefront(dir: &Path) -> Option<()> {
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_ok {
        return skip_or_fail("Node.js is not installed");
    }
    if !dir.join("node_modules/playwright-core").exists() {
        let st = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(dir)
            .status()
            .expect("npm runs");
        assert!(st.success(), "npm ci in examples/storefront failed");
    }
    let out = Command::new("npm").args(["run", "build"]).current_dir(dir).output().expect("npm");
    assert!(
        out.status.success(),
        "the storefront does not build against graphql/schema.graphql:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

async fn login(app: &TestApp, base: &str, email: &str, password: &str) -> String {
    let login = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }";
    let r = app.gql_on(base, None, login, json!({ "e": email, "p": password })).await;
    r.assert_ok()["login"]["accessToken"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storefront_takes_a_learner_from_browsing_to_the_privacy_centre() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/storefront");
    let Some(browser) = chromium() else { return };
    if build_storefront(&dir).is_none() {
        return;
    }
    // Trusted documents: the storefront's every operation is registered and sent by hash. Access
    // tokens live 30 s (the shortest allowed), so that the storefront, which renews a token with
    // less than 30 s left, refreshes its session before each signed-in operation: the whole
    // signed-in journey can take under a second (with 31 s it did, and nothing was renewed).
    let trusted = |s: &mut pupitre::config::Settings| {
        s.persisted_queries = PersistedMode::Trusted;
        s.access_token_ttl_secs = 30;
    };
    let (app, stripe) = TestApp::with_stripe("sqlite", trusted).await.expect("SQLite app");
    // A second instance on the same database that runs any query (the test's own checks).
    let open = app.another_instance_with(|s| s.persisted_queries = PersistedMode::Automatic).await;
    // The shop is served from 127.0.0.2, which development does not allow by itself: the
    // organisation lists it as its storefront (CORS), as an admin would.
    let shop_port = std::net::TcpListener::bind("127.0.0.2:0")
        .expect("a port on 127.0.0.2")
        .local_addr()
        .expect("address")
        .port();
    let shop_origin = format!("http://127.0.0.2:{shop_port}");
    let admin = login(&app, &open, common::demo::ADMIN, common::DEMO_PASSWORD).await;
    let set = "mutation($o: [String!]) { updateTenantSettings(input: { corsOrigins: $o }) { settings { corsOrigins } } }";
    app.gql_on(&open, Some(&admin), set, json!({ "o": [shop_origin] })).await.assert_ok();
    app.services().tenants.invalidate().await;
    let newsletter_choices = "consent_records WHERE purpose = 'marketing_email'";
    let choices_before = app.count(newsletter_choices).await;
    let revoked = "auth_sessions WHERE revoked_at IS NOT NULL";
    let revoked_before = app.count(revoked).await;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/storefront-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let journey = tokio::process::Command::new("node")
        .arg("e2e/journey.mjs")
        .current_dir(&dir)
        .env("PUPITRE_GRAPHQL", app.url("/graphql"))
        .env("STRIPE_BASE", &stripe.base_url)
        .env("STRIPE_PK", &stripe.publishable_key)
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser)
        .env("SHOP_HOST", "127.0.0.2")
        .env("SHOP_PORT", shop_port.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), journey)
        .await
        .expect("the journey ends within 3 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(artifacts.join("browser.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the browser journey failed: {stdout}\n{}\nbrowser log:\n{log}\n(screenshots in {})",
        String::from_utf8_lossy(&out.stderr),
        artifacts.display()
    );
    let result: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("journey JSON");
    let shots = std::fs::read_dir(&artifacts)
        .expect("artifacts")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png")))
        .count();
    assert_eq!(shots, 9, "a screenshot per step");

    // The session was refreshed (each refresh token used once, rotated) and never revoked.
    assert!(app.count("refresh_tokens WHERE used_at IS NOT NULL").await > 0, "refreshed");
    assert_eq!(app.count(revoked).await, revoked_before, "no session was revoked");
    // Registered operations by hash, anonymous reads by GET, nothing signed in by GET.
    let calls = &result["calls"];
    assert_eq!(calls["signedInGets"], 0, "{calls}");
    assert!(calls["anonymousGets"].as_u64().is_some_and(|n| n > 0), "{calls}");
    assert_eq!(calls["withText"], 0, "every JSON request and GET goes by hash: {calls}");
    assert_eq!(calls["uploads"], 1, "{calls}");

    // What the browser did, as the API sees it for that account.
    let email = result["email"].as_str().expect("email");
    let token = login(&app, &open, email, "un mot de passe assez long").await;
    let order = app
        .gql_on(
            &open,
            Some(&token),
            "query($id: ID!) { order(id: $id) { status payment { paidAt } } }",
            json!({ "id": result["order"] }),
        )
        .await;
    assert_eq!(order.assert_ok()["order"]["status"], "PAID");
    let succeeded: Vec<String> = stripe
        .events()
        .into_iter()
        .filter(|e| e.type_ == "payment_intent.succeeded")
        .map(|e| e.id)
        .collect();
    let delivered = stripe
        .deliveries()
        .iter()
        .any(|d| succeeded.contains(&d.event_id) && d.status == Some(200));
    assert!(delivered, "Pupitre learnt the payment from the signed webhook");
    let me = app
        .gql_on(
            &open,
            Some(&token),
            "{ me { consents { purpose granted } enrollments { status progress { completedLessons } } } applications { edges { node { status documents { mimeType } } } } }",
            json!({}),
        )
        .await;
    let d = me.assert_ok();
    let enrollments = d["me"]["enrollments"].as_array().expect("enrollments");
    assert_eq!(enrollments.len(), 1);
    assert_eq!(enrollments[0]["status"], "ACTIVE");
    assert_eq!(enrollments[0]["progress"]["completedLessons"], 1);
    let apps = d["applications"]["edges"].as_array().expect("applications");
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["node"]["status"], "SUBMITTED");
    assert_eq!(apps[0]["node"]["documents"], json!([{ "mimeType": "application/pdf" }]));
    let newsletter = d["me"]["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .find(|c| c["purpose"] == "MARKETING_EMAIL")
        .cloned()
        .expect("the newsletter consent is on record");
    assert_eq!(newsletter["granted"], false, "withdrawn in the privacy centre");
    // Given at registration, then withdrawn: both choices are in the ledger.
    assert_eq!(app.count(newsletter_choices).await, choices_before + 2);
}
