//! Prospects: requests for information sent from a storefront's contact form, and who may read
//! them.
//!
//! - [`request_information`] takes a request from anyone (signed in or not): throttled per
//!   client address; a filled honeypot field (a bot) gets the same answer and stores nothing.
//!   The person's choices to be contacted about other offers, by e-mail (`contactConsent`) and
//!   by phone (`phoneConsent`), are kept with the request and granted in the consent ledger
//!   (`marketing_email`, `marketing_phone`; their account's, or the request's own visitor id),
//!   with the privacy-policy version in force. A "no" writes nothing: it never withdraws an
//!   account's earlier consent. A new request from the same address is an exchange: the
//!   earlier requests' `last_contact_at` moves with it.
//! - [`list`] shows them to those whose column reads `prospects` (`policy::may_list_prospects`):
//!   support and the privacy officer all of them, marketing only people who agreed to be
//!   contacted and whose address is not on the suppression list. Each field of each request
//!   goes through `policy::decide` (the consent condition by channel: the phone only with
//!   consent to marketing by phone); staff reads are audited, one entry per request read.
//! - [`record_exchange`] (support: a `prospects` write) marks a request answered and moves its
//!   `last_contact_at`: the retention rule `contact_requests` deletes a request 3 years after it.
//!
//! This module must never log an address, a name, a phone number or a message.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::accounts::{self, throttle_key};
use crate::domain::audit::{self, AuditRecord};
use crate::domain::catalog;
use crate::domain::consent::{self, Purpose};
use crate::domain::privacy::suppression;
use crate::domain::tenancy::scoped;
use crate::domain::types::{Email, Phone};
use crate::entities::contact_request::{self as cr, ContactRequestStatus};
use crate::entities::enums::{AccountStatus, CourseStatus};
use crate::entities::{marketing_suppression as ms, user};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, DataField, Decision, Op, Relations, SubjectFacts};

/// Requests per client address per throttling window.
const PER_CLIENT: u64 = 5;
const NAME_MAX: usize = 100;
const MESSAGE_MAX: usize = 5_000;

/// A parsed request for information.
pub struct InformationRequest {
    pub name: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub course_id: Option<Uuid>,
    pub message: String,
    /// `fr` or `en`.
    pub locale: String,
    pub contact_consent: bool,
    pub phone_consent: bool,
}

/// The raw form, as the API received it.
pub struct InformationForm<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub course_id: Option<Uuid>,
    pub message: &'a str,
    pub locale: Option<&'a str>,
    pub contact_consent: bool,
    pub phone_consent: bool,
}

impl InformationRequest {
    /// Checks the form; `field` prefixes the field names of errors (`input`).
    pub fn parse(field: &str, f: InformationForm<'_>) -> AppResult<InformationRequest> {
        let name = f.name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            return Err(AppError::bad_input(
                format!("{field}.name"),
                format!("must be 1 to {NAME_MAX} characters on one line"),
            ));
        }
        let email = Email::parse(&format!("{field}.email"), f.email)?;
        let phone = match f.phone.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(Phone::parse(&format!("{field}.phone"), p)?),
            None => None,
        };
        if f.phone_consent && phone.is_none() {
            return Err(AppError::bad_input(
                format!("{field}.phoneConsent"),
                "give a phone number to agree to be called",
            ));
        }
        let message = f.message.trim();
        let bad_control =
            message.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t');
        if message.is_empty() || message.chars().count() > MESSAGE_MAX || bad_control {
            return Err(AppError::bad_input(
                format!("{field}.message"),
                format!("must be 1 to {MESSAGE_MAX} characters of text"),
            ));
        }
        let locale = match f.locale.map(|l| l.trim().to_ascii_lowercase()) {
            None => "fr",
            Some(l) if l == "fr" || l.starts_with("fr-") => "fr",
            Some(l) if l == "en" || l.starts_with("en-") => "en",
            Some(_) => {
                return Err(AppError::bad_input(format!("{field}.locale"), "must be `fr` or `en`"));
            }
        };
        Ok(InformationRequest {
            name: name.to_owned(),
            email,
            phone,
            course_id: f.course_id,
            message: message.to_owned(),
            locale: locale.to_owned(),
            contact_consent: f.contact_consent,
            phone_consent: f.phone_consent,
        })
    }
}

