//! Links Pupitre stores and hands to browsers (class recordings, virtual rooms, privacy
//! policies), written as the attacks a hostile integration or a hijacked admin account would
//! send: `javascript:` and `data:` links, plain `http:`, scheme-relative and host-less links,
//! credentials, over-long links, control characters. Each is refused with `BAD_USER_INPUT`
//! naming the field and nothing is stored; a normal `https://` link goes through; a bad link
//! already in the database is never served. SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use pupitre::domain::tenancy::{self, NewTenant};
use pupitre::domain::types::{Email, Slug};
use pupitre::error::AppError;
use serde_json::{Value, json};

/// What an attacker would put where a link belongs, each with what it tries.
fn attacks() -> Vec<(&'static str, String)> {
    vec![
        ("a script link", "javascript:alert(document.cookie)".into()),
        ("a script link in mixed case", "JaVaScRiPt:alert(1)".into()),
        ("a script link split by a tab (browsers drop it)", "java\tscript:alert(1)".into()),
        ("a VBScript link", "vbscript:msgbox(1)".into()),
        ("a data: page", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==".into()),
        ("plain http", "http://classe.example/room/1".into()),
        ("a scheme-relative link", "//evil.example/room".into()),
        ("https without a host", "https://".into()),
        ("https with an empty host", "https:///".into()),
        ("https with a port and no host", "https://:443/room".into()),
        ("credentials in the link", "https://admin:hunter2@classe.example/room".into()),
        ("a user name in the link", "https://classe.example@evil.example/room".into()),
        ("a backslash (read as / by browsers)", "https://classe.example\\@evil.example/".into()),
        ("an over-long link", format!("https://classe.example/{}", "a".repeat(2_100))),
        ("a NUL byte", "https://classe.example/room\u{0}".into()),
        ("a header injection", "https://classe.example/room\r\nSet-Cookie: session=stolen".into()),
        ("a space", "https://classe.example/a room".into()),
        ("an escape character", "https://classe.example/\u{1b}[31m".into()),
        ("a leading space", " https://classe.example/room".into()),
        ("nothing", String::new()),
    ]
}

const GOOD: &str = "https://classe.demo.pupitre.test/recordings/cours-liens-1";
const ROOM: &str = "https://classe.demo.pupitre.test/room/cours-liens-1";

/// A free published course of `format` with one session (virtual room `room`), taught by Inès.
/// Returns the session id.
async fn course_with_session(
    app: &TestApp,
    slug: &str,
    format: &str,
    room: Option<&str>,
) -> String {
    let admin = app.token(demo::ADMIN).await;
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
            json!({ "input": { "slug": slug, "title": "Cours liens", "summary": "Un cours.", "description": "",
                "level": "BEGINNER", "format": format, "language": "fr", "priceCents": 0 } }),
        )
        .await;
    let course =
        r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("course id").to_owned();
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let r = app
        .gql(
            Some(&admin),
            CREATE_SESSION,
            json!({ "input": session_input(&course, &instructor, room) }),
        )
        .await;
    let session =
        r.assert_ok()["createSession"]["session"]["id"].as_str().expect("session id").to_owned();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course }),
    )
    .await
    .assert_ok();
    session
}

const CREATE_SESSION: &str =
    "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }";
const UPDATE_SESSION: &str =
    "mutation($input: UpdateSessionInput!) { updateSession(input: $input) { session { id } } }";
const RECORD: &str = "mutation($input: RecordLiveClassInput!) { recordLiveClass(input: $input) { liveClass { id } } }";
const RECORDINGS: &str = "query($id: ID!) { session(id: $id) { liveClasses { id recordingRef } } }";
const JOIN_URLS: &str = "{ me { enrollments { session { id } joinUrl } } }";

fn session_input(course: &str, instructor: &str, room: Option<&str>) -> Value {
    let start = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(20)).to_rfc3339();
    json!({ "courseId": course, "startsAt": start, "endsAt": end, "capacity": 5, "instructorId": instructor, "virtualRoom": room })
}

/// Asserts that `r` is a `BAD_USER_INPUT` on `field` (and nothing else), for the attack `what`.
fn assert_refused(r: &common::Gql, op: &str, field: &str, what: &str) {
    // Refused by the mutation (error at its path), or before it by the request check that
    // refuses control characters (no path).
    let code = r.code_at(op).or_else(|| {
        r.errors()
            .first()
            .filter(|e| e.get("path").is_none())
            .and_then(|e| e["extensions"]["code"].as_str().map(str::to_owned))
    });
    assert_eq!(code.as_deref(), Some("BAD_USER_INPUT"), "{what}: {}", r.body);
    assert_eq!(r.errors()[0]["extensions"]["field"], field, "{what}: {}", r.body);
    assert!(r.data().is_null() || r.data()[op].is_null(), "{what}: no payload");
}

