//! Learning: enrollments under concurrency (capacity is never exceeded), double enrollment,
//! cancellation, progress and completion, rosters limited to one's own sessions, live classes
//! with attendance and expiring recordings. SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use common::{TestApp, demo};
use serde_json::{Value, json};

/// Enrollment `id` as the signed-in learner's list (`me { enrollments }`) gives `fields` of it.
async fn my_enrollment(app: &TestApp, token: &str, id: &str, fields: &str) -> Value {
    let q = format!("{{ me {{ enrollments {{ id {fields} }} }} }}");
    let r = app.gql(Some(token), &q, json!({})).await;
    let mine = r.assert_ok()["me"]["enrollments"].as_array().cloned().unwrap_or_default();
    let found = mine.into_iter().find(|x| x["id"] == id);
    found.unwrap_or_else(|| panic!("enrollment {id} is listed: {}", r.body))
}

/// Creates and publishes a free course with `lessons` lessons and one session of `capacity`
/// seats taught by `instructor` (a user id), as the demo admin. Returns (course id, session id,
/// lesson ids).
async fn free_course(
    app: &TestApp,
    slug: &str,
    capacity: i32,
    lessons: usize,
    instructor: &str,
) -> (String, String, Vec<String>) {
    let admin = app.token(demo::ADMIN).await;
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
            json!({ "input": { "slug": slug, "title": "Cours gratuit", "summary": "Un cours.", "description": "",
                "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 0 } }),
        )
        .await;
    let course = r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("id").to_owned();
    let mut lesson_ids = Vec::new();
    for i in 0..lessons {
        let r = app
            .gql(
                Some(&admin),
                "mutation($input: AddLessonInput!) { addLesson(input: $input) { lesson { id } } }",
                json!({ "input": { "courseId": course, "title": format!("Leçon {i}") } }),
            )
            .await;
        lesson_ids
            .push(r.assert_ok()["addLesson"]["lesson"]["id"].as_str().expect("id").to_owned());
    }
    let start = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(20)).to_rfc3339();
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }",
            json!({ "input": { "courseId": course, "startsAt": start, "endsAt": end, "capacity": capacity, "instructorId": instructor } }),
        )
        .await;
    let session = r.assert_ok()["createSession"]["session"]["id"].as_str().expect("id").to_owned();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { publishCourse(input: {courseId: $id}) { course { id } } }",
        json!({ "id": course }),
    )
    .await
    .assert_ok();
    (course, session, lesson_ids)
}

const ENROLL: &str = "mutation($s: ID!) { enroll(input: {sessionId: $s}) { enrollment { id status progress { completedLessons totalLessons percent } } } }";

async fn seats_left(app: &TestApp, session: &str) -> i64 {
    let r = app
        .gql(None, "query($id: ID!) { session(id: $id) { seatsLeft } }", json!({ "id": session }))
        .await;
    r.assert_ok()["session"]["seatsLeft"].as_i64().expect("seats")
}

/// Registers `n` new learners (`{prefix}{i}@example.test`) and returns their access tokens.
async fn new_learners(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..n {
        let r = app
            .gql(
                None,
                "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Learner\", lastName: \"Rush\", acceptedPolicyVersion: \"2026-09\"}) { accessToken } }",
                json!({ "e": format!("{prefix}{i}@example.test") }),
            )
            .await;
        tokens.push(r.assert_ok()["register"]["accessToken"].as_str().expect("token").to_owned());
    }
    tokens
}

async fn forty_learners_race_for_ten_seats_and_exactly_ten_get_one(app: TestApp) {
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-rush", 10, 1, &instructor).await;
    let tokens = new_learners(&app, "rush", 40).await;
    let results =
        common::race(tokens.len(), |i| app.gql(Some(&tokens[i]), ENROLL, json!({ "s": session })))
            .await;
    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    let conflicts: Vec<&common::Gql> =
        results.iter().filter(|r| r.first_code().as_deref() == Some("CONFLICT")).collect();
    assert_eq!(
        ok,
        10,
        "exactly the capacity: {:?}",
        results.iter().filter_map(|r| r.first_code()).collect::<Vec<_>>()
    );
    assert_eq!(conflicts.len(), 30);
    assert!(conflicts.iter().all(|r| r.errors()[0]["message"] == "this session is sold out"));
    assert_eq!(seats_left(&app, &session).await, 0);
    let rows = app
        .count("enrollments e JOIN sessions s ON s.id = e.session_id JOIN courses c ON c.id = s.course_id WHERE c.slug = 'course-rush' AND e.status <> 'cancelled' AND s.seats_taken = 10")
        .await;
    assert_eq!(rows, 10, "seat count and enrollment rows agree");
}

