//! Recording a death (loi Informatique et Libertés, art. 85), on SQLite and PostgreSQL: the
//! privacy officer records it once, with the evidence in words; the account is restricted, its
//! password cleared and its sessions ended in the same transaction; the person's post-mortem
//! directive is carried out by a request of the matching kind (delete → erasure, hand over →
//! access, keep or none → restriction). Everyone else is refused and nothing is written; bad
//! input names its field.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use chrono::{Duration, Utc};
use common::{DEMO_PASSWORD, TestApp, demo};
use serde_json::{Value, json};

const NODE: &str = "id kind status channel identityCheck subject { id } steps { name status }";

async fn record(app: &TestApp, token: &str, input: Value) -> common::Gql {
    app.gql(
        Some(token),
        &format!("mutation($input: RecordDeathInput!) {{ recordDeath(input: $input) {{ request {{ {NODE} }} }} }}"),
        json!({ "input": input }),
    )
    .await
}

fn notice(subject: &str) -> Value {
    json!({
        "subjectId": subject,
        "diedOn": (Utc::now().date_naive() - Duration::days(3)).to_string(),
        "evidence": "death certificate sent by the family, seen and returned",
        "channel": "POST",
    })
}

async fn directive(app: &TestApp, token: &str, outcome: &str) {
    let trusted = if outcome == "HAND_OVER" {
        json!({ "outcome": outcome, "trustedPersonName": "Zoé Martin", "trustedPersonContact": "zoe@example.org" })
    } else {
        json!({ "outcome": outcome })
    };
    let r = app
        .gql(
            Some(token),
            "mutation($input: RequestDataSubjectRightInput!) { requestDataSubjectRight(input: $input) { request { id } } }",
            json!({ "input": { "kind": "POST_MORTEM_DIRECTIVE", "details": "My wishes.", "directive": trusted, "password": DEMO_PASSWORD } }),
        )
        .await;
    r.assert_ok();
}

async fn login_code(app: &TestApp, email: &str) -> Option<String> {
    app.login_answer(email).await.first_code()
}

