//! Profile rectification: validation with field paths and nothing written on bad input,
//! guardians acting for wards, conflicts, password change. SQLite and PostgreSQL.

mod common;

use common::{TestApp, demo};
use serde_json::{Value, json};

const UPDATE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { id firstName lastName email phone birthDate locale civility postalAddress { line1 postalCode city country } } } }";
const SNAPSHOT: &str = "{ me { firstName lastName email phone birthDate locale civility postalAddress { line1 line2 postalCode city country } } }";

async fn invalid_profile_input_is_refused_with_the_field_and_nothing_is_written(app: TestApp) {
    let token = app.token(demo::LEARNER).await;
    let before = app.gql(Some(&token), SNAPSHOT, json!({})).await.assert_ok().clone();
    let audit_before = app.count("audit_log").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "phone": "06 12 34 56 78" }), "input.phone"),
        (json!({ "email": "not-an-email" }), "input.email"),
        (json!({ "firstName": "" }), "input.firstName"),
        (json!({ "lastName": "R2-D2 <script>" }), "input.lastName"),
        (json!({ "birthDate": "2999-01-01" }), "input.birthDate"),
        (json!({ "locale": "French" }), "input.locale"),
        (
            json!({ "postalAddress": { "line1": "1 rue X", "postalCode": "69001", "city": "Lyon", "country": "France" } }),
            "input.postalAddress.country",
        ),
        (
            json!({ "postalAddress": { "line1": " ", "postalCode": "69001", "city": "Lyon", "country": "FR" } }),
            "input.postalAddress.line1",
        ),
        // A valid field next to an invalid one: the valid one is not written either.
        (json!({ "firstName": "Léonie", "phone": "+12" }), "input.phone"),
        (json!({}), "input"),
    ];
    for (input, field) in cases {
        let r = app.gql(Some(&token), UPDATE, json!({ "input": input })).await;
        r.assert_bad_input(field);
        assert!(r.errors()[0]["extensions"]["requestId"].is_string());
    }
    // A value of the wrong GraphQL type is bad input too.
    let r = app.gql(Some(&token), UPDATE, json!({ "input": { "birthDate": "yesterday" } })).await;
    assert_eq!(r.first_code().as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    let after = app.gql(Some(&token), SNAPSHOT, json!({})).await.assert_ok().clone();
    assert_eq!(before, after, "nothing was written");
    assert_eq!(app.count("audit_log").await, audit_before, "no audit entry for refused changes");
}

async fn a_valid_rectification_is_written_with_its_audit_entry(app: TestApp) {
    let token = app.token(demo::LEARNER).await;
    let input = json!({
        "firstName": "Léonie", "phone": "+33 6 99 88 77 66", "locale": "fr-FR", "civility": "MX",
        "postalAddress": { "line1": "3 quai Rambaud", "postalCode": "69002", "city": "Lyon", "country": "fr" },
        "birthDate": "1998-04-03"
    });
    let r = app.gql(Some(&token), UPDATE, json!({ "input": input })).await;
    let u = &r.assert_ok()["updateProfile"]["user"];
    assert_eq!(u["firstName"], "Léonie");
    assert_eq!(u["phone"], "+33699887766");
    assert_eq!(u["postalAddress"]["country"], "FR");
    assert_eq!(u["civility"], "MX");
    // Clearing an optional field with null.
    let r = app.gql(Some(&token), UPDATE, json!({ "input": { "phone": null } })).await;
    assert!(r.assert_ok()["updateProfile"]["user"]["phone"].is_null());
    let log = app
        .gql(
            Some(&token),
            "{ me { accessLog(first: 10) { edges { node { action purpose } } } } }",
            json!({}),
        )
        .await;
    let n = log.assert_ok()["me"]["accessLog"]["edges"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["node"]["action"] == "profile.rectified").count());
    assert_eq!(n, Some(2));
    // Another account's e-mail is a conflict.
    let r = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "input": { "email": "HUGO.BERNARD@demo.pupitre.test" } }),
        )
        .await;
    assert_eq!(r.code_at("updateProfile").as_deref(), Some("CONFLICT"));
}

async fn guardians_rectify_their_wards_and_nobody_else_can(app: TestApp) {
    let guardian = app.token(demo::GUARDIAN).await;
    let minor = app.user_id(demo::MINOR).await;
    let r = app
        .gql(
            Some(&guardian),
            UPDATE,
            json!({ "input": { "userId": minor, "phone": "+33611112222" } }),
        )
        .await;
    assert_eq!(r.assert_ok()["updateProfile"]["user"]["phone"], "+33611112222");
    let log = app.gql(Some(&guardian), "query($id: ID!) { user(id: $id) { accessLog(first: 5) { edges { node { action purpose } } } } }", json!({ "id": minor })).await;
    let first = &log.assert_ok()["user"]["accessLog"]["edges"][0]["node"];
    assert_eq!(first["action"], "profile.rectified");
    assert_eq!(first["purpose"], "guardianship");

    // Support reads but does not write; another learner neither.
    let before = app.count("audit_log").await;
    for email in [demo::SUPPORT, demo::LEARNER2, demo::ADMIN] {
        let t = app.token(email).await;
        let r = app
            .gql(Some(&t), UPDATE, json!({ "input": { "userId": minor, "phone": "+33600000000" } }))
            .await;
        assert_eq!(r.code_at("updateProfile").as_deref(), Some("FORBIDDEN"), "{email}");
    }
    assert_eq!(app.count("audit_log").await, before);
    let r = app
        .gql(Some(&guardian), "query($id: ID!) { user(id: $id) { phone } }", json!({ "id": minor }))
        .await;
    assert_eq!(r.assert_ok()["user"]["phone"], "+33611112222");
}

async fn changing_the_password_signs_out_other_sessions(app: TestApp) {
    let (first, _, _) = app.login(demo::LEARNER2).await;
    let (second, _, _) = app.login(demo::LEARNER2).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { changed } }";
    let wrong = app
        .gql(
            Some(&second),
            change,
            json!({ "c": "not the password", "n": "a brand new passphrase" }),
        )
        .await;
    wrong.assert_bad_input("input.currentPassword");
    let short =
        app.gql(Some(&second), change, json!({ "c": common::DEMO_PASSWORD, "n": "short" })).await;
    short.assert_bad_input("input.newPassword");
    let ok = app
        .gql(
            Some(&second),
            change,
            json!({ "c": common::DEMO_PASSWORD, "n": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(ok.assert_ok()["changePassword"]["changed"], true);
    assert_eq!(
        app.gql(Some(&first), "{ me { id } }", json!({})).await.code_at("me").as_deref(),
        Some("UNAUTHENTICATED")
    );
    app.gql(Some(&second), "{ me { id } }", json!({})).await.assert_ok();
    app.login_with(demo::LEARNER2, "a brand new passphrase").await;
}

on_both_databases!(
    invalid_profile_input_is_refused_with_the_field_and_nothing_is_written,
    a_valid_rectification_is_written_with_its_audit_entry,
    guardians_rectify_their_wards_and_nobody_else_can,
    changing_the_password_signs_out_other_sessions,
);