/// Issue 13, item 5: two Pupitre processes on one database behind a load balancer: forty
/// buyers spread over both race for ten seats, and exactly ten get one.
async fn two_instances_on_one_database_sell_exactly_the_capacity(app: TestApp) {
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-two-instances", 10, 1, &instructor).await;
    let other = app.another_instance().await;
    let tokens = new_learners(&app, "two", 40).await;
    let results = common::race(tokens.len(), |i| {
        let base = if i % 2 == 0 { app.base.clone() } else { other.clone() };
        let (token, session) = (tokens[i].clone(), session.clone());
        let app = &app;
        async move { app.gql_on(&base, Some(&token), ENROLL, json!({ "s": session })).await }
    })
    .await;
    let ok: Vec<usize> = (0..results.len()).filter(|i| results[*i].errors().is_empty()).collect();
    assert_eq!(
        ok.len(),
        10,
        "exactly the capacity: {:?}",
        results.iter().filter_map(|r| r.first_code()).collect::<Vec<_>>()
    );
    assert!(
        results
            .iter()
            .all(|r| r.errors().is_empty() || r.first_code().as_deref() == Some("CONFLICT"))
    );
    assert_eq!(seats_left(&app, &session).await, 0);
    let rows = app
        .count("enrollments e JOIN sessions s ON s.id = e.session_id JOIN courses c ON c.id = s.course_id WHERE c.slug = 'course-two-instances' AND e.status <> 'cancelled' AND s.seats_taken = 10")
        .await;
    assert_eq!(rows, 10, "seat count and enrollment rows agree");
}

async fn enrolling_twice_is_refused_and_cancelling_frees_the_seat(app: TestApp) {
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-twice", 3, 1, &instructor).await;
    let token = app.token(demo::LEARNER2).await;
    let r = app.gql(Some(&token), ENROLL, json!({ "s": session })).await;
    let enrollment = r.assert_ok()["enroll"]["enrollment"]["id"].as_str().expect("id").to_owned();
    assert_eq!(seats_left(&app, &session).await, 2);
    let again = app.gql(Some(&token), ENROLL, json!({ "s": session })).await;
    assert_eq!(again.code_at("enroll").as_deref(), Some("CONFLICT"));
    assert_eq!(again.errors()[0]["message"], "already enrolled in this session");
    assert_eq!(seats_left(&app, &session).await, 2, "the refused attempt gave its seat back");
    // Someone else cannot cancel it; the learner can, and the seat is free again.
    let other = app.token(demo::LEARNER).await;
    let cancel = "mutation($e: ID!) { cancelEnrollment(input: {enrollmentId: $e}) { enrollment { status } } }";
    assert_eq!(
        app.gql(Some(&other), cancel, json!({ "e": enrollment }))
            .await
            .code_at("cancelEnrollment")
            .as_deref(),
        Some("FORBIDDEN")
    );
    let r = app.gql(Some(&token), cancel, json!({ "e": enrollment })).await;
    assert_eq!(r.assert_ok()["cancelEnrollment"]["enrollment"]["status"], "CANCELLED");
    assert_eq!(seats_left(&app, &session).await, 3);
    // Cancelling twice changes nothing; enrolling again works.
    app.gql(Some(&token), cancel, json!({ "e": enrollment })).await.assert_ok();
    assert_eq!(seats_left(&app, &session).await, 3);
    app.gql(Some(&token), ENROLL, json!({ "s": session })).await.assert_ok();
    assert_eq!(seats_left(&app, &session).await, 2);
    // An admin cancels the session: enrollments cancelled, gone from the catalogue, no enrolling.
    let admin = app.token(demo::ADMIN).await;
    let r = app
        .gql(
            Some(&admin),
            "mutation($s: ID!) { cancelSession(input: {sessionId: $s}) { cancelledEnrollments } }",
            json!({ "s": session }),
        )
        .await;
    assert_eq!(r.assert_ok()["cancelSession"]["cancelledEnrollments"], 1);
    let r =
        app.gql(None, "{ course(slug: \"course-twice\") { sessions { id } } }", json!({})).await;
    assert_eq!(r.assert_ok()["course"]["sessions"], json!([]));
    assert_eq!(
        app.gql(Some(&token), ENROLL, json!({ "s": session })).await.code_at("enroll").as_deref(),
        Some("NOT_FOUND")
    );
    assert!(
        app.gql(
            None,
            "query($id: ID!) { session(id: $id) { id } }",
            json!({ "s": session, "id": session })
        )
        .await
        .assert_ok()["session"]
            .is_null()
    );
    let mine = app.gql(Some(&token), "{ me { enrollments { session { id } } } }", json!({})).await;
    assert!(
        !mine.assert_ok().to_string().contains(&session),
        "cancelled enrollments are not listed"
    );
    // A paid course is for the shop.
    let paid = app
        .gql(None, "{ courses(first: 1, filter: {minPriceCents: 1, hasUpcomingSession: true}) { edges { node { sessions { id } } } } }", json!({}))
        .await;
    let paid_session = paid.assert_ok()["courses"]["edges"][0]["node"]["sessions"][0]["id"]
        .as_str()
        .expect("session")
        .to_owned();
    let r = app.gql(Some(&token), ENROLL, json!({ "s": paid_session })).await;
    assert_eq!(r.code_at("enroll").as_deref(), Some("CONFLICT"));
}