/// Records a request for information (see the module documentation). `honeypot` is the form's
/// hidden field: a bot fills it, a person does not. The answer is `Ok(())` for every
/// well-formed request that is not throttled.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn request_information(
    services: &Services,
    actor: &Actor,
    input: InformationRequest,
    client: Option<&str>,
    honeypot: Option<&str>,
) -> AppResult<()> {
    let tenant_id = actor.tenant_id;
    if let Some(c) = client {
        let key = throttle_key(services, tenant_id, "contact", c);
        accounts::throttle::throttle(services, tenant_id, &[(key, PER_CLIENT)]).await?;
    }
    if honeypot.is_some_and(|h| !h.trim().is_empty()) {
        tracing::info!("contact form: honeypot filled, request dropped");
        return Ok(());
    }
    if let Some(course) = input.course_id {
        let found = catalog::courses_by_id(services, tenant_id, &[course]).await?;
        if !found.get(&course).is_some_and(|c| c.status == CourseStatus::Published) {
            return Err(AppError::bad_input("input.courseId", "no such course"));
        }
    }
    let now = services.clock.now();
    let version = accounts::current_policy(services, tenant_id).await?.map(|p| p.version);
    let hash = suppression::email_hash(services, tenant_id, input.email.as_str());
    let id = Uuid::now_v7();
    let (ledger_user, ledger_visitor) = match actor.user_id {
        Some(u) => (Some(u), None),
        None => (None, Some(format!("prospect-{}", id.simple()))),
    };
    let txn = services.db.begin().await?;
    // An exchange with the same person: their earlier requests' clock moves too.
    cr::Entity::update_many()
        .col_expr(cr::Column::LastContactAt, Expr::value(now))
        .filter(cr::Column::TenantId.eq(tenant_id))
        .filter(cr::Column::EmailHash.eq(hash.as_str()))
        .exec(&txn)
        .await?;
    cr::Entity::insert(cr::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        user_id: Set(actor.user_id),
        name: Set(input.name),
        email: Set(input.email.as_str().to_owned()),
        email_hash: Set(hash),
        phone: Set(input.phone.map(Phone::into_inner)),
        course_id: Set(input.course_id),
        message: Set(input.message),
        locale: Set(input.locale),
        contact_consent: Set(input.contact_consent),
        phone_consent: Set(input.phone_consent),
        consent_policy_version: Set(version.clone()),
        status: Set(ContactRequestStatus::Open),
        created_at: Set(now),
        last_contact_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let grants = [
        (input.contact_consent, Purpose::MarketingEmail),
        (input.phone_consent, Purpose::MarketingPhone),
    ];
    for (_, purpose) in grants.into_iter().filter(|(given, _)| *given) {
        consent::insert(
            &txn,
            tenant_id,
            ledger_user,
            ledger_visitor.clone(),
            purpose,
            true,
            now,
            "contact_form",
            version.clone(),
            actor.user_id,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A request for information as the viewer may see it: a field the policy denies is `None`.
#[derive(Clone)]
pub struct ProspectView {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub message: Option<String>,
    pub course_id: Option<Uuid>,
    pub contact_consent: bool,
    pub phone_consent: bool,
    pub status: ContactRequestStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_contact_at: chrono::DateTime<chrono::Utc>,
}

/// A page of requests, newest first.
pub struct ProspectPage {
    pub rows: Vec<ProspectView>,
    pub has_next: bool,
}

/// What the policy needs about the person of request `r`: their consents as given on the form
/// (withdrawn by the suppression list), their account's status if they have one.
fn facts_of(r: &cr::Model, suppressed: bool, account: Option<AccountStatus>) -> SubjectFacts {
    SubjectFacts {
        status: account.map_or(policy::SubjectStatus::Active, accounts::subject_status),
        marketing_consent: r.contact_consent && !suppressed,
        phone_consent: r.phone_consent && !suppressed,
        ..SubjectFacts::person(r.user_id.unwrap_or(r.id))
    }
}

/// `r` as `actor` may see it, and the column to audit the read as (when a field was read).
fn view(actor: &Actor, r: cr::Model, facts: &SubjectFacts) -> (ProspectView, Option<Decision>) {
    let relations = Relations::default();
    let decide = |f| policy::decide(actor, &relations, facts, f, Op::Read);
    let mut read = None;
    let mut may = |f| {
        let d = decide(f);
        if d.allowed() {
            read = Some(d);
        }
        d.allowed()
    };
    let name = may(DataField::ProspectName).then_some(r.name);
    let email = may(DataField::ProspectEmail).then_some(r.email);
    let phone = if may(DataField::ProspectPhone) { r.phone } else { None };
    let (message, course_id) =
        if may(DataField::ProspectMessage) { (Some(r.message), r.course_id) } else { (None, None) };
    let v = ProspectView {
        id: r.id,
        name,
        email,
        phone,
        message,
        course_id,
        contact_consent: r.contact_consent,
        phone_consent: r.phone_consent,
        status: r.status,
        created_at: r.created_at,
        last_contact_at: r.last_contact_at,
    };
    (v, read)
}

/// The suppressed addresses among `rows` (by their hash).
async fn suppressed_among(
    services: &Services,
    tenant_id: Uuid,
    rows: &[cr::Model],
) -> AppResult<HashSet<String>> {
    let hashes: Vec<String> = rows.iter().map(|r| r.email_hash.clone()).collect();
    Ok(scoped::<ms::Entity>(tenant_id)
        .filter(ms::Column::EmailHash.is_in(hashes))
        .select_only()
        .column(ms::Column::EmailHash)
        .into_tuple::<String>()
        .all(&services.db)
        .await?
        .into_iter()
        .collect())
}

/// The account statuses of the requests' signed-in requesters.
async fn accounts_among(
    services: &Services,
    tenant_id: Uuid,
    rows: &[cr::Model],
) -> AppResult<HashMap<Uuid, AccountStatus>> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.is_in(ids))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Status)
        .into_tuple::<(Uuid, AccountStatus)>()
        .all(&services.db)
        .await?
        .into_iter()
        .collect())
}