async fn a_script_link_as_class_recording_is_refused_and_never_stored(app: TestApp) {
    // Arrange: a recorded live class of a session Hugo is enrolled in.
    let session = course_with_session(&app, "cours-liens", "ONLINE", None).await;
    let hugo = app.token(demo::LEARNER2).await;
    app.gql(
        Some(&hugo),
        "mutation($s: ID!) { enroll(input: {sessionId: $s}) { enrollment { id } } }",
        json!({ "s": session }),
    )
    .await
    .assert_ok();
    let ines = app.token(demo::INSTRUCTOR).await;
    let starts = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = app
        .gql(
            Some(&ines),
            "mutation($input: ScheduleLiveClassInput!) { scheduleLiveClass(input: $input) { liveClass { id } } }",
            json!({ "input": { "sessionId": session, "title": "Classe liens", "startsAt": starts.to_rfc3339(),
                "endsAt": (starts + chrono::Duration::minutes(90)).to_rfc3339(), "recorded": true } }),
        )
        .await;
    let live_class = r.assert_ok()["scheduleLiveClass"]["liveClass"]["id"]
        .as_str()
        .expect("live class id")
        .to_owned();
    let integration = app.token(demo::INTEGRATION).await;
    let stored_before = app.count("live_classes WHERE recording_ref IS NOT NULL").await;

    // Act + assert: every attack is refused, naming the field, and nothing is written.
    for (what, link) in attacks() {
        let r = app
            .gql(
                Some(&integration),
                RECORD,
                json!({ "input": { "liveClassId": live_class, "recordingRef": link } }),
            )
            .await;
        assert_refused(&r, "recordLiveClass", "input.recordingRef", what);
    }
    assert_eq!(
        app.count("live_classes WHERE recording_ref IS NOT NULL").await,
        stored_before,
        "no recording link was stored"
    );
    let r = app.gql(Some(&hugo), RECORDINGS, json!({ "id": session })).await;
    assert!(
        r.assert_ok()["session"]["liveClasses"][0]["recordingRef"].is_null(),
        "the learner is served no link"
    );

    // A normal https link is accepted and served back as given.
    app.gql(
        Some(&integration),
        RECORD,
        json!({ "input": { "liveClassId": live_class, "recordingRef": GOOD } }),
    )
    .await
    .assert_ok();
    let r = app.gql(Some(&hugo), RECORDINGS, json!({ "id": session })).await;
    assert_eq!(r.assert_ok()["session"]["liveClasses"][0]["recordingRef"], GOOD);
    assert_eq!(app.count("live_classes WHERE recording_ref IS NOT NULL").await, stored_before + 1);
}

async fn a_script_link_as_virtual_room_is_refused_on_create_and_on_update(app: TestApp) {
    // Arrange: a virtual-class course whose session has a good room, and a learner enrolled.
    let session =
        course_with_session(&app, "classe-virtuelle-liens", "VIRTUAL_CLASS", Some(ROOM)).await;
    let course = app
        .gql(
            None,
            "query($id: ID!) { session(id: $id) { course { id } } }",
            json!({ "id": session }),
        )
        .await
        .assert_ok()["session"]["course"]["id"]
        .as_str()
        .expect("course id")
        .to_owned();
    let admin = app.token(demo::ADMIN).await;
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let sessions_before = app.count("sessions").await;

    // Act + assert: a new session with each attack as its room is refused; nothing is created.
    for (what, link) in attacks() {
        let r = app
            .gql(
                Some(&admin),
                CREATE_SESSION,
                json!({ "input": session_input(&course, &instructor, Some(&link)) }),
            )
            .await;
        assert_refused(&r, "createSession", "input.virtualRoom", what);
    }
    assert_eq!(app.count("sessions").await, sessions_before, "no session was created");

    // Changing the existing session's room to each attack is refused; the good room stays.
    for (what, link) in attacks() {
        let mut input = session_input(&course, &instructor, Some(&link));
        input["sessionId"] = json!(session);
        input.as_object_mut().expect("object").remove("courseId");
        let r = app.gql(Some(&admin), UPDATE_SESSION, json!({ "input": input })).await;
        assert_refused(&r, "updateSession", "input.virtualRoom", what);
    }
    assert_eq!(
        app.count(&format!("sessions WHERE virtual_room = '{ROOM}'")).await,
        1,
        "the room was not changed"
    );
    assert_eq!(app.count("sessions WHERE virtual_room NOT LIKE 'https://%'").await, 0);

    // The enrolled learner is handed the good room.
    let hugo = app.token(demo::LEARNER2).await;
    app.gql(
        Some(&hugo),
        "mutation($s: ID!) { enroll(input: {sessionId: $s}) { enrollment { id } } }",
        json!({ "s": session }),
    )
    .await
    .assert_ok();
    let r = app.gql(Some(&hugo), JOIN_URLS, json!({})).await;
    let rooms: Vec<Value> = r.assert_ok()["me"]["enrollments"]
        .as_array()
        .expect("enrollments")
        .iter()
        .filter(|e| e["session"]["id"] == session.as_str())
        .map(|e| e["joinUrl"].clone())
        .collect();
    assert_eq!(rooms, vec![json!(ROOM)]);
}

