//! Loads the demo data of `seed/demo.json` (compiled into the binary): one tenant with an
//! account for every role and a minor with a guardian. Idempotent: existing tenants, users,
//! roles and links (matched by slug and e-mail) are left as they are.
//!
//! Demo data only; never run in production (`pupitre serve --demo` refuses it there).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::accounts::hash_password;
use crate::domain::consent::{self, Purpose};
use crate::domain::equal_opportunity::{
    ApplicationStatus, DocumentConfig, DocumentKind, IncomeBracket, vault,
};
use crate::domain::learning::{self, EnrollmentStatus};
use crate::domain::shop;
use crate::domain::types::{HttpsUrl, Password};
use crate::entities::{
    course, course_tag, eo_application, eo_document, guardian_link, lesson, lesson_completion,
    live_class, live_class_attendance, order, order_line, privacy_policy, session, tenant, user,
    user_role,
};
use crate::error::{AppError, AppResult};

const DEMO: &str = include_str!("demo.json");
const CATALOG: &str = include_str!("catalog.json");

#[derive(Deserialize)]
struct Demo {
    tenants: Vec<DemoTenant>,
}

#[derive(Deserialize)]
struct DemoTenant {
    slug: String,
    name: String,
    dpo_name: String,
    dpo_email: String,
    policies: Vec<DemoPolicy>,
    password: String,
    users: Vec<DemoUser>,
    guardians: Vec<DemoLink>,
    #[serde(default)]
    enrollments: Vec<DemoEnrollment>,
    #[serde(default)]
    live_classes: Vec<DemoLiveClass>,
    #[serde(default)]
    applications: Vec<DemoApplication>,
}

/// An equal-opportunity application in a given state, with sample documents from
/// `seed/documents/` (kind, file name).
#[derive(Deserialize)]
struct DemoApplication {
    learner: String,
    course: String,
    status: String,
    income_bracket: String,
    scholarship_holder: bool,
    text: String,
    discount_percent: Option<i32>,
    reason: Option<String>,
    documents: Vec<(String, String)>,
}