/// Decides each of `rows` for `actor` and writes one audit entry per request whose fields were
/// read by staff, in one transaction, before anything is returned.
async fn decided(
    services: &Services,
    actor: &Actor,
    rows: Vec<cr::Model>,
) -> AppResult<Vec<ProspectView>> {
    let suppressed = suppressed_among(services, actor.tenant_id, &rows).await?;
    let accounts = accounts_among(services, actor.tenant_id, &rows).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut audits = Vec::new();
    for r in rows {
        let facts = facts_of(
            &r,
            suppressed.contains(&r.email_hash),
            r.user_id.and_then(|u| accounts.get(&u).copied()),
        );
        let (id, user) = (r.id, r.user_id);
        let (v, read) = view(actor, r, &facts);
        if let Some(Decision::Allow { audit: Some(column) }) = read {
            audits.push(AuditRecord {
                action: "personal_data.read",
                category: Some(Category::Prospects),
                subject_id: user,
                purpose: column.purpose(),
                details: Some(json!({ "contactRequestId": id })),
            });
        }
        out.push(v);
    }
    if !audits.is_empty() {
        let txn = services.db.begin().await?;
        audit::record_all(&txn, actor, services.clock.now(), audits).await?;
        txn.commit().await?;
    }
    Ok(out)
}

/// Requests for information, newest first, `first` after the request `after`, optionally of
/// one status (see the module documentation for who sees what).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id))]
pub async fn list(
    services: &Services,
    actor: &Actor,
    status: Option<ContactRequestStatus>,
    after: Option<Uuid>,
    first: u64,
) -> AppResult<ProspectPage> {
    if !policy::may_list_prospects(actor) {
        return Err(AppError::Forbidden);
    }
    let mut q = scoped::<cr::Entity>(actor.tenant_id);
    if !policy::sees_all_prospects(actor) {
        // Only people who agreed to be contacted, and whose address is not suppressed.
        q = q
            .filter(
                Condition::any()
                    .add(cr::Column::ContactConsent.eq(true))
                    .add(cr::Column::PhoneConsent.eq(true)),
            )
            .filter(
                cr::Column::EmailHash.not_in_subquery(
                    Query::select()
                        .column(ms::Column::EmailHash)
                        .from(ms::Entity)
                        .and_where(ms::Column::TenantId.eq(actor.tenant_id))
                        .to_owned(),
                ),
            );
    }
    if let Some(s) = status {
        q = q.filter(cr::Column::Status.eq(s));
    }
    if let Some(a) = after {
        q = q.filter(cr::Column::Id.lt(a));
    }
    let mut rows = q.order_by_desc(cr::Column::Id).limit(first + 1).all(&services.db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let rows = decided(services, actor, rows).await?;
    Ok(ProspectPage { rows, has_next })
}

/// Records an exchange with the person of request `id` (support): the request is answered and
/// its retention clock starts again.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id))]
pub async fn record_exchange(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> AppResult<ProspectView> {
    let r = scoped::<cr::Entity>(actor.tenant_id)
        .filter(cr::Column::Id.eq(id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let suppressed =
        !suppressed_among(services, actor.tenant_id, std::slice::from_ref(&r)).await?.is_empty();
    let accounts = accounts_among(services, actor.tenant_id, std::slice::from_ref(&r)).await?;
    let facts = facts_of(&r, suppressed, r.user_id.and_then(|u| accounts.get(&u).copied()));
    let relations = Relations::default();
    let column =
        policy::granting_column(actor, &relations, &facts, DataField::ProspectMessage, Op::Write)
            .ok_or(AppError::Forbidden)?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    cr::Entity::update_many()
        .col_expr(
            cr::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&ContactRequestStatus::Answered)),
        )
        .col_expr(cr::Column::LastContactAt, Expr::value(now))
        .filter(cr::Column::Id.eq(r.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: "contact_request.exchange",
            category: Some(Category::Prospects),
            subject_id: r.user_id,
            purpose: column.purpose(),
            details: Some(json!({ "contactRequestId": r.id })),
        },
    )
    .await?;
    txn.commit().await?;
    let updated = cr::Model { status: ContactRequestStatus::Answered, last_contact_at: now, ..r };
    let mut views = decided(services, actor, vec![updated]).await?;
    views.pop().ok_or(AppError::NotFound)
}