async fn a_script_link_written_to_the_database_before_the_checks_is_never_served(app: TestApp) {
    // Arrange: a session and a recording with good links, then rows rewritten as an old
    // version (or a hand-made import) could have left them.
    let session = course_with_session(&app, "liens-anciens", "VIRTUAL_CLASS", Some(ROOM)).await;
    let hugo = app.token(demo::LEARNER2).await;
    app.gql(
        Some(&hugo),
        "mutation($s: ID!) { enroll(input: {sessionId: $s}) { enrollment { id } } }",
        json!({ "s": session }),
    )
    .await
    .assert_ok();
    let ines = app.token(demo::INSTRUCTOR).await;
    let starts = chrono::Utc::now() + chrono::Duration::hours(1);
    app.gql(
        Some(&ines),
        "mutation($input: ScheduleLiveClassInput!) { scheduleLiveClass(input: $input) { liveClass { id } } }",
        json!({ "input": { "sessionId": session, "title": "Classe ancienne", "startsAt": starts.to_rfc3339(),
            "endsAt": (starts + chrono::Duration::minutes(90)).to_rfc3339(), "recorded": true } }),
    )
    .await
    .assert_ok();
    app.execute(&format!(
        "UPDATE sessions SET virtual_room = 'javascript:alert(1)' WHERE virtual_room = '{ROOM}'"
    ))
    .await;
    app.execute("UPDATE live_classes SET recording_ref = 'data:text/html,<script>alert(1)</script>' WHERE title = 'Classe ancienne'").await;

    // Act: the learner reads their room and the recording.
    let rooms = app.gql(Some(&hugo), JOIN_URLS, json!({})).await;
    let recordings = app.gql(Some(&hugo), RECORDINGS, json!({ "id": session })).await;

    // Assert: neither link is handed out.
    let enrollment = rooms.assert_ok()["me"]["enrollments"]
        .as_array()
        .expect("enrollments")
        .iter()
        .find(|e| e["session"]["id"] == session.as_str())
        .cloned()
        .expect("enrollment");
    assert!(enrollment["joinUrl"].is_null(), "{enrollment}");
    assert!(
        recordings.assert_ok()["session"]["liveClasses"][0]["recordingRef"].is_null(),
        "{}",
        recordings.body
    );
}

async fn a_tenant_cannot_publish_a_script_link_as_its_privacy_policy(app: TestApp) {
    let tenants = app.count("tenants").await;
    let new = || NewTenant {
        slug: Slug::parse("slug", "ecole-liens").expect("slug"),
        name: "École liens".into(),
        dpo_name: "DPO".into(),
        dpo_email: Email::parse("e", "dpo@liens.test").expect("email"),
        host: None,
    };
    for (what, link) in attacks() {
        let r = tenancy::create(app.services(), new(), "v1", &link).await;
        assert!(
            matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "policyUrl"),
            "{what}: {r:?}"
        );
    }
    assert_eq!(app.count("tenants").await, tenants, "no tenant was created");
    assert_eq!(app.count("privacy_policy_versions WHERE url NOT LIKE 'https://%'").await, 0);
    tenancy::create(app.services(), new(), "v1", "https://liens.test/confidentialite")
        .await
        .expect("a normal link is accepted");
    assert_eq!(app.count("tenants").await, tenants + 1);
}

on_both_databases!(
    a_script_link_as_class_recording_is_refused_and_never_stored,
    a_script_link_as_virtual_room_is_refused_on_create_and_on_update,
    a_script_link_written_to_the_database_before_the_checks_is_never_served,
    a_tenant_cannot_publish_a_script_link_as_its_privacy_policy,
);