async fn progress_is_tracked_and_the_last_lesson_completes_the_course(app: TestApp) {
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, lessons) = free_course(&app, "course-progress", 5, 3, &instructor).await;
    let token = app.token(demo::LEARNER2).await;
    let r = app.gql(Some(&token), ENROLL, json!({ "s": session })).await;
    let e = r.assert_ok()["enroll"]["enrollment"].clone();
    assert_eq!(e["progress"], json!({ "completedLessons": 0, "totalLessons": 3, "percent": 0 }));
    let id = e["id"].as_str().expect("id").to_owned();
    let complete = "mutation($e: ID!, $l: ID!) { completeLesson(input: {enrollmentId: $e, lessonId: $l}) { enrollment { status progress { completedLessons percent } } } }";
    let r = app.gql(Some(&token), complete, json!({ "e": id, "l": lessons[0] })).await;
    assert_eq!(
        r.assert_ok()["completeLesson"]["enrollment"]["progress"],
        json!({ "completedLessons": 1, "percent": 33 })
    );
    // Idempotent; a lesson of another course is bad input; someone else's enrollment is forbidden.
    app.gql(Some(&token), complete, json!({ "e": id, "l": lessons[0] })).await.assert_ok();
    // The learner's list counts the same (there, progress comes with the enrollments' statement).
    let this =
        my_enrollment(&app, &token, &id, "progress { completedLessons totalLessons percent }")
            .await;
    assert_eq!(
        this["progress"],
        json!({ "completedLessons": 1, "totalLessons": 3, "percent": 33 })
    );
    let foreign_lesson = app
        .gql(None, "{ courses(first: 1) { edges { node { lessons { id } } } } }", json!({}))
        .await;
    let foreign = foreign_lesson.data()["courses"]["edges"][0]["node"]["lessons"][0]["id"]
        .as_str()
        .expect("lesson")
        .to_owned();
    let r = app.gql(Some(&token), complete, json!({ "e": id, "l": foreign })).await;
    r.assert_bad_input("input.lessonId");
    let other = app.token(demo::LEARNER).await;
    assert_eq!(
        app.gql(Some(&other), complete, json!({ "e": id, "l": lessons[1] }))
            .await
            .code_at("completeLesson")
            .as_deref(),
        Some("FORBIDDEN")
    );
    for l in &lessons[1..] {
        app.gql(Some(&token), complete, json!({ "e": id, "l": l })).await.assert_ok();
    }
    let done =
        my_enrollment(&app, &token, &id, "status progress { percent } session { course { slug } }")
            .await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["progress"]["percent"], 100);
    assert_eq!(done["session"]["course"]["slug"], "course-progress");
}