async fn without_a_directive_the_account_is_kept_restricted_and_closed(app: TestApp) {
    let hugo_token = app.token(demo::LEARNER2).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let dpo = app.token(demo::DPO).await;

    let r = record(&app, &dpo, notice(&hugo)).await;
    let req = r.assert_ok()["recordDeath"]["request"].clone();
    assert_eq!(req["kind"], "RESTRICTION", "{req}");
    assert_eq!(req["status"], "DONE", "the restriction ran: {req}");
    assert_eq!(req["channel"], "POST");
    assert_eq!(req["subject"]["id"], hugo.as_str());
    assert_eq!(req["identityCheck"], "death certificate sent by the family, seen and returned");
    assert_eq!(app.count("death_records").await, 1);

    // Signed out everywhere, and signing in fails as for an unknown address.
    let me = app.gql(Some(&hugo_token), "{ me { id } }", json!({})).await;
    assert_eq!(me.first_code().as_deref(), Some("UNAUTHENTICATED"), "{}", me.body);
    assert_eq!(login_code(&app, demo::LEARNER2).await.as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(
        login_code(&app, "nobody@demo.pupitre.test").await,
        login_code(&app, demo::LEARNER2).await,
        "the same answer as an unknown address"
    );
    let seen = app
        .gql(Some(&dpo), "query($id: ID!) { user(id: $id) { status } }", json!({ "id": hugo }))
        .await;
    assert_eq!(seen.assert_ok()["user"]["status"], "RESTRICTED");

    // Once only; and the restriction that stems from it is not lifted.
    let again = record(&app, &dpo, notice(&hugo)).await;
    assert_eq!(again.first_code().as_deref(), Some("CONFLICT"), "{}", again.body);
    assert_eq!(app.count("death_records").await, 1);
    let lift = app
        .gql(
            Some(&dpo),
            "mutation($id: ID!) { liftRestriction(input: {userId: $id}) { user { id } } }",
            json!({ "id": hugo }),
        )
        .await;
    assert_eq!(lift.first_code().as_deref(), Some("CONFLICT"), "{}", lift.body);

    // The death is in the person's audit trail, as the privacy officer's act.
    let log = app
        .gql(
            Some(&dpo),
            "query($id: ID!) { user(id: $id) { accessLog(first: 50) { edges { node { action } } } } }",
            json!({ "id": hugo }),
        )
        .await;
    let actions: Vec<String> = log.assert_ok()["user"]["accessLog"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(actions.iter().any(|a| a == "death.recorded"), "{actions:?}");
}

async fn a_directive_chooses_the_request_that_carries_it_out(app: TestApp) {
    let lea_token = app.token(demo::LEARNER).await;
    let claire_token = app.token(demo::GUARDIAN).await;
    let lea = app.user_id(demo::LEARNER).await;
    let claire = app.user_id(demo::GUARDIAN).await;
    let dpo = app.token(demo::DPO).await;
    directive(&app, &lea_token, "HAND_OVER").await;
    directive(&app, &claire_token, "DELETE").await;

    let r = record(&app, &dpo, notice(&lea)).await;
    let req = r.assert_ok()["recordDeath"]["request"].clone();
    assert_eq!(req["kind"], "ACCESS", "hand over: the export for the trusted person: {req}");
    assert_eq!(req["steps"][0]["name"], "export", "{req}");

    let r = record(&app, &dpo, notice(&claire)).await;
    let req = r.assert_ok()["recordDeath"]["request"].clone();
    assert_eq!(req["kind"], "ERASURE", "delete: {req}");
    assert_eq!(req["steps"][0]["name"], "erase", "{req}");
    // The erasure ran with the recording, and Claire's directive asked for everything to go:
    // her death record went with the rest (registry: `Delete`); Léa's stays.
    assert_eq!(req["status"], "DONE", "{req}");
    assert_eq!(app.count("death_records").await, 1);
    let seen = app
        .gql(Some(&dpo), "query($id: ID!) { user(id: $id) { status } }", json!({ "id": claire }))
        .await;
    assert_eq!(seen.assert_ok()["user"]["status"], "ERASED", "{}", seen.body);
    assert_eq!(login_code(&app, demo::LEARNER).await.as_deref(), Some("UNAUTHENTICATED"));
}

async fn only_the_privacy_officer_records_a_death_and_bad_input_names_its_field(app: TestApp) {
    let hugo = app.user_id(demo::LEARNER2).await;
    let dpo_id = app.user_id(demo::DPO).await;
    let dpo = app.token(demo::DPO).await;
    for who in [demo::ADMIN, demo::SUPPORT, demo::LEARNER, demo::GUARDIAN, demo::REVIEWER] {
        let token = app.token(who).await;
        let r = record(&app, &token, notice(&hugo)).await;
        assert_eq!(r.first_code().as_deref(), Some("FORBIDDEN"), "{who}: {}", r.body);
    }
    let anonymous = app
        .gql(
            None,
            "mutation($input: RecordDeathInput!) { recordDeath(input: $input) { request { id } } }",
            json!({ "input": notice(&hugo) }),
        )
        .await;
    assert_eq!(anonymous.first_code().as_deref(), Some("UNAUTHENTICATED"));
    let own = record(&app, &dpo, notice(&dpo_id)).await;
    assert_eq!(own.first_code().as_deref(), Some("FORBIDDEN"), "never for oneself: {}", own.body);

    let tomorrow = (Utc::now().date_naive() + Duration::days(2)).to_string();
    let mut future = notice(&hugo);
    future["diedOn"] = json!(tomorrow);
    record(&app, &dpo, future).await.assert_bad_input("input.diedOn");
    let mut blank = notice(&hugo);
    blank["evidence"] = json!("   ");
    record(&app, &dpo, blank).await.assert_bad_input("input.evidence");
    let mut long = notice(&hugo);
    long["evidence"] = json!("x".repeat(501));
    record(&app, &dpo, long).await.assert_bad_input("input.evidence");
    let mut api = notice(&hugo);
    api["channel"] = json!("API");
    record(&app, &dpo, api).await.assert_bad_input("input.channel");
    let mut nobody = notice(&hugo);
    nobody["subjectId"] = json!(uuid::Uuid::now_v7().to_string());
    record(&app, &dpo, nobody).await.assert_bad_input("input.subjectId");
    let mut garbled = notice(&hugo);
    garbled["subjectId"] = json!("not-an-id");
    record(&app, &dpo, garbled).await.assert_bad_input("input.subjectId");

    assert_eq!(app.count("death_records").await, 0, "nothing was written");
    assert_eq!(app.count("data_subject_requests").await, 0, "nothing was written");
    let still = app.token(demo::LEARNER2).await;
    assert!(!still.is_empty(), "the person still signs in");
}

on_both_databases!(
    without_a_directive_the_account_is_kept_restricted_and_closed,
    a_directive_chooses_the_request_that_carries_it_out,
    only_the_privacy_officer_records_a_death_and_bad_input_names_its_field,
);
