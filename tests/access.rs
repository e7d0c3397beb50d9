//! Need-to-know on user profiles, through the real API: FORBIDDEN fields resolve to null while
//! the rest of the response resolves, staff reads of contact data are audited, guardians see
//! their wards, consent gates marketing, tenants are isolated. SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use serde_json::json;

const PROFILE: &str = "query($id: ID!) { me { firstName } user(id: $id) { id firstName lastName email phone birthDate isMinor } }";

async fn a_learner_cannot_read_another_learners_email(app: TestApp) {
    let token = app.token(demo::LEARNER).await;
    let other = app.user_id(demo::LEARNER2).await;
    let r = app.gql(Some(&token), PROFILE, json!({ "id": other })).await;
    // The denied fields are null with FORBIDDEN; the rest of the response is intact.
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
    assert_eq!(r.code_at("user.firstName").as_deref(), Some("FORBIDDEN"));
    assert!(r.data()["user"]["email"].is_null());
    assert_eq!(r.data()["user"]["id"], other.as_str());
    assert_eq!(r.data()["me"]["firstName"], "Léa");
    assert_eq!(r.status, 200);
}

async fn support_reads_contact_data_and_the_read_is_audited(app: TestApp) {
    let support = app.token(demo::SUPPORT).await;
    let (learner_token, _, learner) = app.login(demo::LEARNER).await;
    let before = app.count("audit_log").await;

    let r = app.gql(Some(&support), PROFILE, json!({ "id": learner })).await;
    let u = &r.assert_ok()["user"];
    assert_eq!(u["email"], "lea.martin@demo.pupitre.test");
    assert_eq!(u["phone"], "+33612345001");
    assert_eq!(u["birthDate"], "1998-04-02");
    assert_eq!(u["isMinor"], false);
    // One entry per category read (contact, birth date), not one per field.
    assert_eq!(app.count("audit_log").await, before + 2);

    // The privacy officer sees the entry in the audit log …
    let dpo = app.token(demo::DPO).await;
    let log = app
        .gql(
            Some(&dpo),
            "query($s: ID!) { auditLog(first: 10, subjectId: $s) { edges { node { action category purpose actorRoles subjectId requestId } } } }",
            json!({ "s": learner }),
        )
        .await;
    let entries = log.assert_ok()["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
    let contact =
        entries.iter().find(|e| e["node"]["category"] == "contact").expect("a contact read entry");
    assert_eq!(contact["node"]["action"], "personal_data.read");
    assert_eq!(contact["node"]["purpose"], "customer_service");
    assert_eq!(contact["node"]["actorRoles"], "support");
    assert!(contact["node"]["requestId"].as_str().is_some_and(|s| !s.is_empty()));

    // … and so does the learner, in the access log about them.
    let mine = app
        .gql(
            Some(&learner_token),
            "{ me { accessLog(first: 5) { edges { node { action category purpose } } } } }",
            json!({}),
        )
        .await;
    let mine = mine.assert_ok()["me"]["accessLog"]["edges"].as_array().cloned().unwrap_or_default();
    assert!(
        mine.iter()
            .any(|e| e["node"]["purpose"] == "customer_service"
                && e["node"]["category"] == "contact")
    );

    // Only the privacy officer reads the whole audit log.
    let denied = app
        .gql(Some(&support), "{ auditLog(first: 5) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(denied.code_at("auditLog").as_deref(), Some("FORBIDDEN"));
    // A learner's own reads are not audited.
    let n = app.count("audit_log").await;
    app.gql(Some(&learner_token), "{ me { email phone } }", json!({})).await.assert_ok();
    assert_eq!(app.count("audit_log").await, n);
}

async fn an_admin_manages_staff_but_is_not_handed_learners_data(app: TestApp) {
    let admin = app.token(demo::ADMIN).await;
    let learner = app.user_id(demo::LEARNER).await;
    let support = app.user_id(demo::SUPPORT).await;
    let r = app.gql(Some(&admin), PROFILE, json!({ "id": learner })).await;
    for f in ["phone", "email", "firstName", "birthDate"] {
        assert_eq!(
            r.code_at(&format!("user.{f}")).as_deref(),
            Some("FORBIDDEN"),
            "{f}: {}",
            r.body
        );
    }
    let staff = app
        .gql(
            Some(&admin),
            "query($id: ID!) { user(id: $id) { firstName email roles } }",
            json!({ "id": support }),
        )
        .await;
    assert_eq!(staff.assert_ok()["user"]["email"], "sam.support@demo.pupitre.test");

    // Roles: a grant is pending until accepted; an admin revokes; changes are audited; others
    // cannot. (Billing opens personal data, so only the privacy officer grants it.)
    let dpo = app.token(demo::DPO).await;
    let grant = "mutation($id: ID!, $g: Boolean!) { setUserRole(input: {userId: $id, role: BILLING, granted: $g}) { user { id roles pendingRoles } } }";
    let r = app.gql(Some(&dpo), grant, json!({ "id": support, "g": true })).await;
    assert_eq!(
        r.assert_ok()["setUserRole"]["user"]["roles"],
        json!(["SUPPORT"]),
        "pending until accepted"
    );
    assert_eq!(r.data()["setUserRole"]["user"]["pendingRoles"], json!(["BILLING"]));
    let support_token = app.token(demo::SUPPORT).await;
    let r = app
        .gql(
            Some(&support_token),
            "mutation { acceptRole(input: {role: BILLING}) { user { roles pendingRoles } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.assert_ok()["acceptRole"]["user"]["roles"], json!(["SUPPORT", "BILLING"]));
    let r = app.gql(Some(&admin), grant, json!({ "id": support, "g": false })).await;
    assert_eq!(r.assert_ok()["setUserRole"]["user"]["roles"], json!(["SUPPORT"]));
    let support_token = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support_token), grant, json!({ "id": support, "g": true })).await;
    assert_eq!(r.code_at("setUserRole").as_deref(), Some("FORBIDDEN"));
    // An admin cannot hand themselves a role (that would open personal data to them).
    let admin_id = app.user_id(demo::ADMIN).await;
    let r = app.gql(Some(&admin), grant, json!({ "id": admin_id, "g": true })).await;
    assert_eq!(r.code_at("setUserRole").as_deref(), Some("FORBIDDEN"));
    let log = app
        .gql(
            Some(&dpo),
            "query($s: ID!) { auditLog(first: 10, subjectId: $s) { edges { node { action } } } }",
            json!({ "s": support }),
        )
        .await;
    let actions: Vec<String> = log.assert_ok()["auditLog"]["edges"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["node"]["action"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    for a in ["role.granted", "role.accepted", "role.revoked"] {
        assert!(actions.contains(&a.to_owned()), "{a}: {actions:?}");
    }
}

const GRANT: &str = "mutation($id: ID!, $r: Role!, $g: Boolean!) { setUserRole(input: {userId: $id, role: $r, granted: $g}) { user { roles pendingRoles } } }";
const GRANT_ID: &str = "mutation($id: ID!, $r: Role!, $g: Boolean!) { setUserRole(input: {userId: $id, role: $r, granted: $g}) { user { id } } }";
const CONTACT: &str =
    "query($id: ID!) { user(id: $id) { email phone postalAddress { line1 city } } }";

/// A new learner account; returns (token, id).
async fn register(app: &TestApp, email: &str) -> (String, String) {
    let q = "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Alex\", lastName: \"Second\", acceptedPolicyVersion: \"2026-09\"}) { accessToken user { id } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "demo")], q, json!({ "e": email })).await;
    let d = &r.assert_ok()["register"];
    (
        d["accessToken"].as_str().expect("token").to_owned(),
        d["user"]["id"].as_str().expect("id").to_owned(),
    )
}

/// Defect: `setUserRole(INTEGRATION)` on a learner made them a "staff account" whose phone and
/// home address the admin then read.
async fn granting_a_role_does_not_open_a_learners_data_to_the_admin(app: TestApp) {
    let admin = app.token(demo::ADMIN).await;
    let learner = app.user_id(demo::LEARNER).await;
    let rows = app.count("user_roles").await;
    let r = app
        .gql(Some(&admin), GRANT_ID, json!({ "id": learner, "r": "INTEGRATION", "g": true }))
        .await;
    assert_eq!(
        r.code_at("setUserRole").as_deref(),
        Some("FORBIDDEN"),
        "integration accounts process attendance: {}",
        r.body
    );
    assert_eq!(app.count("user_roles").await, rows);
    // A grant by the privacy officer waits for its holder: meanwhile the learner is no staff
    // account, and the admin still reads nothing of theirs.
    let dpo = app.token(demo::DPO).await;
    app.gql(Some(&dpo), GRANT_ID, json!({ "id": learner, "r": "INTEGRATION", "g": true }))
        .await
        .assert_ok();
    // Not even the roles of a learner are the admin's business.
    let r = app
        .gql(
            Some(&admin),
            "query($id: ID!) { user(id: $id) { roles pendingRoles } }",
            json!({ "id": learner }),
        )
        .await;
    assert_eq!(r.code_at("user.roles").as_deref(), Some("FORBIDDEN"), "{}", r.body);
    let r = app.gql(Some(&admin), CONTACT, json!({ "id": learner })).await;
    for f in ["email", "phone", "postalAddress"] {
        assert_eq!(
            r.code_at(&format!("user.{f}")).as_deref(),
            Some("FORBIDDEN"),
            "{f}: {}",
            r.body
        );
    }
    // The learner sees the grant (and who made it) and may decline it.
    let (lea, _, _) = app.login(demo::LEARNER).await;
    let mine = app
        .gql(
            Some(&lea),
            "{ me { pendingRoles accessLog(first: 20) { edges { node { action actorRoles } } } } }",
            json!({}),
        )
        .await;
    let d = mine.assert_ok();
    assert_eq!(d["me"]["pendingRoles"], json!(["INTEGRATION"]), "a grant waits for its holder");
    assert!(
        d["me"]["accessLog"]["edges"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["node"]["action"] == "role.granted"
                && e["node"]["actorRoles"] == "privacy_officer")),
        "the grant is in the person's own access log: {d}"
    );
    app.gql(
        Some(&lea),
        "mutation { declineRole(input: {role: INTEGRATION}) { user { pendingRoles } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let r = app
        .gql(
            Some(&lea),
            "mutation { acceptRole(input: {role: INTEGRATION}) { user { roles } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.code_at("acceptRole").as_deref(),
        Some("NOT_FOUND"),
        "a declined grant is gone: {}",
        r.body
    );
    let r = app.gql(Some(&admin), CONTACT, json!({ "id": learner })).await;
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
}

/// Defect: an admin registered a second account and made it privacy officer.
async fn an_admin_cannot_open_personal_data_through_a_second_account(app: TestApp) {
    let admin = app.token(demo::ADMIN).await;
    let (puppet_token, puppet) = register(&app, "second.admin.account@example.test").await;
    let rows = app.count("user_roles").await;
    for role in [
        "PRIVACY_OFFICER",
        "SUPPORT",
        "BILLING",
        "REVIEWER",
        "MARKETING",
        "INSTRUCTOR",
        "ADMIN",
        "INTEGRATION",
    ] {
        let r = app.gql(Some(&admin), GRANT, json!({ "id": puppet, "r": role, "g": true })).await;
        assert_eq!(r.code_at("setUserRole").as_deref(), Some("FORBIDDEN"), "{role}: {}", r.body);
    }
    assert_eq!(app.count("user_roles").await, rows, "nothing was granted");
    // Even accepted, the roles an admin may grant open nobody's data.
    app.gql(Some(&admin), GRANT_ID, json!({ "id": puppet, "r": "GUARDIAN", "g": true }))
        .await
        .assert_ok();
    app.gql(
        Some(&puppet_token),
        "mutation { acceptRole(input: {role: GUARDIAN}) { user { roles } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let puppet_token =
        app.login_with("second.admin.account@example.test", "a long enough passphrase").await.0;
    let learner = app.user_id(demo::LEARNER).await;
    let r = app
        .gql(
            Some(&puppet_token),
            "query($id: ID!) { user(id: $id) { firstName phone birthDate } }",
            json!({ "id": learner }),
        )
        .await;
    for f in ["firstName", "phone", "birthDate"] {
        assert_eq!(
            r.code_at(&format!("user.{f}")).as_deref(),
            Some("FORBIDDEN"),
            "{f}: {}",
            r.body
        );
    }
    // An admin cannot take the privacy officer's role away either.
    let dpo_id = app.user_id(demo::DPO).await;
    let r = app
        .gql(Some(&admin), GRANT, json!({ "id": dpo_id, "r": "PRIVACY_OFFICER", "g": false }))
        .await;
    assert_eq!(r.code_at("setUserRole").as_deref(), Some("FORBIDDEN"));
}

/// The rule that closes it: the privacy officer grants roles that open personal data, the grant
/// takes effect when accepted (with the next token), and both steps are in the audit log.
async fn the_privacy_officer_grants_data_roles_which_apply_once_accepted(app: TestApp) {
    let dpo = app.token(demo::DPO).await;
    let (token, alex) = register(&app, "alex.support@example.test").await;
    let learner = app.user_id(demo::LEARNER).await;
    let r = app.gql(Some(&dpo), GRANT, json!({ "id": alex, "r": "SUPPORT", "g": true })).await;
    assert_eq!(r.assert_ok()["setUserRole"]["user"]["pendingRoles"], json!(["SUPPORT"]));
    // Pending: a fresh log-in carries no support role.
    let pending = app.login_with("alex.support@example.test", "a long enough passphrase").await.0;
    let r = app.gql(Some(&pending), CONTACT, json!({ "id": learner })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    app.gql(
        Some(&token),
        "mutation { acceptRole(input: {role: SUPPORT}) { user { roles } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let support = app.login_with("alex.support@example.test", "a long enough passphrase").await.0;
    let r = app.gql(Some(&support), CONTACT, json!({ "id": learner })).await;
    assert_eq!(r.assert_ok()["user"]["email"], "lea.martin@demo.pupitre.test");
    // The privacy officer never grants to themselves.
    let dpo_id = app.user_id(demo::DPO).await;
    let r = app.gql(Some(&dpo), GRANT, json!({ "id": dpo_id, "r": "ADMIN", "g": true })).await;
    assert_eq!(r.code_at("setUserRole").as_deref(), Some("FORBIDDEN"));
    let log = app.gql(Some(&dpo), "query($s: ID!) { auditLog(first: 10, subjectId: $s) { edges { node { action actorRoles } } } }", json!({ "s": alex })).await;
    let actions: Vec<String> = log.assert_ok()["auditLog"]["edges"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["node"]["action"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert!(
        actions.contains(&"role.granted".to_owned())
            && actions.contains(&"role.accepted".to_owned()),
        "{actions:?}"
    );
}

/// The operator's command grants what nobody in the tenant can (a first or new privacy
/// officer); the grant is pending like any other.
async fn the_operator_grants_a_privacy_officer_who_must_accept(app: TestApp) {
    let (token, alex) = register(&app, "new.dpo@example.test").await;
    pupitre::domain::accounts::operator_grant(
        app.services(),
        "demo",
        "new.dpo@example.test",
        pupitre::policy::Role::PrivacyOfficer,
    )
    .await
    .expect("operator grant");
    let r =
        app.gql(Some(&token), "{ auditLog(first: 1) { edges { node { id } } } }", json!({})).await;
    assert_eq!(r.code_at("auditLog").as_deref(), Some("FORBIDDEN"), "pending");
    app.gql(
        Some(&token),
        "mutation { acceptRole(input: {role: PRIVACY_OFFICER}) { user { roles } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let dpo = app.login_with("new.dpo@example.test", "a long enough passphrase").await.0;
    let r = app.gql(Some(&dpo), "query($s: ID!) { auditLog(first: 10, subjectId: $s) { edges { node { action purpose } } } }", json!({ "s": alex })).await;
    let entries = r.assert_ok()["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e["node"]["action"] == "role.granted" && e["node"]["purpose"] == "operator"),
        "{entries:?}"
    );
    let unknown = pupitre::domain::accounts::operator_grant(
        app.services(),
        "demo",
        "nobody@example.test",
        pupitre::policy::Role::PrivacyOfficer,
    )
    .await;
    assert!(unknown.is_err(), "no account, no grant");
}

/// Guardianship can end: support unlinks, and the former guardian's next request no longer
/// reaches the minor.
async fn support_unlinks_a_guardian_and_access_ends_at_once(app: TestApp) {
    let guardian = app.token(demo::GUARDIAN).await;
    let guardian_id = app.user_id(demo::GUARDIAN).await;
    let minor = app.user_id(demo::MINOR).await;
    let r = app
        .gql(Some(&guardian), "query($id: ID!) { user(id: $id) { email } }", json!({ "id": minor }))
        .await;
    assert_eq!(r.assert_ok()["user"]["email"], "tom.petit@demo.pupitre.test");
    let unlink = "mutation($g: ID!, $m: ID!) { unlinkGuardian(input: {guardianId: $g, minorId: $m}) { guardian { id } } }";
    // Nobody but support and the privacy officer ends a guardianship.
    for who in [demo::ADMIN, demo::LEARNER, demo::MINOR] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), unlink, json!({ "g": guardian_id, "m": minor })).await;
        assert_eq!(r.code_at("unlinkGuardian").as_deref(), Some("FORBIDDEN"), "{who}: {}", r.body);
    }
    let support = app.token(demo::SUPPORT).await;
    app.gql(Some(&support), unlink, json!({ "g": guardian_id, "m": minor })).await.assert_ok();
    let r = app
        .gql(
            Some(&guardian),
            "query($id: ID!) { user(id: $id) { email } me { wards { id } } }",
            json!({ "id": minor }),
        )
        .await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(r.data()["me"]["wards"], json!([]));
    let r = app.gql(Some(&support), unlink, json!({ "g": guardian_id, "m": minor })).await;
    assert_eq!(r.code_at("unlinkGuardian").as_deref(), Some("NOT_FOUND"));
    // A guardian-role grant still pending does not block linking again (it was INTERNAL).
    let admin = app.token(demo::ADMIN).await;
    app.gql(Some(&admin), GRANT_ID, json!({ "id": guardian_id, "r": "GUARDIAN", "g": true }))
        .await
        .assert_ok();
    let link = "mutation($g: ID!, $m: ID!) { linkGuardian(input: {guardianId: $g, minorId: $m}) { guardian { roles pendingRoles } } }";
    let r = app.gql(Some(&support), link, json!({ "g": guardian_id, "m": minor })).await;
    assert_eq!(
        r.assert_ok()["linkGuardian"]["guardian"]["pendingRoles"],
        json!([]),
        "the link puts the grant in effect"
    );
    let r = app
        .gql(Some(&guardian), "query($id: ID!) { user(id: $id) { email } }", json!({ "id": minor }))
        .await;
    assert_eq!(r.assert_ok()["user"]["email"], "tom.petit@demo.pupitre.test");
    let dpo = app.token(demo::DPO).await;
    let log = app
        .gql(
            Some(&dpo),
            "query($s: ID!) { auditLog(first: 10, subjectId: $s) { edges { node { action } } } }",
            json!({ "s": minor }),
        )
        .await;
    assert!(
        log.assert_ok()["auditLog"]["edges"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["node"]["action"] == "guardianship.unlinked"))
    );
    // The guardian sees their role go and come back in their own access log.
    let mine = app
        .gql(
            Some(&guardian),
            "{ me { accessLog(first: 20) { edges { node { action } } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<String> = mine.assert_ok()["me"]["accessLog"]["edges"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["node"]["action"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert!(
        actions.contains(&"role.revoked".to_owned())
            && actions.contains(&"role.granted".to_owned()),
        "{actions:?}"
    );
}

async fn a_guardian_reads_the_wards_profile_and_nobody_elses(app: TestApp) {
    // The demo data's own entries (registrations, role grants, catalogue) come before.
    let audited = app.count("audit_log").await;
    let guardian = app.token(demo::GUARDIAN).await;
    let minor = app.user_id(demo::MINOR).await;
    let stranger = app.user_id(demo::LEARNER2).await;
    let r = app.gql(Some(&guardian), PROFILE, json!({ "id": minor })).await;
    let u = &r.assert_ok()["user"];
    assert_eq!(u["firstName"], "Tom");
    assert_eq!(u["email"], "tom.petit@demo.pupitre.test");
    assert_eq!(u["isMinor"], true);
    let wards = app.gql(Some(&guardian), "{ me { wards { id firstName } } }", json!({})).await;
    assert_eq!(wards.assert_ok()["me"]["wards"], json!([{ "id": minor, "firstName": "Tom" }]));
    let r = app.gql(Some(&guardian), PROFILE, json!({ "id": stranger })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    // The ward does not get the guardian's data the other way round.
    let minor_token = app.token(demo::MINOR).await;
    let guardian_id = app.user_id(demo::GUARDIAN).await;
    let r = app.gql(Some(&minor_token), PROFILE, json!({ "id": guardian_id })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    // Guardian reads of a ward are not staff reads: nothing audited.
    assert_eq!(app.count("audit_log").await, audited);
    // The guardian consents on the ward's behalf; the ledger records who did it.
    let set = "mutation($id: ID!) { setConsent(input: {userId: $id, purpose: CLASS_RECORDING, granted: true, source: \"guardian-portal\"}) { consent { purpose granted } } }";
    let r = app.gql(Some(&guardian), set, json!({ "id": minor })).await;
    assert_eq!(r.assert_ok()["setConsent"]["consent"]["granted"], true);
    let r = app
        .gql(
            Some(&guardian),
            "query($id: ID!) { user(id: $id) { consents { purpose granted } } }",
            json!({ "id": minor }),
        )
        .await;
    let states = r.assert_ok()["user"]["consents"].as_array().cloned().unwrap_or_default();
    assert!(states.iter().any(|s| s["purpose"] == "CLASS_RECORDING" && s["granted"] == true));
    // Nobody else may consent for the minor.
    let other = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&other), set, json!({ "id": minor })).await;
    assert_eq!(r.code_at("setConsent").as_deref(), Some("FORBIDDEN"));
}

async fn guardianship_is_linked_by_support_and_ends_at_eighteen(app: TestApp) {
    let support = app.token(demo::SUPPORT).await;
    let lea = app.user_id(demo::LEARNER).await;
    let tom = app.user_id(demo::MINOR).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let link = "mutation($g: ID!, $m: ID!) { linkGuardian(input: {guardianId: $g, minorId: $m}) { guardian { id roles } } }";
    // An adult cannot be made a ward; a learner cannot link anyone.
    let r = app.gql(Some(&support), link, json!({ "g": lea, "m": hugo })).await;
    r.assert_bad_input("input.minorId");
    let lea_token = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&lea_token), link, json!({ "g": lea, "m": tom })).await;
    assert_eq!(r.code_at("linkGuardian").as_deref(), Some("FORBIDDEN"));
    // Support links Léa to Tom: she becomes a guardian and reads his profile.
    let r = app.gql(Some(&support), link, json!({ "g": lea, "m": tom })).await;
    assert_eq!(r.assert_ok()["linkGuardian"]["guardian"]["roles"], json!(["LEARNER", "GUARDIAN"]));
    let lea_token = app.token(demo::LEARNER).await;
    let q = "query($id: ID!) { user(id: $id) { email } }";
    assert_eq!(
        app.gql(Some(&lea_token), q, json!({ "id": tom })).await.assert_ok()["user"]["email"],
        "tom.petit@demo.pupitre.test"
    );
    // Tom's birth date is corrected: he is an adult, and his guardians lose access at once.
    let claire = app.token(demo::GUARDIAN).await;
    let r = app.gql(Some(&claire), "mutation($id: ID!) { updateProfile(input: {userId: $id, birthDate: \"2000-01-01\"}) { user { id } } }", json!({ "id": tom })).await;
    r.assert_ok();
    for t in [&claire, &lea_token] {
        let r = app.gql(Some(t), q, json!({ "id": tom })).await;
        assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"), "{}", r.body);
    }
    let r = app.gql(Some(&claire), "{ me { wards { id } } }", json!({})).await;
    assert_eq!(r.assert_ok()["me"]["wards"], json!([]));
}

async fn no_audited_value_is_returned_when_its_audit_record_cannot_be_written(app: TestApp) {
    let support = app.token(demo::SUPPORT).await;
    let lea = app.user_id(demo::LEARNER).await;
    let block = if app.backend == "postgres" {
        "CREATE FUNCTION block_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'blocked'; END; $$ LANGUAGE plpgsql; \
         CREATE TRIGGER block_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION block_audit();"
    } else {
        "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'blocked'); END"
    };
    app.execute(block).await;
    let r = app
        .gql(
            Some(&support),
            "query($id: ID!) { user(id: $id) { firstName email phone postalAddress { city } } }",
            json!({ "id": lea }),
        )
        .await;
    // Identity is not an audited category; every contact field fails with the audit write.
    assert_eq!(r.data()["user"]["firstName"], "Léa");
    for f in ["email", "phone", "postalAddress"] {
        assert!(r.data()["user"][f].is_null(), "{f} returned without its audit record: {}", r.body);
        assert_eq!(r.code_at(&format!("user.{f}")).as_deref(), Some("INTERNAL"));
    }
}

async fn an_instructor_reads_names_and_email_of_their_learners_only(app: TestApp) {
    // In the demo data Inès teaches every session; Léa is enrolled, Claire is not.
    let instructor = app.token(demo::INSTRUCTOR).await;
    let lea = app.user_id(demo::LEARNER).await;
    let claire = app.user_id(demo::GUARDIAN).await;
    let r = app.gql(Some(&instructor), PROFILE, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["firstName"], "Léa", "{}", r.body);
    assert_eq!(r.data()["user"]["email"], "lea.martin@demo.pupitre.test");
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
    assert_eq!(r.code_at("user.birthDate").as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&instructor), PROFILE, json!({ "id": claire })).await;
    assert_eq!(r.code_at("user.firstName").as_deref(), Some("FORBIDDEN"));
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    // The instructor's list holds their learners only.
    let r = app
        .gql(Some(&instructor), "{ users(first: 50) { edges { node { id } } } }", json!({}))
        .await;
    let listed = r.assert_ok()["users"]["edges"].to_string();
    assert!(listed.contains(&lea) && !listed.contains(&claire), "{listed}");
    // A learner is not staff: no list at all.
    let learner_token = app.token(demo::LEARNER).await;
    let r = app
        .gql(Some(&learner_token), "{ users(first: 10) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(r.code_at("users").as_deref(), Some("FORBIDDEN"));
}

async fn marketing_sees_only_people_who_consent_and_a_withdrawal_applies_at_once(app: TestApp) {
    let marketing = app.token(demo::MARKETING).await;
    let lea_token = app.token(demo::LEARNER).await;
    let lea = app.user_id(demo::LEARNER).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let list = "{ users(first: 50) { edges { node { id email } } } }";
    let ids = |r: &common::Gql| -> Vec<String> {
        r.assert_ok()["users"]["edges"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let r = app.gql(Some(&marketing), list, json!({})).await;
    let consenting = ids(&r);
    assert!(consenting.contains(&lea) && !consenting.contains(&hugo), "{}", r.body);
    let q = "query($id: ID!) { user(id: $id) { email phone } }";
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.data()["user"]["email"], "lea.martin@demo.pupitre.test");
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&marketing), q, json!({ "id": hugo })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));

    // Léa withdraws: the very next marketing request no longer sees her.
    let w = app
        .gql(Some(&lea_token), "mutation { setConsent(input: {purpose: MARKETING_EMAIL, granted: false, source: \"account-settings\"}) { consent { purpose granted } } }", json!({}))
        .await;
    assert_eq!(w.assert_ok()["setConsent"]["consent"]["granted"], false);
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&marketing), list, json!({})).await;
    let still: Vec<String> = consenting.iter().filter(|id| **id != lea).cloned().collect();
    assert_eq!(ids(&r), still, "the same list, without Léa");
    // Her consent history is kept in the ledger and her current state derived from it.
    let c = app
        .gql(Some(&lea_token), "{ me { consents { purpose granted source } } }", json!({}))
        .await;
    let states = c.assert_ok()["me"]["consents"].as_array().cloned().unwrap_or_default();
    let email =
        states.iter().find(|s| s["purpose"] == "MARKETING_EMAIL").expect("marketing e-mail state");
    assert_eq!(email["granted"], false);
    assert_eq!(email["source"], "account-settings");
    assert_eq!(app.count("consent_records").await, 2);
}

