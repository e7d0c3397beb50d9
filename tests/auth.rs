//! Sign-in: registration, log-in, refresh rotation and reuse detection, log-out, JWT
//! rejections, throttling. Every test runs on SQLite and on PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{DEMO_PASSWORD, JWT_SECRET, TestApp, demo};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pupitre::domain::tenancy::{self, NewTenant};
use pupitre::domain::types::{Email, Slug};
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken tokenType expiresIn user { id email firstName roles acceptedPolicyVersion } } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }";
const ME: &str = "{ me { id email firstName } }";

async fn current_policy(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let r =
        app.gql_with(None, headers, "{ tenant { privacyPolicy { version } } }", json!({})).await;
    r.assert_ok()["tenant"]["privacyPolicy"]["version"].as_str().expect("policy version").to_owned()
}

fn registration(email: &str, version: &str) -> Value {
    json!({ "input": {
        "email": email, "password": "a long enough passphrase", "firstName": "Zoé", "lastName": "Lambert",
        "acceptedPolicyVersion": version, "marketingEmailConsent": false
    }})
}

async fn register_login_refresh_reuse_and_logout(app: TestApp) {
    // Arrange
    let version = current_policy(&app, &[]).await;

    // Register: signed in at once, acceptance recorded, e-mail normalised.
    let r = app.gql(None, REGISTER, registration("  Zoe.Lambert@Example.TEST ", &version)).await;
    let reg = &r.assert_ok()["register"];
    assert_eq!(reg["tokenType"], "Bearer");
    assert_eq!(reg["user"]["email"], "zoe.lambert@example.test");
    assert_eq!(reg["user"]["roles"], json!(["LEARNER"]));
    assert_eq!(reg["user"]["acceptedPolicyVersion"], version.as_str());

    // The same e-mail again is a conflict; a stale policy version is bad input.
    let dup = app.gql(None, REGISTER, registration("zoe.lambert@example.test", &version)).await;
    assert_eq!(dup.first_code().as_deref(), Some("CONFLICT"));
    let stale = app.gql(None, REGISTER, registration("other@example.test", "1999-01")).await;
    assert_eq!(stale.first_code().as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(stale.errors()[0]["extensions"]["field"], "input.acceptedPolicyVersion");

    // Log in → me.
    let (access_a, refresh_a, id) =
        app.login_with("zoe.lambert@example.test", "a long enough passphrase").await;
    let me = app.gql(Some(&access_a), ME, json!({})).await;
    assert_eq!(me.assert_ok()["me"]["id"], id.as_str());
    assert_eq!(me.data()["me"]["email"], "zoe.lambert@example.test");

    // Refresh rotates the refresh token.
    let r = app.gql(None, REFRESH, json!({ "t": refresh_a })).await;
    let rotated = &r.assert_ok()["refreshToken"];
    let refresh_b =
        r.data()["refreshToken"]["refreshToken"].as_str().expect("new refresh").to_owned();
    let access_b = r.data()["refreshToken"]["accessToken"].as_str().expect("new access").to_owned();
    assert!(rotated.is_object());
    assert_ne!(refresh_a, refresh_b);
    assert_eq!(app.gql(Some(&access_b), ME, json!({})).await.assert_ok()["me"]["id"], id.as_str());

    // Reusing the old refresh token revokes the whole family.
    let reuse = app.gql(None, REFRESH, json!({ "t": refresh_a })).await;
    assert_eq!(reuse.first_code().as_deref(), Some("UNAUTHENTICATED"));
    let after = app.gql(None, REFRESH, json!({ "t": refresh_b })).await;
    assert_eq!(
        after.first_code().as_deref(),
        Some("UNAUTHENTICATED"),
        "the newer token died with its family"
    );
    let me_b = app.gql(Some(&access_b), ME, json!({})).await;
    assert_eq!(
        me_b.code_at("me").as_deref(),
        Some("UNAUTHENTICATED"),
        "access tokens of the family stop working"
    );

    // Log out: the session's tokens stop working at once.
    let (access_c, refresh_c, _) =
        app.login_with("zoe.lambert@example.test", "a long enough passphrase").await;
    let out = app
        .gql(Some(&access_c), "mutation { logout(input: {}) { revokedSessions } }", json!({}))
        .await;
    assert_eq!(out.assert_ok()["logout"]["revokedSessions"], 1);
    assert_eq!(
        app.gql(Some(&access_c), ME, json!({})).await.code_at("me").as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({ "t": refresh_c })).await.first_code().as_deref(),
        Some("UNAUTHENTICATED")
    );
}

fn claims(app_claims: &Value, overrides: Value) -> Value {
    let mut c = app_claims.clone();
    if let (Some(map), Some(over)) = (c.as_object_mut(), overrides.as_object()) {
        for (k, v) in over {
            map.insert(k.clone(), v.clone());
        }
    }
    c
}

fn decode_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64");
    serde_json::from_slice(&bytes).expect("claims json")
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

