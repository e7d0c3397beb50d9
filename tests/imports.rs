//! The domain's batch operations (what the demo loader uses, and an operator's import would): a
//! whole course with its sessions and outline, a whole account with its roles, several lessons
//! completed at once, an order paid outside Stripe. Each is one transaction with the checks of
//! the step-by-step services; each refusal answers the step-by-step service's code and writes
//! nothing. SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use chrono::{Duration, Utc};
use common::{TestApp, demo};
use pupitre::domain::accounts::{self, AccountImport};
use pupitre::domain::catalog::{
    self, CourseDraft, CourseImport, CourseStatus, Format, LessonDraft, Level, SessionDraft,
};
use pupitre::domain::learning::{self, EnrollmentStatus};
use pupitre::domain::shop::{self, OrderRequest, OrderStatus};
use pupitre::domain::tenancy::Tenant;
use pupitre::domain::types::{
    Email, Locale, Money, Password, PersonName, PostalAddress, Slug, Tag,
};
use pupitre::error::AppError;
use pupitre::policy::{Actor, Relations, Role};
use serde_json::json;
use uuid::Uuid;

async fn tenant(app: &TestApp) -> Tenant {
    (*app.services().tenants.by_slug("demo").await.expect("directory").expect("demo tenant"))
        .clone()
}

/// A demo person acting with the roles they hold, and their relations.
async fn acting(app: &TestApp, email: &str) -> (Actor, Relations) {
    let s = app.services();
    let tenant = tenant(app).await;
    let id: Uuid = app.user_id(email).await.parse().expect("uuid");
    let record = accounts::find_record(s, tenant.id, id).await.expect("read").expect("person");
    let actor = Actor::user(tenant.id, id, None, record.roles, "test".into());
    let relations = accounts::relations(s, &actor).await.expect("relations");
    (actor, relations)
}

fn session_in(days: i64, instructor: Option<Uuid>) -> SessionDraft {
    let starts_at = Utc::now() + Duration::days(days);
    SessionDraft {
        starts_at,
        ends_at: starts_at + Duration::days(2),
        instructor_id: instructor,
        capacity: 12,
        location: None,
        virtual_room: None,
    }
}

fn course(slug: &str, instructor: Option<Uuid>) -> CourseImport {
    CourseImport {
        course: CourseDraft {
            slug: Slug::parse("slug", slug).expect("slug"),
            title: "Atelier importé".into(),
            summary: "Un cours venu d'ailleurs".into(),
            description: String::new(),
            level: Level::Beginner,
            format: Format::Online,
            language: "fr".into(),
            price: Money::parse("price", 12_000, "EUR").expect("price"),
            tax_rate_bp: 2000,
            tags: vec![Tag::parse("tags", "import").expect("tag")],
        },
        sessions: vec![session_in(10, instructor), session_in(40, instructor)],
        lessons: ["Un", "Deux", "Trois"]
            .into_iter()
            .map(|t| LessonDraft { title: t.into(), duration_minutes: Some(60) })
            .collect(),
        publish: true,
    }
}

async fn a_course_is_imported_whole_or_not_at_all(app: TestApp) {
    let s = app.services();
    let (admin, _) = acting(&app, demo::ADMIN).await;
    let (learner, _) = acting(&app, demo::LEARNER).await;
    let instructor: Uuid = app.user_id(demo::INSTRUCTOR).await.parse().expect("uuid");
    let learner_id = learner.user_id.expect("learner id");
    let rows = || async {
        (
            app.count("courses").await,
            app.count("sessions").await,
            app.count("lessons").await,
            app.count("audit_log").await,
        )
    };
    let before = rows().await;

    // Act and assert: every refusal of the step-by-step writes, nothing written.
    let r = catalog::import_course(s, &learner, course("atelier-import", None)).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    let mut ends_first = course("atelier-import", None);
    ends_first.sessions[1].ends_at = ends_first.sessions[1].starts_at;
    let r = catalog::import_course(s, &admin, ends_first).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "input.endsAt"),
        "{r:?}"
    );
    let r = catalog::import_course(s, &admin, course("atelier-import", Some(learner_id))).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "input.instructorId"),
        "{r:?}"
    );
    let r = catalog::import_course(s, &admin, course("anglais-b1-conversation", None)).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "a demo slug: {r:?}");
    assert_eq!(rows().await, before, "nothing of a refused import is kept");

    let imported = catalog::import_course(s, &admin, course("atelier-import", Some(instructor)))
        .await
        .expect("imported");

    assert_eq!(imported.status, CourseStatus::Published);
    let (courses, sessions, lessons, audited) = before;
    assert_eq!(rows().await, (courses + 1, sessions + 2, lessons + 3, audited + 7));
    for (action, n) in [
        ("course.created", 1),
        ("session.created", 2),
        ("lesson.created", 3),
        ("course.published", 1),
    ] {
        let since = format!("audit_log WHERE action = '{action}' AND request_id = 'test'");
        assert_eq!(app.count(&since).await, n, "{action}");
    }
    let r = app
        .gql(
            None,
            "{ course(slug: \"atelier-import\") { tags lessons { position title } sessions { instructor { displayName } } } }",
            json!({}),
        )
        .await;
    let c = &r.assert_ok()["course"];
    assert_eq!(c["tags"], json!(["import"]));
    assert_eq!(
        c["lessons"],
        json!([
            { "position": 1, "title": "Un" },
            { "position": 2, "title": "Deux" },
            { "position": 3, "title": "Trois" }
        ])
    );
    assert_eq!(c["sessions"].as_array().map(Vec::len), Some(2));
}

