//! Every message a client can read has its French text (issue 15: `Accept-Language` honoured
//! for messages). The source is read as text: each string literal given to `bad_input`, `bad`,
//! `Conflict`, `unique_as_conflict`, `gateway_error`, `Refusal::new`/`Refusal::at`, a payment
//! failure's `then`, and each `#[error(…)]` of the domain's errors and `AppError`, with its
//! `{…}` values written `{}`, must be a key of `src/http/lang/fr.rs`. Then a French and an
//! English request see the same error in their language, with the same code and field.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]
mod common;

use std::path::{Path, PathBuf};

use common::TestApp;
use serde_json::json;

/// Calls whose message is their n-th argument (0-based).
const CALLS: &[(&str, usize)] = &[
    ("bad_input(", 1),
    ("bad(", 1),
    ("Conflict(", 0),
    ("unique_as_conflict(", 0),
    ("gateway_error(", 1),
    ("Refusal::new(", 0),
    ("Refusal::at(", 1),
    ("#[error(", 0),
    ("then: ", 0),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The end of the string literal starting at `s[i] == '"'`.
fn string_end(s: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < s.len() && s[i] != b'"' {
        if s[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i
}

/// The arguments of the call whose `(` was just passed (at `start`), split at top-level commas.
fn arguments(text: &str, start: usize) -> Vec<String> {
    let s = text.as_bytes();
    let (mut i, mut depth, mut args, mut cur) = (start, 1usize, Vec::new(), String::new());
    while i < s.len() {
        match s[i] {
            b'"' => {
                let end = string_end(s, i);
                cur.push_str(&text[i..=end.min(s.len() - 1)]);
                i = end + 1;
                continue;
            }
            b'\'' if s.get(i + 2) == Some(&b'\'') => {
                // A character literal such as '"' or '(' counts for nothing.
                i += 3;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => {
                args.push(std::mem::take(&mut cur));
                i += 1;
                continue;
            }
            _ => {}
        }
        cur.push(char::from(s[i]));
        i += 1;
    }
    args.push(cur);
    args
}

/// The first string literal of `arg`, its `{…}` written `{}`.
fn message(arg: &str) -> Option<String> {
    let start = arg.find('"')?;
    let s = arg.as_bytes();
    let end = string_end(s, start);
    let lit = arg.get(start + 1..end)?.replace("\\\"", "\"");
    let mut out = String::new();
    let mut in_value = false;
    for c in lit.chars() {
        match (in_value, c) {
            (false, '{') => {
                in_value = true;
                out.push_str("{}");
            }
            (true, '}') => in_value = false,
            (true, _) => {}
            (false, _) => out.push(c),
        }
    }
    Some(out)
}

/// Every message of `src/` a client may read.
fn messages() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).expect("in the crate").display().to_string();
        // The operator's own errors (start-up, settings, commands) never reach a client.
        if rel.ends_with("lang/fr.rs")
            || ["src/startup.rs", "src/config.rs", "src/main.rs", "src/db.rs", "src/telemetry.rs"]
                .contains(&rel.as_str())
            || rel.contains("/platform/")
            || rel.contains("/http/graphql/manifest.rs")
            // Answered to Stripe (webhook signatures) or kept as the hidden cause of an
            // `UNAVAILABLE`/`INTERNAL` error; HTTP-level refusals before any GraphQL (bodies)
            // are protocol errors for developers, in English.
            || ["src/domain/payments/gateway.rs", "src/domain/payments/mod.rs", "src/domain/shop/webhook.rs", "src/http/body.rs"]
                .contains(&rel.as_str())
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("source");
        for (call, n) in CALLS {
            for (at, _) in text.match_indices(call) {
                // `bad(` as a whole word only (not `is_bad(`); `then: ` followed by a literal.
                let before = text[..at].chars().next_back();
                if *call == "bad(" && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let args = if *call == "then: " {
                    vec![text[at + call.len()..].lines().next().unwrap_or("").to_owned()]
                } else {
                    arguments(&text, at + call.len())
                };
                if *call == "then: " && !args[0].trim_start().starts_with('"') {
                    continue;
                }
                if let Some(m) = args.get(*n).and_then(|a| message(a)) {
                    found.push((m, rel.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn every_message_a_client_reads_has_its_french_text() {
    let found = messages();
    assert!(found.len() > 150, "the scan finds the messages ({} found)", found.len());
    let missing: Vec<String> = found
        .iter()
        // A message that is only values ("{}", "{}: {}") is made of other messages.
        .filter(|(m, _)| m.chars().any(char::is_alphabetic))
        .filter(|(m, _)| !pupitre::http::lang::has_french(m))
        .map(|(m, f)| format!("{f}: {m:?}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        missing.is_empty(),
        "no French text in src/http/lang/fr.rs for:\n{}",
        missing.join("\n")
    );
}

async fn errors_follow_accept_language(app: TestApp) {
    let token = app.token(common::demo::LEARNER).await;
    let q = "mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { settings { name } } }";
    let ask = |lang: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.gql_with(
                Some(&token),
                &[("accept-language", lang)],
                q,
                json!({ "i": { "name": "X" } }),
            )
            .await
        }
    };
    let fr = ask("fr-FR,fr;q=0.9,en;q=0.5").await;
    let en = ask("en-GB").await;
    assert_eq!(fr.first_code().as_deref(), Some("FORBIDDEN"));
    assert_eq!(en.first_code(), fr.first_code(), "the code never changes");
    assert_eq!(fr.errors()[0]["message"], "action non autorisée");
    assert_eq!(en.errors()[0]["message"], "not allowed");

    // Validation with a value and a field.
    let reg = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
    let input = json!({ "i": { "email": "nouvelle@example.org", "password": "court", "firstName": "N", "lastName": "O", "acceptedPolicyVersion": "x" } });
    let r = app.gql_with(None, &[("accept-language", "fr")], reg, input).await;
    assert_eq!(r.errors()[0]["extensions"]["field"], "input.password");
    assert_eq!(r.errors()[0]["message"], "doit compter entre 12 et 128 caractères");
    // async-graphql's own validation, and a token refused before execution.
    let r =
        app.gql_with(None, &[("accept-language", "fr")], "{ courses { titel } }", json!({})).await;
    assert!(
        r.errors()[0]["message"].as_str().is_some_and(|m| m.starts_with("Champ « titel » inconnu")),
        "{:?}",
        r.body
    );
    let r = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth("not-a-token")
        .header("accept-language", "fr")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .expect("sent");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "authentification requise", "{body}");
}

on_both_databases!(errors_follow_accept_language);