async fn marketing_sees_a_phone_only_with_consent_to_be_called(app: TestApp) {
    let marketing = app.token(demo::MARKETING).await;
    let lea_token = app.token(demo::LEARNER).await;
    let lea = app.user_id(demo::LEARNER).await;
    let q = "query($id: ID!) { user(id: $id) { firstName email phone } }";
    let set = |purpose: &'static str, granted: bool| {
        let (app, lea_token) = (&app, &lea_token);
        async move {
            app.gql(
                Some(lea_token),
                "mutation($p: ConsentPurpose!, $g: Boolean!) { setConsent(input: {purpose: $p, granted: $g, source: \"account-settings\"}) { consent { granted } } }",
                json!({ "p": purpose, "g": granted }),
            )
            .await
            .assert_ok();
        }
    };
    let listed = || async {
        let r = app
            .gql(Some(&marketing), "{ users(first: 50) { edges { node { id } } } }", json!({}))
            .await;
        r.assert_ok().to_string().contains(&lea)
    };
    // E-mail consent only (the demo data): the address, not the phone.
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
    // She agrees to be called: the phone opens on the next request, and the read is audited.
    set("MARKETING_PHONE", true).await;
    let before = app.count("audit_log WHERE category = 'contact' AND purpose = 'marketing'").await;
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.assert_ok()["user"]["phone"], "+33612345001");
    assert_eq!(r.data()["user"]["email"], "lea.martin@demo.pupitre.test");
    assert!(
        app.count("audit_log WHERE category = 'contact' AND purpose = 'marketing'").await > before
    );
    // E-mail withdrawn, phone kept: her name and phone, not her address; still listed.
    set("MARKETING_EMAIL", false).await;
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.code_at("user.email").as_deref(), Some("FORBIDDEN"));
    assert_eq!(r.data()["user"]["phone"], "+33612345001");
    assert_eq!(r.data()["user"]["firstName"], "Léa");
    assert!(listed().await);
    // Both withdrawn: nothing, and no longer listed.
    set("MARKETING_PHONE", false).await;
    let r = app.gql(Some(&marketing), q, json!({ "id": lea })).await;
    assert_eq!(r.code_at("user.phone").as_deref(), Some("FORBIDDEN"));
    assert_eq!(r.code_at("user.firstName").as_deref(), Some("FORBIDDEN"));
    assert!(!listed().await);
}