fn person(email: &str, password_hash: String, version: &str, roles: Vec<Role>) -> AccountImport {
    AccountImport {
        email: Email::parse("email", email).expect("email"),
        password_hash,
        first_name: PersonName::parse("first", "Imène").expect("name"),
        last_name: PersonName::parse("last", "Portée").expect("name"),
        civility: None,
        locale: Locale::parse("locale", "fr").expect("locale"),
        accepted_policy_version: version.into(),
        marketing_email_consent: true,
        phone: None,
        address: Some(
            PostalAddress::parse("address", "2 rue de l'Import", None, "69001", "Lyon", "FR")
                .expect("address"),
        ),
        birth_date: None,
        roles,
    }
}

async fn an_imported_account_signs_in_with_its_roles_in_effect(app: TestApp) {
    let s = app.services();
    let tenant = tenant(&app).await;
    let passphrase = "a long enough passphrase";
    let hash = accounts::hash_password(Password::parse("p", passphrase).expect("password"))
        .await
        .expect("hash");
    let version = accounts::current_policy(s, tenant.id).await.expect("read").expect("policy");
    let version = version.version;
    let email = "imene.portee@example.test";
    let rows = || async {
        (app.count("users").await, app.count("user_roles").await, app.count("audit_log").await)
    };
    let before = rows().await;

    // Act and assert: refusals first, nothing written.
    let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned();
    let r = accounts::import_account(s, &tenant, person(email, bcrypt, &version, vec![])).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "passwordHash"),
        "{r:?}"
    );
    let r =
        accounts::import_account(s, &tenant, person(email, hash.clone(), "1999-01", vec![])).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "acceptedPolicyVersion"),
        "{r:?}"
    );
    let r =
        accounts::import_account(s, &tenant, person(demo::LEARNER, hash.clone(), &version, vec![]))
            .await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "{r:?}");
    assert_eq!(rows().await, before);

    let roles = vec![Role::Instructor, Role::Learner, Role::Instructor];
    let record = accounts::import_account(s, &tenant, person(email, hash, &version, roles))
        .await
        .expect("imported");

    assert!(record.roles.has(Role::Instructor) && record.roles.has(Role::Learner));
    assert!(!record.roles.has(Role::Admin));
    let (users, roles, audited) = before;
    // account.registered, then role.granted once per role.
    assert_eq!(rows().await, (users + 1, roles + 2, audited + 3));
    assert_eq!(app.count("auth_sessions WHERE user_id IN (SELECT id FROM users WHERE email = 'imene.portee@example.test')").await, 0, "no session opened");
    let (token, _, _) = app.login_with(email, passphrase).await;
    let me = app
        .gql(
            Some(&token),
            "{ me { roles pendingRoles acceptedPolicyVersion postalAddress { city } consents { purpose granted source } } }",
            json!({}),
        )
        .await;
    let me = &me.assert_ok()["me"];
    assert_eq!(me["roles"], json!(["LEARNER", "INSTRUCTOR"]), "{me}");
    assert_eq!(me["pendingRoles"], json!([]));
    assert_eq!(me["acceptedPolicyVersion"], json!(version));
    assert_eq!(me["postalAddress"]["city"], "Lyon");
    let marketing = me["consents"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["purpose"] == "MARKETING_EMAIL"))
        .expect("marketing consent");
    assert_eq!((&marketing["granted"], &marketing["source"]), (&json!(true), &json!("import")));
}

/// A free course of the demo catalogue with a session still to come, and its lessons.
async fn free_session(app: &TestApp) -> (Uuid, Vec<Uuid>) {
    let s = app.services();
    let tenant = tenant(app).await;
    let c = catalog::course_by_slug(s, tenant.id, "initiation-numerique-seniors", false)
        .await
        .expect("read")
        .expect("a free demo course");
    assert_eq!(c.price_cents, 0);
    let session = catalog::sessions_of(s, tenant.id, &[c.id])
        .await
        .expect("read")
        .remove(&c.id)
        .and_then(|v| v.into_iter().find(|x| x.starts_at > Utc::now() && !x.cancelled))
        .expect("a session to come");
    let lessons = catalog::lessons_of(s, tenant.id, &[c.id])
        .await
        .expect("read")
        .remove(&c.id)
        .expect("lessons");
    (session.id, lessons.into_iter().map(|l| l.id).collect())
}