async fn guardians_enroll_wards_and_see_their_learning_record_billing_does_not(app: TestApp) {
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-ward", 5, 2, &instructor).await;
    let guardian = app.token(demo::GUARDIAN).await;
    let tom = app.user_id(demo::MINOR).await;
    let r = app.gql(Some(&guardian), "mutation($s: ID!, $l: ID!) { enroll(input: {sessionId: $s, learnerId: $l}) { enrollment { status } } }", json!({ "s": session, "l": tom })).await;
    assert_eq!(r.assert_ok()["enroll"]["enrollment"]["status"], "ACTIVE");
    let q =
        "query($id: ID!) { user(id: $id) { enrollments { status session { course { slug } } } } }";
    let r = app.gql(Some(&guardian), q, json!({ "id": tom })).await;
    let guardians_view = r.assert_ok()["user"]["enrollments"].clone();
    let slugs: Vec<String> = r.assert_ok()["user"]["enrollments"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["session"]["course"]["slug"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(slugs.contains(&"course-ward".to_owned()), "{slugs:?}");
    // A stranger cannot enroll Tom; billing and marketing see none of his learning record.
    let other = app.token(demo::LEARNER).await;
    let r = app.gql(Some(&other), "mutation($s: ID!, $l: ID!) { enroll(input: {sessionId: $s, learnerId: $l}) { enrollment { status } } }", json!({ "s": session, "l": tom })).await;
    assert_eq!(r.code_at("enroll").as_deref(), Some("FORBIDDEN"));
    for email in [demo::BILLING, demo::MARKETING, demo::REVIEWER] {
        let t = app.token(email).await;
        let r = app.gql(Some(&t), q, json!({ "id": tom })).await;
        assert_eq!(r.code_at("user.enrollments").as_deref(), Some("FORBIDDEN"), "{email}");
    }
    // Support reads the same record as the guardian (the new enrollment included).
    let support = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support), q, json!({ "id": tom })).await;
    let supports_view = r.assert_ok()["user"]["enrollments"].clone();
    assert!(
        supports_view.as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["session"]["course"]["slug"] == "course-ward" && e["status"] == "ACTIVE")),
        "{supports_view}"
    );
    assert_eq!(supports_view, guardians_view);
}

const ROSTER: &str = "query($id: ID!) { session(id: $id) { roster { learner { firstName email phone } status progress { percent } attendance { talkSeconds } } } }";