async fn anonymous_visitors_record_cookie_consent_that_lapses_after_thirteen_months(app: TestApp) {
    let set = "mutation { setConsent(input: {purpose: ANALYTICS_COOKIES, granted: true, visitorId: \"visitor-0123456789abcdef\", source: \"cookie-banner\"}) { consent { granted expiresAt } } }";
    let r = app.gql(None, set, json!({})).await;
    assert_eq!(r.assert_ok()["setConsent"]["consent"]["granted"], true);
    let q = "{ visitorConsents(visitorId: \"visitor-0123456789abcdef\") { purpose granted } }";
    let granted = |r: &common::Gql| {
        r.data()["visitorConsents"].as_array().and_then(|a| {
            a.iter().find(|s| s["purpose"] == "ANALYTICS_COOKIES").map(|s| s["granted"].clone())
        })
    };
    assert_eq!(granted(&app.gql(None, q, json!({})).await), Some(json!(true)));
    app.clock.advance_secs(396 * 24 * 3600);
    assert_eq!(
        granted(&app.gql(None, q, json!({})).await),
        Some(json!(false)),
        "lapsed after 13 months"
    );
    // A visitor cannot write a signed-in user's consent.
    let lea = app.user_id(demo::LEARNER).await;
    let r = app
        .gql(None, "mutation($id: ID!) { setConsent(input: {purpose: MARKETING_EMAIL, granted: true, userId: $id}) { consent { granted } } }", json!({ "id": lea }))
        .await;
    assert_eq!(r.code_at("setConsent").as_deref(), Some("FORBIDDEN"));
}