/// Sample supporting documents (fictitious), by file name.
fn sample_document(name: &str) -> Option<&'static [u8]> {
    match name {
        "exemple-avis-imposition.pdf" => {
            Some(include_bytes!("documents/exemple-avis-imposition.pdf"))
        }
        "exemple-carte-etudiant.png" => {
            Some(include_bytes!("documents/exemple-carte-etudiant.png"))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct DemoEnrollment {
    learner: String,
    course: String,
    /// Index of the session in start order (0 = earliest).
    session: usize,
    completed_lessons: usize,
}

#[derive(Deserialize)]
struct DemoLiveClass {
    course: String,
    session: usize,
    title: String,
    starts_days_from_now: i64,
    recorded: bool,
    recording_ref: Option<String>,
    attendance: Vec<DemoAttendance>,
}

#[derive(Deserialize)]
struct DemoAttendance {
    learner: String,
    minutes: i64,
    talk_seconds: i32,
    chat_messages: i32,
    hand_raises: i32,
    poll_answers: i32,
}

#[derive(Deserialize)]
struct Catalog {
    courses: Vec<DemoCourse>,
}

#[derive(Deserialize)]
struct DemoCourse {
    slug: String,
    title: String,
    summary: String,
    description: String,
    level: String,
    format: String,
    language: String,
    price_cents: i64,
    currency: String,
    tax_rate_bp: i32,
    tags: Vec<String>,
    published: bool,
    lessons: Vec<String>,
    sessions: Vec<DemoSession>,
}

#[derive(Deserialize)]
struct DemoSession {
    start_offset_days: i64,
    duration_days: i64,
    capacity: i32,
    location: Option<String>,
    virtual_room: Option<String>,
    instructor: String,
}

#[derive(Deserialize)]
struct DemoPolicy {
    version: String,
    url: String,
    published_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct DemoUser {
    email: String,
    civility: Option<String>,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    address: Option<DemoAddress>,
    birth_date: Option<NaiveDate>,
    locale: String,
    roles: Vec<String>,
    #[serde(default)]
    marketing_email: bool,
}

#[derive(Deserialize)]
struct DemoAddress {
    line1: String,
    postal_code: String,
    city: String,
    country: String,
}

#[derive(Deserialize)]
struct DemoLink {
    guardian: String,
    minor: String,
}

/// What a run of the seeder did.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: usize,
    pub existing: usize,
}

/// Loads the demo data; safe to run any number of times.
pub async fn load_demo(
    db: &DatabaseConnection,
    documents: &DocumentConfig,
    now: DateTime<Utc>,
) -> AppResult<SeedReport> {
    let demo: Demo =
        serde_json::from_str(DEMO).map_err(|e| AppError::internal("reading seed/demo.json", e))?;
    let mut report = SeedReport::default();
    for t in demo.tenants {
        let txn = db.begin().await?;
        let tenant_id = match tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(t.slug.as_str()))
            .one(&txn)
            .await?
        {
            Some(existing) => {
                report.existing += 1;
                existing.id
            }
            None => {
                let id = Uuid::now_v7();
                tenant::Entity::insert(tenant::ActiveModel {
                    id: Set(id),
                    slug: Set(t.slug.clone()),
                    name: Set(t.name.clone()),
                    host: Set(None),
                    dpo_name: Set(t.dpo_name.clone()),
                    dpo_email: Set(t.dpo_email.clone()),
                    settings: Set(serde_json::json!({ "recording_retention_days": 14 })),
                    created_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
                report.created += 1;
                id
            }
        };
        let current_version =
            t.policies.iter().max_by_key(|p| p.published_at).map(|p| p.version.clone());
        for p in &t.policies {
            let exists = privacy_policy::Entity::find()
                .filter(privacy_policy::Column::TenantId.eq(tenant_id))
                .filter(privacy_policy::Column::Version.eq(p.version.as_str()))
                .one(&txn)
                .await?
                .is_some();
            if !exists {
                privacy_policy::Entity::insert(privacy_policy::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    version: Set(p.version.clone()),
                    url: Set(HttpsUrl::parse("policies.url", &p.url)?.into_inner()),
                    published_at: Set(p.published_at),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        let password_hash = hash_password(Password::parse("password", &t.password)?).await?;
        for u in &t.users {
            let found = user::Entity::find()
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user::Column::Email.eq(u.email.as_str()))
                .one(&txn)
                .await?;
            let user_id = match found {
                Some(f) => {
                    report.existing += 1;
                    f.id
                }
                None => {
                    let id = Uuid::now_v7();
                    user::Entity::insert(user::ActiveModel {
                        id: Set(id),
                        tenant_id: Set(tenant_id),
                        email: Set(Some(u.email.clone())),
                        password_hash: Set(Some(password_hash.clone())),
                        civility: Set(u.civility.clone()),
                        first_name: Set(u.first_name.clone()),
                        last_name: Set(u.last_name.clone()),
                        phone: Set(u.phone.clone()),
                        address_line1: Set(u.address.as_ref().map(|a| a.line1.clone())),
                        address_line2: Set(None),
                        postal_code: Set(u.address.as_ref().map(|a| a.postal_code.clone())),
                        city: Set(u.address.as_ref().map(|a| a.city.clone())),
                        country: Set(u.address.as_ref().map(|a| a.country.clone())),
                        birth_date: Set(u.birth_date),
                        locale: Set(u.locale.clone()),
                        status: Set("active".into()),
                        last_contact_at: Set(Some(now)),
                        accepted_policy_version: Set(current_version.clone()),
                        display_name: Set(None),
                        accepted_policy_at: Set(Some(now)),
                        created_at: Set(now),
                        updated_at: Set(now),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                    if u.marketing_email {
                        consent::insert(
                            &txn,
                            tenant_id,
                            Some(id),
                            None,
                            Purpose::MarketingEmail,
                            true,
                            now,
                            "seed",
                            current_version.clone(),
                            None,
                        )
                        .await?;
                    }
                    report.created += 1;
                    id
                }
            };
            for role in &u.roles {
                let has = user_role::Entity::find_by_id((user_id, role.clone()))
                    .one(&txn)
                    .await?
                    .is_some();
                if !has {
                    user_role::Entity::insert(user_role::ActiveModel {
                        user_id: Set(user_id),
                        role: Set(role.clone()),
                        tenant_id: Set(tenant_id),
                        granted_at: Set(now),
                        granted_by: Set(None),
                        // Demo staff accounts start with their roles in effect.
                        accepted_at: Set(Some(now)),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                }
            }
        }
        for link in &t.guardians {
            let find = |email: &str| {
                user::Entity::find()
                    .filter(user::Column::TenantId.eq(tenant_id))
                    .filter(user::Column::Email.eq(email.to_owned()))
                    .one(&txn)
            };
            let (Some(g), Some(m)) = (find(&link.guardian).await?, find(&link.minor).await?) else {
                return Err(AppError::internal(
                    "seeding guardian links",
                    "unknown e-mail in seed/demo.json",
                ));
            };
            if guardian_link::Entity::find_by_id((g.id, m.id)).one(&txn).await?.is_none() {
                guardian_link::Entity::insert(guardian_link::ActiveModel {
                    guardian_id: Set(g.id),
                    minor_id: Set(m.id),
                    tenant_id: Set(tenant_id),
                    created_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        let catalog: Catalog = serde_json::from_str(CATALOG)
            .map_err(|e| AppError::internal("reading seed/catalog.json", e))?;
        load_catalog(&txn, tenant_id, &catalog, &t, now, &mut report).await?;
        load_applications(&txn, tenant_id, &t, documents, now).await?;
        txn.commit().await?;
    }
    Ok(report)
}

/// The demo applications, each unless its learner already has one for the course. Documents
/// are sealed and stored exactly as uploads are.
async fn load_applications<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    t: &DemoTenant,
    docs: &DocumentConfig,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let bad = |what: &'static str| AppError::internal("seeding applications", what);
    for a in &t.applications {
        let learner = user_id_by_email(conn, tenant_id, &a.learner).await?;
        let course = course::Entity::find()
            .filter(course::Column::TenantId.eq(tenant_id))
            .filter(course::Column::Slug.eq(a.course.as_str()))
            .one(conn)
            .await?
            .ok_or_else(|| bad("unknown course slug"))?;
        let exists = eo_application::Entity::find()
            .filter(eo_application::Column::TenantId.eq(tenant_id))
            .filter(eo_application::Column::ApplicantId.eq(learner))
            .filter(eo_application::Column::CourseId.eq(course.id))
            .one(conn)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let status = ApplicationStatus::parse(&a.status).ok_or_else(|| bad("unknown status"))?;
        let submitted = status != ApplicationStatus::Draft;
        let decided = status.decided();
        let id = Uuid::now_v7();
        eo_application::Entity::insert(eo_application::ActiveModel::from(eo_application::Model {
            id,
            tenant_id,
            applicant_id: learner,
            created_by: learner,
            course_id: course.id,
            session_id: None,
            status: status.as_str().into(),
            income_bracket: Some(
                IncomeBracket::parse(&a.income_bracket)
                    .ok_or_else(|| bad("unknown income bracket"))?
                    .as_str()
                    .into(),
            ),
            scholarship_holder: a.scholarship_holder,
            situation: Some(a.text.clone()).filter(|s| !s.is_empty()),
            discount_percent: a.discount_percent,
            decision_reason: a.reason.clone(),
            reviewer_note: decided.then(|| "Dossier de démonstration.".to_owned()),
            decided_by: None,
            submitted_at: submitted.then_some(now - Duration::days(12)),
            decided_at: decided.then_some(now - Duration::days(5)),
            last_contact_at: now - Duration::days(5),
            created_at: now - Duration::days(14),
            updated_at: now - Duration::days(5),
        }))
        .exec_without_returning(conn)
        .await?;
        for (kind, file) in &a.documents {
            let content = sample_document(file).ok_or_else(|| bad("unknown sample document"))?;
            let sniffed = vault::sniff(content)
                .ok_or_else(|| bad("a sample document is not a PDF, JPEG or PNG"))?;
            let doc_id = Uuid::now_v7();
            let sealed = vault::seal(&docs.keys, doc_id, content)
                .map_err(|e| AppError::internal("seeding applications", e))?;
            let key = vault::storage_key(tenant_id, doc_id);
            docs.store
                .put(&key, sealed.blob)
                .await
                .map_err(|e| AppError::internal("seeding applications", e))?;
            eo_document::Entity::insert(eo_document::ActiveModel::from(eo_document::Model {
                id: doc_id,
                tenant_id,
                application_id: id,
                kind: DocumentKind::parse(kind)
                    .ok_or_else(|| bad("unknown document kind"))?
                    .as_str()
                    .into(),
                original_name: file.clone(),
                mime_type: sniffed.mime().into(),
                size_bytes: content.len() as i64,
                sha256: vault::sha256_hex(content),
                storage_key: key,
                key_id: sealed.key_id,
                wrapped_key: sealed.wrapped_key,
                last_contact_at: now - Duration::days(12),
                created_at: now - Duration::days(12),
            }))
            .exec_without_returning(conn)
            .await?;
        }
    }
    Ok(())
}

async fn user_id_by_email<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    email: &str,
) -> AppResult<Uuid> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Email.eq(email.to_owned()))
        .one(conn)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::internal("seeding the catalogue", "unknown e-mail in the seed data")
        })
}

/// A paid order with its invoice for a demo enrollment in a paid course (none for free ones).
async fn demo_order<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    buyer: Uuid,
    learner: Uuid,
    s: &session::Model,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let c = course::Entity::find_by_id(s.course_id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("seeding orders", "a session without its course"))?;
    if c.price_cents <= 0 {
        return Ok(());
    }
    let u = user::Entity::find_by_id(buyer)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("seeding orders", "unknown buyer"))?;
    let address = shop::address_value(&crate::domain::types::PostalAddress {
        line1: u.address_line1.clone().unwrap_or_else(|| "1 place de la Démo".into()),
        line2: u.address_line2.clone(),
        postal_code: u.postal_code.clone().unwrap_or_else(|| "75001".into()),
        city: u.city.clone().unwrap_or_else(|| "Paris".into()),
        country: u.country.clone().unwrap_or_else(|| "FR".into()),
    });
    let tax = shop::included_tax(c.price_cents, c.tax_rate_bp);
    let paid_at = now - Duration::days(20);
    let o = order::Model {
        id: Uuid::now_v7(),
        tenant_id,
        buyer_id: Some(buyer),
        learner_id: Some(learner),
        status: shop::OrderStatus::Paid.as_str().into(),
        currency: c.currency.clone(),
        subtotal_cents: c.price_cents,
        discount_cents: 0,
        tax_cents: tax,
        total_cents: c.price_cents,
        refunded_cents: 0,
        idempotency_key: format!("demo-{enrollment_id}"),
        request_hash: String::new(),
        billing_name: format!("{} {}", u.first_name, u.last_name),
        billing_address: address.to_string(),
        payment_intent_id: None,
        client_secret: None,
        last_payment_error: None,
        hold_expires_at: paid_at,
        paid_at: Some(paid_at),
        closed_at: None,
        created_at: paid_at,
        updated_at: paid_at,
    };
    let line = order_line::Model {
        id: Uuid::now_v7(),
        tenant_id,
        order_id: o.id,
        position: 0,
        session_id: s.id,
        course_id: c.id,
        description: format!("{} — session du {}", c.title, s.starts_at.format("%d/%m/%Y")),
        unit_price_cents: c.price_cents,
        tax_rate_bp: c.tax_rate_bp,
        discount_cents: 0,
        tax_cents: tax,
        total_cents: c.price_cents,
        enrollment_id: Some(enrollment_id),
    };
    order::Entity::insert(order::ActiveModel::from(o.clone())).exec_without_returning(conn).await?;
    order_line::Entity::insert(order_line::ActiveModel::from(line.clone()))
        .exec_without_returning(conn)
        .await?;
    shop::invoice::issue_invoice(conn, &o, &[line], paid_at).await?;
    Ok(())
}

/// Courses, sessions (dated relative to `now`), lessons, then the demo enrollments, progress
/// and live classes. A course whose slug exists is left alone with everything under it.
async fn load_catalog<C: sea_orm::ConnectionTrait + TransactionTrait>(
    conn: &C,
    tenant_id: Uuid,
    catalog: &Catalog,
    t: &DemoTenant,
    now: DateTime<Utc>,
    report: &mut SeedReport,
) -> AppResult<()> {
    let mut new_courses = std::collections::HashSet::new();
    for c in &catalog.courses {
        let exists = course::Entity::find()
            .filter(course::Column::TenantId.eq(tenant_id))
            .filter(course::Column::Slug.eq(c.slug.as_str()))
            .one(conn)
            .await?
            .is_some();
        if exists {
            report.existing += 1;
            continue;
        }
        let course_id = Uuid::now_v7();
        course::Entity::insert(course::ActiveModel {
            id: Set(course_id),
            tenant_id: Set(tenant_id),
            slug: Set(c.slug.clone()),
            title: Set(c.title.clone()),
            summary: Set(c.summary.clone()),
            description: Set(c.description.clone()),
            level: Set(c.level.clone()),
            format: Set(c.format.clone()),
            language: Set(c.language.clone()),
            price_cents: Set(c.price_cents),
            currency: Set(c.currency.clone()),
            tax_rate_bp: Set(c.tax_rate_bp),
            status: Set(if c.published { "published" } else { "draft" }.into()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
        if !c.tags.is_empty() {
            course_tag::Entity::insert_many(c.tags.iter().map(|tag| course_tag::ActiveModel {
                course_id: Set(course_id),
                tag: Set(tag.clone()),
                tenant_id: Set(tenant_id),
            }))
            .exec_without_returning(conn)
            .await?;
        }
        if !c.lessons.is_empty() {
            lesson::Entity::insert_many(c.lessons.iter().enumerate().map(|(i, title)| {
                lesson::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    course_id: Set(course_id),
                    position: Set(i as i32 + 1),
                    title: Set(title.clone()),
                    duration_minutes: Set(Some(90)),
                }
            }))
            .exec_without_returning(conn)
            .await?;
        }
        for s in &c.sessions {
            let starts = now + Duration::days(s.start_offset_days);
            session::Entity::insert(session::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant_id),
                course_id: Set(course_id),
                starts_at: Set(starts),
                ends_at: Set(starts + Duration::days(s.duration_days.max(1))),
                instructor_id: Set(Some(user_id_by_email(conn, tenant_id, &s.instructor).await?)),
                capacity: Set(s.capacity),
                seats_taken: Set(0),
                location: Set(s.location.clone()),
                virtual_room: Set(s
                    .virtual_room
                    .as_deref()
                    .map(|v| HttpsUrl::parse("sessions.virtual_room", v))
                    .transpose()?
                    .map(HttpsUrl::into_inner)),
                cancelled: Set(false),
                created_at: Set(now),
            })
            .exec_without_returning(conn)
            .await?;
        }
        new_courses.insert(c.slug.clone());
        report.created += 1;
    }
    // Enrollments and live classes only for courses created now, so re-runs add nothing.
    let session_of = |slug: String, index: usize| async move {
        let c = course::Entity::find()
            .filter(course::Column::TenantId.eq(tenant_id))
            .filter(course::Column::Slug.eq(slug))
            .one(conn)
            .await?
            .ok_or_else(|| {
                AppError::internal("seeding the catalogue", "unknown course slug in the seed data")
            })?;
        let mut sessions =
            session::Entity::find().filter(session::Column::CourseId.eq(c.id)).all(conn).await?;
        sessions.sort_by_key(|s| s.starts_at);
        let s = sessions
            .into_iter()
            .nth(index)
            .ok_or_else(|| AppError::internal("seeding the catalogue", "no such session index"))?;
        let lessons =
            lesson::Entity::find().filter(lesson::Column::CourseId.eq(c.id)).all(conn).await?;
        Ok::<_, AppError>((s, lessons))
    };
    for e in t.enrollments.iter().filter(|e| new_courses.contains(&e.course)) {
        let (s, mut lessons) = session_of(e.course.clone(), e.session).await?;
        lessons.sort_by_key(|l| l.position);
        let learner = user_id_by_email(conn, tenant_id, &e.learner).await?;
        let done = e.completed_lessons.min(lessons.len());
        let status = if done == lessons.len() && done > 0 {
            EnrollmentStatus::Completed
        } else {
            EnrollmentStatus::Active
        };
        let enrollment = learning::take_seat(
            conn,
            tenant_id,
            s.id,
            learner,
            EnrollmentStatus::Active,
            now,
            None,
        )
        .await?;
        // A paid course was bought: by the learner, or for a minor by their guardian.
        let buyer = match t.guardians.iter().find(|g| g.minor == e.learner) {
            Some(g) => user_id_by_email(conn, tenant_id, &g.guardian).await?,
            None => learner,
        };
        demo_order(conn, tenant_id, buyer, learner, &s, enrollment.id, now).await?;
        for l in lessons.iter().take(done) {
            lesson_completion::Entity::insert(lesson_completion::ActiveModel {
                enrollment_id: Set(enrollment.id),
                lesson_id: Set(l.id),
                tenant_id: Set(tenant_id),
                completed_at: Set(now),
            })
            .exec_without_returning(conn)
            .await?;
        }
        if status == EnrollmentStatus::Completed {
            let mut m: crate::entities::enrollment::ActiveModel = enrollment.into();
            m.status = Set(status.as_str().into());
            m.completed_at = Set(Some(now));
            sea_orm::ActiveModelTrait::update(m, conn).await?;
        }
    }
    for lc in t.live_classes.iter().filter(|l| new_courses.contains(&l.course)) {
        let (s, _) = session_of(lc.course.clone(), lc.session).await?;
        let id = Uuid::now_v7();
        let starts = now + Duration::days(lc.starts_days_from_now);
        live_class::Entity::insert(live_class::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            session_id: Set(s.id),
            title: Set(lc.title.clone()),
            starts_at: Set(starts),
            ends_at: Set(starts + Duration::minutes(90)),
            recorded: Set(lc.recorded),
            recording_ref: Set(lc
                .recording_ref
                .as_deref()
                .map(|v| HttpsUrl::parse("live_classes.recording_ref", v))
                .transpose()?
                .map(HttpsUrl::into_inner)),
        })
        .exec_without_returning(conn)
        .await?;
        for a in &lc.attendance {
            live_class_attendance::Entity::insert(live_class_attendance::ActiveModel {
                live_class_id: Set(id),
                learner_id: Set(user_id_by_email(conn, tenant_id, &a.learner).await?),
                tenant_id: Set(tenant_id),
                joined_at: Set(starts),
                left_at: Set(starts + Duration::minutes(a.minutes)),
                talk_seconds: Set(a.talk_seconds),
                chat_messages: Set(a.chat_messages),
                hand_raises: Set(a.hand_raises),
                poll_answers: Set(a.poll_answers),
            })
            .exec_without_returning(conn)
            .await?;
        }
    }
    Ok(())
}