async fn an_instructor_sees_the_roster_of_their_own_sessions_only(app: TestApp) {
    // A second instructor.
    let r = app
        .gql(None, "mutation { register(input: {email: \"paul.prof@example.test\", password: \"a long enough passphrase\", firstName: \"Paul\", lastName: \"Prof\", acceptedPolicyVersion: \"2026-09\"}) { user { id } } }", json!({}))
        .await;
    let paul = r.assert_ok()["register"]["user"]["id"].as_str().expect("id").to_owned();
    // Instructors read their learners' names: the privacy officer grants the role, Paul accepts.
    let dpo = app.token(demo::DPO).await;
    app.gql(Some(&dpo), "mutation($id: ID!) { setUserRole(input: {userId: $id, role: INSTRUCTOR, granted: true}) { user { id } } }", json!({ "id": paul }))
        .await
        .assert_ok();
    let paul_first = app.login_with("paul.prof@example.test", "a long enough passphrase").await.0;
    app.gql(
        Some(&paul_first),
        "mutation { acceptRole(input: {role: INSTRUCTOR}) { user { id } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let (_, pauls_session, _) = free_course(&app, "course-paul", 5, 1, &paul).await;
    let ines = app.user_id(demo::INSTRUCTOR).await;
    let (_, ines_session, _) = free_course(&app, "course-ines", 5, 1, &ines).await;
    let learner = app.token(demo::LEARNER2).await;
    for s in [&pauls_session, &ines_session] {
        app.gql(Some(&learner), ENROLL, json!({ "s": s })).await.assert_ok();
    }
    let paul_token = app.login_with("paul.prof@example.test", "a long enough passphrase").await.0;
    let r = app.gql(Some(&paul_token), ROSTER, json!({ "id": pauls_session })).await;
    let entry = &r.data()["session"]["roster"][0];
    assert_eq!(entry["learner"]["firstName"], "Hugo", "{}", r.body);
    assert_eq!(entry["learner"]["email"], "hugo.bernard@demo.pupitre.test");
    assert_eq!(
        r.code_at("session.roster.0.learner.phone").as_deref(),
        Some("FORBIDDEN"),
        "contact e-mail only"
    );
    assert_eq!(entry["status"], "ACTIVE");
    // Through the learner's profile, Paul sees the enrollment in his session and not the one
    // in Inès's.
    let hugo = app.user_id(demo::LEARNER2).await;
    let r = app
        .gql(
            Some(&paul_token),
            "query($id: ID!) { user(id: $id) { enrollments { session { id } } } }",
            json!({ "id": hugo }),
        )
        .await;
    let seen: Vec<String> = r.assert_ok()["user"]["enrollments"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["session"]["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(seen, vec![pauls_session.clone()]);
    // Not another instructor's session, in either direction; billing never.
    let r = app.gql(Some(&paul_token), ROSTER, json!({ "id": ines_session })).await;
    assert_eq!(r.code_at("session.roster").as_deref(), Some("FORBIDDEN"));
    let ines_token = app.token(demo::INSTRUCTOR).await;
    let r = app.gql(Some(&ines_token), ROSTER, json!({ "id": pauls_session })).await;
    assert_eq!(r.code_at("session.roster").as_deref(), Some("FORBIDDEN"));
    let billing = app.token(demo::BILLING).await;
    assert_eq!(
        app.gql(Some(&billing), ROSTER, json!({ "id": pauls_session }))
            .await
            .code_at("session.roster")
            .as_deref(),
        Some("FORBIDDEN")
    );
    // Support reads rosters (learning record R), with an audit entry for the contact data:
    // one for the one learner (e-mail and phone are one category), for customer service.
    let contact_reads = "audit_log WHERE action = 'personal_data.read' AND category = 'contact' AND actor_roles = 'support' AND purpose = 'customer_service'";
    let before = app.count(contact_reads).await;
    let support = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support), ROSTER, json!({ "id": pauls_session })).await;
    assert_eq!(r.assert_ok()["session"]["roster"][0]["learner"]["phone"], "+33612345002");
    assert_eq!(
        app.count(contact_reads).await,
        before + 1,
        "support's read of Hugo's contact data is audited once"
    );
    let dpo = app.token(demo::DPO).await;
    let log = app.gql(Some(&dpo), "query($s: ID!) { auditLog(first: 50, subjectId: $s) { edges { node { action category purpose actorRoles } } } }", json!({ "s": hugo })).await;
    let entry = json!({ "action": "personal_data.read", "category": "contact", "purpose": "customer_service", "actorRoles": "support" });
    let about_hugo = log.assert_ok()["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        about_hugo.iter().filter(|e| e["node"] == entry).count(),
        1,
        "the entry is about Hugo: {about_hugo:?}"
    );
}

async fn live_class_recordings_reach_the_class_only_and_vanish_after_retention(app: TestApp) {
    let ines = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-live", 5, 1, &ines).await;
    let learner = app.token(demo::LEARNER2).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    let lea = app.user_id(demo::LEARNER).await;
    app.gql(Some(&learner), ENROLL, json!({ "s": session })).await.assert_ok();
    let ines_token = app.token(demo::INSTRUCTOR).await;
    let starts = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = app
        .gql(
            Some(&ines_token),
            "mutation($input: ScheduleLiveClassInput!) { scheduleLiveClass(input: $input) { liveClass { id } } }",
            json!({ "input": { "sessionId": session, "title": "Classe 1", "startsAt": starts.to_rfc3339(), "endsAt": (starts + chrono::Duration::minutes(90)).to_rfc3339(), "recorded": true } }),
        )
        .await;
    let lc = r.assert_ok()["scheduleLiveClass"]["liveClass"]["id"].as_str().expect("id").to_owned();
    // The integration account reports; a learner not enrolled is refused (by index), and the
    // report is all or nothing; a learner cannot report.
    let integration = app.token(demo::INTEGRATION).await;
    let record = "mutation($input: RecordLiveClassInput!) { recordLiveClass(input: $input) { liveClass { id } } }";
    let part = |who: &str| json!({ "learnerId": who, "joinedAt": starts.to_rfc3339(), "leftAt": (starts + chrono::Duration::minutes(80)).to_rfc3339(), "talkSeconds": 120, "chatMessages": 3, "handRaises": 1, "pollAnswers": 2 });
    let r = app.gql(Some(&integration), record, json!({ "input": { "liveClassId": lc, "participants": [part(&hugo), part(&lea)], "recordingRef": "https://rec.example/0" } })).await;
    r.assert_bad_input("input.participants.1.learnerId");
    assert_eq!(app.count("live_class_attendance a JOIN live_classes l ON l.id = a.live_class_id WHERE l.title = 'Classe 1'").await, 0);
    assert_eq!(
        app.gql(
            Some(&learner),
            record,
            json!({ "input": { "liveClassId": lc, "participants": [] } })
        )
        .await
        .code_at("recordLiveClass")
        .as_deref(),
        Some("FORBIDDEN")
    );
    app.gql(Some(&integration), record, json!({ "input": { "liveClassId": lc, "participants": [part(&hugo)], "recordingRef": "https://rec.example/1" } })).await.assert_ok();

    let q = "query($id: ID!) { session(id: $id) { liveClasses { title recordingRef recordingExpiresAt } } }";
    let r = app.gql(Some(&learner), q, json!({ "id": session })).await;
    assert_eq!(r.assert_ok()["session"]["liveClasses"][0]["recordingRef"], "https://rec.example/1");
    assert_eq!(
        app.gql(Some(&ines_token), q, json!({ "id": session })).await.assert_ok()["session"]["liveClasses"]
            [0]["recordingRef"],
        "https://rec.example/1"
    );
    for t in [app.token(demo::LEARNER).await, app.token(demo::SUPPORT).await] {
        let r = app.gql(Some(&t), q, json!({ "id": session })).await;
        assert_eq!(r.code_at("session.liveClasses.0.recordingRef").as_deref(), Some("FORBIDDEN"));
    }
    assert_eq!(
        app.gql(None, q, json!({ "id": session }))
            .await
            .code_at("session.liveClasses.0.recordingRef")
            .as_deref(),
        Some("FORBIDDEN")
    );
    // Attendance shows in the learner's own record.
    let me = app.gql(Some(&learner), "{ me { enrollments { attendance { talkSeconds chatMessages handRaises pollAnswers } } } }", json!({})).await;
    assert!(me.assert_ok().to_string().contains("\"talkSeconds\":120"));
    // The demo tenant keeps recordings 14 days after the class: on day 13 it is there, on day
    // 15 it is gone from every query.
    app.clock.advance_secs(13 * 24 * 3600);
    assert_eq!(
        app.gql(Some(&learner), q, json!({ "id": session })).await.assert_ok()["session"]["liveClasses"]
            [0]["recordingRef"],
        "https://rec.example/1"
    );
    app.clock.advance_secs(2 * 24 * 3600);
    for t in [&learner, &ines_token] {
        let r = app.gql(Some(t), q, json!({ "id": session })).await;
        assert!(r.assert_ok()["session"]["liveClasses"][0]["recordingRef"].is_null());
    }
}

/// `CLASS_RECORDING` (issue 12, item 5): a learner sees the recording notice with the room's
/// link, the instructor sees who declined before the class, and the attendance report keeps
/// who had agreed when it was reported.
async fn class_recording_consent_is_told_to_the_learner_and_marked_for_the_instructor(
    app: TestApp,
) {
    let ines = app.user_id(demo::INSTRUCTOR).await;
    let ines_token = app.token(demo::INSTRUCTOR).await;
    let (_, session) = common::published_course_with(
        &app,
        json!({ "slug": "course-recorded", "title": "Classe virtuelle", "summary": "Un cours.", "description": "",
            "level": "BEGINNER", "format": "VIRTUAL_CLASS", "language": "fr", "priceCents": 0 }),
        json!({ "capacity": 5, "instructorId": ines, "virtualRoom": "https://classe.example/room/rec-1" }),
    )
    .await;
    let start = chrono::Utc::now() + chrono::Duration::days(10);
    let (lea_token, hugo_token) = (app.token(demo::LEARNER).await, app.token(demo::LEARNER2).await);
    let (lea, hugo) = (app.user_id(demo::LEARNER).await, app.user_id(demo::LEARNER2).await);
    for t in [&lea_token, &hugo_token] {
        app.gql(Some(t), ENROLL, json!({ "s": session })).await.assert_ok();
    }
    // Léa agrees to be recorded; Hugo says nothing (no consent is a refusal).
    app.gql(
        Some(&lea_token),
        "mutation { setConsent(input: {purpose: CLASS_RECORDING, granted: true, source: \"account-settings\"}) { consent { granted } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let room = "{ me { enrollments { virtualClassroom { joinUrl recorded recordingConsent recordingRetentionDays fr: notice en: notice(language: \"en\") } } } }";
    let classroom = |t: &str| {
        let (app, t) = (&app, t.to_owned());
        async move {
            let r = app.gql(Some(&t), room, json!({})).await;
            r.assert_ok()["me"]["enrollments"]
                .as_array()
                .expect("enrollments")
                .iter()
                .find_map(|e| {
                    let v = &e["virtualClassroom"];
                    (v["joinUrl"] == "https://classe.example/room/rec-1").then(|| v.clone())
                })
                .expect("the recorded session's room")
        }
    };
    // Nothing recorded yet: no notice.
    let v = classroom(&hugo_token).await;
    assert_eq!(v["recorded"], false);
    assert!(v["fr"].is_null());
    let r = app
        .gql(
            Some(&ines_token),
            "mutation($input: ScheduleLiveClassInput!) { scheduleLiveClass(input: $input) { liveClass { id } } }",
            json!({ "input": { "sessionId": session, "title": "Classe enregistrée", "startsAt": (start + chrono::Duration::hours(1)).to_rfc3339(), "endsAt": (start + chrono::Duration::hours(2)).to_rfc3339(), "recorded": true } }),
        )
        .await;
    let lc = r.assert_ok()["scheduleLiveClass"]["liveClass"]["id"].as_str().expect("id").to_owned();
    let v = classroom(&hugo_token).await;
    assert_eq!(v["recorded"], true);
    assert_eq!(v["recordingConsent"], false);
    assert_eq!(v["recordingRetentionDays"], 14);
    let fr = v["fr"].as_str().expect("notice");
    assert!(
        fr.contains("enregistrées") && fr.contains("14 jours") && fr.contains("n'avez pas accepté"),
        "{fr}"
    );
    assert!(v["en"].as_str().expect("notice").contains("You have not agreed"));
    let v = classroom(&lea_token).await;
    assert_eq!(v["recordingConsent"], true);
    assert!(v["fr"].as_str().expect("notice").contains("Vous avez accepté"));
    let r = app
        .gql(
            Some(&lea_token),
            "{ me { enrollments { virtualClassroom { notice(language: \"de\") } } } }",
            json!({}),
        )
        .await;
    assert!(r.errors().iter().any(|e| e["extensions"]["field"] == "language"), "{}", r.body);

    // The instructor's roster tells who declined, before the class.
    let roster = "query($id: ID!) { session(id: $id) { roster { learner { id } recordingConsent attendance { recordingConsent talkSeconds } } } }";
    let r = app.gql(Some(&ines_token), roster, json!({ "id": session })).await;
    let entries = r.assert_ok()["session"]["roster"].as_array().cloned().expect("roster");
    let consent_of = |entries: &[Value], who: &str| {
        entries.iter().find(|e| e["learner"]["id"] == who).map(|e| e["recordingConsent"].clone())
    };
    assert_eq!(consent_of(&entries, &lea), Some(json!(true)));
    assert_eq!(consent_of(&entries, &hugo), Some(json!(false)));
    // The attendance report keeps who had agreed when it was reported, whatever comes after.
    let integration = app.token(demo::INTEGRATION).await;
    let part = |who: &str| json!({ "learnerId": who, "joinedAt": start.to_rfc3339(), "leftAt": (start + chrono::Duration::minutes(50)).to_rfc3339(), "talkSeconds": 30, "chatMessages": 0, "handRaises": 0, "pollAnswers": 0 });
    app.gql(
        Some(&integration),
        "mutation($input: RecordLiveClassInput!) { recordLiveClass(input: $input) { liveClass { id } } }",
        json!({ "input": { "liveClassId": lc, "participants": [part(&lea), part(&hugo)] } }),
    )
    .await
    .assert_ok();
    app.gql(
        Some(&lea_token),
        "mutation { setConsent(input: {purpose: CLASS_RECORDING, granted: false, source: \"account-settings\"}) { consent { granted } } }",
        json!({}),
    )
    .await
    .assert_ok();
    let r = app.gql(Some(&ines_token), roster, json!({ "id": session })).await;
    let entries = r.assert_ok()["session"]["roster"].as_array().cloned().expect("roster");
    let reported = |who: &str| {
        entries
            .iter()
            .find(|e| e["learner"]["id"] == who)
            .map(|e| e["attendance"][0]["recordingConsent"].clone())
    };
    assert_eq!(reported(&lea), Some(json!(true)), "agreed when the class was reported");
    assert_eq!(reported(&hugo), Some(json!(false)), "declined");
    assert_eq!(consent_of(&entries, &lea), Some(json!(false)), "withdrawn since");
    // Billing reads no learning record: the mark is not theirs to see.
    let r = app.gql(Some(&app.token(demo::BILLING).await), roster, json!({ "id": session })).await;
    assert!(
        r.data()["session"]["roster"].is_null() || r.first_code().as_deref() == Some("FORBIDDEN"),
        "{}",
        r.body
    );
}

async fn reservations_hold_a_seat_until_they_expire(app: TestApp) {
    use pupitre::domain::learning;
    let instructor = app.user_id(demo::INSTRUCTOR).await;
    let (_, session, _) = free_course(&app, "course-holds", 2, 1, &instructor).await;
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenant").expect("demo").id;
    let session_id = uuid::Uuid::parse_str(&session).expect("uuid");
    let lea = uuid::Uuid::parse_str(&app.user_id(demo::LEARNER).await).expect("uuid");
    let hugo = uuid::Uuid::parse_str(&app.user_id(demo::LEARNER2).await).expect("uuid");
    let tom = uuid::Uuid::parse_str(&app.user_id(demo::MINOR).await).expect("uuid");
    let hold = app.clock.now() + chrono::Duration::minutes(15);
    let a =
        learning::reserve(app.services(), tenant, session_id, lea, hold).await.expect("reserved");
    learning::reserve(app.services(), tenant, session_id, hugo, hold).await.expect("reserved");
    assert_eq!(seats_left(&app, &session).await, 0, "reservations hold seats");
    let third = learning::reserve(app.services(), tenant, session_id, tom, hold).await;
    assert!(
        matches!(&third, Err(pupitre::error::AppError::Conflict(m)) if m == "this session is sold out"),
        "sold out: {third:?}"
    );
    // Paying in time activates; nothing expires yet.
    assert!(learning::activate_reservation(app.services(), tenant, a.id).await.expect("activate"));
    assert_eq!(learning::release_expired_holds(app.services(), tenant).await.expect("sweep"), 0);
    // After the hold, the unpaid seat can no longer be paid for, and the sweep releases it
    // (once, however often it runs).
    let b = learning::reserve(app.services(), tenant, session_id, tom, hold).await;
    assert!(
        matches!(&b, Err(pupitre::error::AppError::Conflict(m)) if m == "this session is sold out"),
        "still sold out: {b:?}"
    );
    let pending_id = uuid::Uuid::parse_str(
        app.gql(
            Some(&app.token(demo::LEARNER2).await),
            "{ me { enrollments { id status } } }",
            json!({}),
        )
        .await
        .assert_ok()["me"]["enrollments"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["status"] == "PENDING_PAYMENT"))
            .and_then(|e| e["id"].as_str())
            .expect("hugo's pending enrollment"),
    )
    .expect("uuid");
    app.clock.advance_secs(16 * 60);
    let hugos = app.count("enrollments e JOIN sessions s ON s.id = e.session_id JOIN courses c ON c.id = s.course_id WHERE c.slug = 'course-holds' AND e.status = 'pending_payment'").await;
    assert_eq!(hugos, 1);
    let late = learning::reserve(
        app.services(),
        tenant,
        session_id,
        tom,
        app.clock.now() - chrono::Duration::minutes(1),
    )
    .await;
    assert!(
        matches!(late, Err(pupitre::error::AppError::BadUserInput { .. })),
        "a hold in the past is refused"
    );
    assert!(
        !learning::activate_reservation(app.services(), tenant, pending_id)
            .await
            .expect("activate"),
        "an expired hold cannot be paid"
    );
    assert_eq!(learning::release_expired_holds(app.services(), tenant).await.expect("sweep"), 1);
    assert_eq!(learning::release_expired_holds(app.services(), tenant).await.expect("sweep"), 0);
    assert_eq!(seats_left(&app, &session).await, 1);
}

/// The signed-in path reads what the data needs and no more: `me { enrollments … }` of a
/// learner with enrollments is 2 statements whatever their number: the session check with the
/// user, held roles and the guardian flag (1), then the enrollments with their sessions, the
/// sessions' courses and their progress counted by the database (1).
/// A guardian's relations add their wards' reads; an instructor's, their learners'.
async fn the_signed_in_learning_path_costs_two_statements(app: TestApp) {
    let q = "{ me { email roles enrollments { id status progress { completedLessons totalLessons percent } session { startsAt course { title } } } } }";
    let lea = app.token(demo::LEARNER).await;
    let first = app.gql(Some(&lea), q, json!({})).await;
    let enrollments = first.assert_ok()["me"]["enrollments"].as_array().map_or(0, Vec::len);
    assert!(enrollments >= 2, "the demo learner has several enrollments: {}", first.body);
    assert_eq!(first.assert_ok()["me"]["roles"], json!(["LEARNER"]));
    let before = app.app_statements.get();
    let again = app.gql(Some(&lea), q, json!({})).await;
    assert_eq!(app.app_statements.get() - before, 2);
    assert_eq!(again.body, first.body);
    // A closed session is refused by the same statement.
    app.gql(Some(&lea), "mutation { logout(input: {}) { revokedSessions } }", json!({}))
        .await
        .assert_ok();
    let r = app.gql(Some(&lea), q, json!({})).await;
    assert_eq!(r.code_at("me").as_deref(), Some("UNAUTHENTICATED"), "{}", r.body);
}

on_both_databases!(
    reservations_hold_a_seat_until_they_expire,
    the_signed_in_learning_path_costs_two_statements,
    forty_learners_race_for_ten_seats_and_exactly_ten_get_one,
    two_instances_on_one_database_sell_exactly_the_capacity,
    enrolling_twice_is_refused_and_cancelling_frees_the_seat,
    progress_is_tracked_and_the_last_lesson_completes_the_course,
    guardians_enroll_wards_and_see_their_learning_record_billing_does_not,
    an_instructor_sees_the_roster_of_their_own_sessions_only,
    live_class_recordings_reach_the_class_only_and_vanish_after_retention,
    class_recording_consent_is_told_to_the_learner_and_marked_for_the_instructor,
);