async fn tenants_are_isolated_even_by_id(app: TestApp) {
    use pupitre::domain::tenancy::{self, NewTenant};
    use pupitre::domain::types::{Email, Slug};
    tenancy::create(
        app.services(),
        NewTenant {
            slug: Slug::parse("slug", "other").expect("slug"),
            name: "Other".into(),
            dpo_name: "DPO".into(),
            dpo_email: Email::parse("e", "dpo@other.test").expect("email"),
            host: None,
        },
        "v1",
        "https://other.test/privacy",
    )
    .await
    .expect("tenant");
    let reg = "mutation { register(input: {email: \"max@other.test\", password: \"a long enough passphrase\", firstName: \"Max\", lastName: \"Other\", acceptedPolicyVersion: \"v1\"}) { user { id } } }";
    let r = app.gql_with(None, &[("x-pupitre-tenant", "other")], reg, json!({})).await;
    let foreign_id = r.assert_ok()["register"]["user"]["id"].as_str().expect("id").to_owned();
    // Support and the privacy officer of "demo" cannot see the other tenant's user, by id or in lists.
    for email in [demo::SUPPORT, demo::DPO] {
        let t = app.token(email).await;
        let r = app
            .gql(
                Some(&t),
                "query($id: ID!) { user(id: $id) { id email } }",
                json!({ "id": foreign_id }),
            )
            .await;
        assert_eq!(r.code_at("user").as_deref(), Some("NOT_FOUND"), "{email}");
        let r =
            app.gql(Some(&t), "{ users(first: 100) { edges { node { id } } } }", json!({})).await;
        let listed = r.assert_ok()["users"]["edges"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(listed, 12, "{email} lists the 12 demo accounts");
        assert!(!r.body.to_string().contains(&foreign_id));
        // Nor rectify it.
        let r = app
            .gql(Some(&t), "mutation($id: ID!) { updateProfile(input: {userId: $id, firstName: \"X\"}) { user { id } } }", json!({ "id": foreign_id }))
            .await;
        assert_eq!(r.code_at("updateProfile").as_deref(), Some("NOT_FOUND"));
    }
}

on_both_databases!(
    a_learner_cannot_read_another_learners_email,
    support_reads_contact_data_and_the_read_is_audited,
    an_admin_manages_staff_but_is_not_handed_learners_data,
    granting_a_role_does_not_open_a_learners_data_to_the_admin,
    an_admin_cannot_open_personal_data_through_a_second_account,
    the_privacy_officer_grants_data_roles_which_apply_once_accepted,
    the_operator_grants_a_privacy_officer_who_must_accept,
    support_unlinks_a_guardian_and_access_ends_at_once,
    a_guardian_reads_the_wards_profile_and_nobody_elses,
    an_instructor_reads_names_and_email_of_their_learners_only,
    guardianship_is_linked_by_support_and_ends_at_eighteen,
    no_audited_value_is_returned_when_its_audit_record_cannot_be_written,
    marketing_sees_only_people_who_consent_and_a_withdrawal_applies_at_once,
    marketing_sees_a_phone_only_with_consent_to_be_called,
    anonymous_visitors_record_cookie_consent_that_lapses_after_thirteen_months,
    tenants_are_isolated_even_by_id,
);