async fn forged_and_foreign_tokens_are_rejected(app: TestApp) {
    use base64::Engine;
    let (valid, refresh, _) = app.login(demo::LEARNER).await;
    let good = decode_claims(&valid);
    let now = chrono::Utc::now().timestamp();

    // Control: a token we sign ourselves with the right secret and claims is accepted.
    let control = sign(&good, JWT_SECRET);
    assert!(
        app.gql(Some(&control), ME, json!({})).await.errors().is_empty(),
        "control token must work"
    );

    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good));
    let cases: Vec<(&str, String)> = vec![
        ("alg none", alg_none),
        ("bad signature", sign(&good, "another-secret-another-secret-0123456789")),
        (
            "expired",
            sign(
                &claims(&good, json!({"exp": now - 3600, "nbf": now - 7200, "iat": now - 7200})),
                JWT_SECRET,
            ),
        ),
        ("not yet valid", sign(&claims(&good, json!({"nbf": now + 3600})), JWT_SECRET)),
        ("wrong audience", sign(&claims(&good, json!({"aud": "someone-else"})), JWT_SECRET)),
        ("wrong issuer", sign(&claims(&good, json!({"iss": "evil"})), JWT_SECRET)),
        ("not an access token", sign(&claims(&good, json!({"typ": "refresh"})), JWT_SECRET)),
        ("refresh token as access token", refresh.clone()),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    for (name, token) in cases {
        let r = app.gql(Some(&token), ME, json!({})).await;
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert_eq!(r.first_code().as_deref(), Some("UNAUTHENTICATED"), "{name}: {}", r.body);
        assert!(r.body.get("data").is_none_or(Value::is_null), "{name}: no data");
    }

    // Another tenant's token: valid for its own tenant, refused when the request names ours,
    // and it cannot reach our users even by id.
    let other = tenancy::create(
        app.services(),
        NewTenant {
            slug: Slug::parse("slug", "autre-ecole").expect("slug"),
            name: "Autre école".into(),
            dpo_name: "DPO".into(),
            dpo_email: Email::parse("e", "dpo@autre.test").expect("email"),
            host: None,
        },
        "v1",
        "https://autre.test/privacy",
    )
    .await
    .expect("tenant created");
    let hdr = [("x-pupitre-tenant", "autre-ecole")];
    let r = app.gql_with(None, &hdr, REGISTER, registration("eve@autre.test", "v1")).await;
    let foreign = r.assert_ok()["register"]["accessToken"].as_str().expect("token").to_owned();
    assert_eq!(other.slug, "autre-ecole");
    let own = app.gql(Some(&foreign), ME, json!({})).await;
    assert_eq!(own.assert_ok()["me"]["email"], "eve@autre.test");
    let mismatch =
        app.gql_with(Some(&foreign), &[("x-pupitre-tenant", "demo")], ME, json!({})).await;
    assert_eq!(mismatch.status, 401);
    assert_eq!(mismatch.first_code().as_deref(), Some("UNAUTHENTICATED"));
    let demo_learner = app.user_id(demo::LEARNER).await;
    let by_id = app
        .gql(
            Some(&foreign),
            "query($id: ID!) { user(id: $id) { id email } }",
            json!({ "id": demo_learner }),
        )
        .await;
    assert_eq!(by_id.code_at("user").as_deref(), Some("NOT_FOUND"), "{}", by_id.body);
    assert!(by_id.data()["user"].is_null());
}

async fn parallel_failed_logins_cannot_outrun_the_throttle(app: TestApp) {
    const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }";
    let attempt = |password: &'static str| {
        app.gql(None, LOGIN, json!({ "e": demo::LEARNER2, "p": password }))
    };
    // Below the limit, a wrong password is checked (and refused as such), not throttled.
    assert_eq!(attempt("wrong password!!").await.first_code().as_deref(), Some("UNAUTHENTICATED"));
    // 29 more at the same moment: at most 4 more passwords are checked (5 in all), every other
    // attempt is throttled. Fewer may be checked: each attempt counts every attempt recorded
    // before it looks, those that came in while it was on its way included.
    let results = common::race(29, |_| attempt("wrong password!!")).await;
    let codes: Vec<String> = results.iter().filter_map(|r| r.first_code()).collect();
    assert_eq!(codes.len(), 29, "every attempt answered with a code");
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert!(checked <= 4, "at most 5 passwords were checked in all, not {}", checked + 1);
    assert_eq!(checked + limited, 29, "{codes:?}");
    // The race was counted: even the right password now waits for the window to pass.
    assert_eq!(attempt(DEMO_PASSWORD).await.first_code().as_deref(), Some("RATE_LIMITED"));
}