async fn several_lessons_complete_at_once_as_one_at_a_time(app: TestApp) {
    let s = app.services();
    let (hugo, relations) = acting(&app, demo::LEARNER2).await;
    let (session, lessons) = free_session(&app).await;
    assert!(lessons.len() >= 2, "the course has an outline");
    let enrollment = learning::enroll(s, &hugo, &relations, session, None).await.expect("enrolled");
    let (lea, _) = acting(&app, demo::LEARNER).await;
    let completions = app.count("lesson_completions").await;

    // Act and assert: refusals, nothing recorded.
    let r = learning::complete_lessons(s, &hugo, enrollment.id, &[]).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "input.lessonIds"),
        "{r:?}"
    );
    let r =
        learning::complete_lessons(s, &hugo, enrollment.id, &[lessons[0], Uuid::now_v7()]).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "input.lessonIds.1"),
        "{r:?}"
    );
    let r = learning::complete_lessons(s, &lea, enrollment.id, &lessons).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "someone else's progress: {r:?}");
    assert_eq!(app.count("lesson_completions").await, completions);

    let (last, first) = lessons.split_last().expect("lessons");
    let partly = learning::complete_lessons(s, &hugo, enrollment.id, &[first[0], first[0]])
        .await
        .expect("first lesson");
    assert_eq!(partly.status, EnrollmentStatus::Active);
    let mut rest = first.to_vec();
    rest.push(*last);
    let done = learning::complete_lessons(s, &hugo, enrollment.id, &rest).await.expect("the rest");

    assert_eq!(done.status, EnrollmentStatus::Completed, "the last lesson completes it");
    assert!(done.completed_at.is_some());
    assert_eq!(
        app.count("lesson_completions").await,
        completions + i64::try_from(lessons.len()).expect("count"),
        "one completion per lesson, the repeated one included once"
    );
}

async fn an_order_settled_outside_stripe_is_paid_and_invoiced_without_a_receipt(app: TestApp) {
    let s = app.services();
    let (hugo, relations) = acting(&app, demo::LEARNER2).await;
    let tenant = tenant(&app).await;
    let c = catalog::course_by_slug(s, tenant.id, "preparation-toeic", false)
        .await
        .expect("read")
        .expect("a paid demo course");
    assert!(c.price_cents > 0);
    let session = catalog::sessions_of(s, tenant.id, &[c.id])
        .await
        .expect("read")
        .remove(&c.id)
        .and_then(|v| v.into_iter().find(|x| x.starts_at > Utc::now() && !x.cancelled))
        .expect("a session to come");
    let request = |sessions: Vec<Uuid>| OrderRequest {
        idempotency_key: "settled-elsewhere-0001".into(),
        sessions,
        learner: None,
        currency: None,
        billing_name: "Hugo Bernard".into(),
        billing_address: PostalAddress::parse("a", "1 rue Haute", None, "75002", "Paris", "FR")
            .expect("address"),
    };
    let (free, _) = free_session(&app).await;
    let orders = app.count("orders").await;
    let receipts = app.count("outbox WHERE kind = 'payment_receipt'").await;

    // Act and assert: the shop's pricing refusals hold.
    let r = shop::create_paid_order(s, &hugo, &relations, request(vec![free])).await;
    assert!(
        matches!(&r, Err(AppError::BadUserInput { field, .. }) if field == "input.lines.0.sessionId"),
        "a free session is not sold: {r:?}"
    );
    assert_eq!(app.count("orders").await, orders);

    let paid = shop::create_paid_order(s, &hugo, &relations, request(vec![session.id]))
        .await
        .expect("settled");

    assert_eq!(paid.order.status, OrderStatus::Paid);
    assert_eq!(paid.order.total_cents, c.price_cents);
    assert!(paid.order.payment_intent_id.is_none(), "Stripe was never asked");
    let enrollment = paid.lines[0].enrollment_id.expect("a seat");
    let e = learning::enrollment_by_id(s, tenant.id, enrollment).await.expect("read").expect("e");
    assert_eq!(e.status, EnrollmentStatus::Active);
    let invoices = shop::invoice::invoices_of(s, tenant.id, &[paid.order.id]).await.expect("read");
    assert_eq!(invoices.get(&paid.order.id).map(Vec::len), Some(1), "one invoice");
    assert_eq!(app.count("outbox WHERE kind = 'payment_receipt'").await, receipts, "no mail");
    // The same request again answers the same order.
    let again = shop::create_paid_order(s, &hugo, &relations, request(vec![session.id]))
        .await
        .expect("replayed");
    assert_eq!(again.order.id, paid.order.id);
    assert_eq!(app.count("orders").await, orders + 1);
}

on_both_databases!(
    a_course_is_imported_whole_or_not_at_all,
    an_imported_account_signs_in_with_its_roles_in_effect,
    several_lessons_complete_at_once_as_one_at_a_time,
    an_order_settled_outside_stripe_is_paid_and_invoiced_without_a_receipt,
);