async fn racing_refreshes_of_one_token_revoke_the_session(app: TestApp) {
    let (_, refresh, _) = app.login(demo::LEARNER).await;
    let results = common::race(8, |_| app.gql(None, REFRESH, json!({ "t": refresh }))).await;
    let winners: Vec<&common::Gql> = results.iter().filter(|r| r.errors().is_empty()).collect();
    let codes: Vec<String> = results.iter().filter_map(|r| r.first_code()).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh wins: {codes:?}");
    assert!(
        codes.iter().all(|c| c == "UNAUTHENTICATED"),
        "losers are refused, never INTERNAL: {codes:?}"
    );
    // The loser presented a rotated token: the whole family, the winner's tokens included, is dead.
    let new_refresh =
        winners[0].data()["refreshToken"]["refreshToken"].as_str().expect("token").to_owned();
    let new_access =
        winners[0].data()["refreshToken"]["accessToken"].as_str().expect("token").to_owned();
    assert_eq!(
        app.gql(None, REFRESH, json!({ "t": new_refresh })).await.first_code().as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        app.gql(Some(&new_access), ME, json!({})).await.code_at("me").as_deref(),
        Some("UNAUTHENTICATED")
    );
}

async fn repeated_failed_logins_are_throttled_without_revealing_accounts(app: TestApp) {
    const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }";
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move { app.gql(None, LOGIN, json!({ "e": email, "p": password })).await }
    };
    let mut messages = Vec::new();
    for email in [demo::LEARNER, "nobody@demo.pupitre.test"] {
        for _ in 0..5 {
            let r = attempt(email, "wrong password!!").await;
            assert_eq!(r.first_code().as_deref(), Some("UNAUTHENTICATED"));
            messages.push(r.errors()[0]["message"].clone());
        }
        // The sixth attempt is refused even with the right password.
        let r = attempt(email, DEMO_PASSWORD).await;
        assert_eq!(r.first_code().as_deref(), Some("RATE_LIMITED"), "{}", r.body);
        assert!(r.errors()[0]["extensions"]["retryAfter"].as_u64().unwrap_or(0) > 0);
        messages.push(r.errors()[0]["message"].clone());
    }
    // Existing and unknown accounts get word-for-word the same answers.
    assert_eq!(messages[..6], messages[6..]);
    // Another account is not affected; after the window, the right password works again.
    app.login(demo::LEARNER2).await;
    app.clock.advance_secs(901);
    app.login(demo::LEARNER).await;
}

async fn probing_taken_addresses_through_registration_is_throttled(app: TestApp) {
    let version = current_policy(&app, &[]).await;
    // Successful registrations from one client do not count (a class signing up together).
    for i in 0..25 {
        app.gql(None, REGISTER, registration(&format!("pupil{i}@example.test"), &version))
            .await
            .assert_ok();
    }
    // Probing addresses that exist does: after 20 the client is refused.
    let mut codes = Vec::new();
    for i in 0..21 {
        let r = app
            .gql(None, REGISTER, registration(&format!("pupil{}@example.test", i % 25), &version))
            .await;
        codes.push(r.first_code().unwrap_or_default());
    }
    assert!(codes[..20].iter().all(|c| c == "CONFLICT"), "{codes:?}");
    assert_eq!(codes[20], "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for() {
    const LOGIN: &str = "mutation($e: String!) { login(input: {email: $e, password: \"wrong password!!\"}) { accessToken } }";
    let run = |trusted: bool| async move {
        let app = TestApp::sqlite_with(move |s| {
            s.login_max_failures = 1; // four failures per client address
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
            }
        })
        .await;
        let attempt = |email: String, xff: &'static str| {
            let app = &app;
            async move {
                app.gql_with(None, &[("x-forwarded-for", xff)], LOGIN, json!({ "e": email }))
                    .await
                    .first_code()
            }
        };
        for i in 0..4 {
            assert_eq!(
                attempt(format!("a{i}@example.test"), "198.51.100.7, 203.0.113.1").await.as_deref(),
                Some("UNAUTHENTICATED")
            );
        }
        let same = attempt("a9@example.test".into(), "203.0.113.1").await;
        let other = attempt("b9@example.test".into(), "203.0.113.2").await;
        (same, other)
    };
    // Trusted: the right-most forwarded address is the client; another client is unaffected.
    let (same, other) = run(true).await;
    assert_eq!(same.as_deref(), Some("RATE_LIMITED"));
    assert_eq!(other.as_deref(), Some("UNAUTHENTICATED"));
    // Not trusted: the header is ignored, every request comes from the proxy's address.
    let (same, other) = run(false).await;
    assert_eq!(same.as_deref(), Some("RATE_LIMITED"));
    assert_eq!(other.as_deref(), Some("RATE_LIMITED"));
}

on_both_databases!(
    register_login_refresh_reuse_and_logout,
    forged_and_foreign_tokens_are_rejected,
    repeated_failed_logins_are_throttled_without_revealing_accounts,
    parallel_failed_logins_cannot_outrun_the_throttle,
    racing_refreshes_of_one_token_revoke_the_session,
    probing_taken_addresses_through_registration_is_throttled,
);
