//! Making a request: the subject (or their guardian) through the API after typing their
//! password again, or the privacy officer registering a letter or an e-mail with a note of the
//! proof of identity seen. Either way one transaction writes the request, a post-mortem
//! directive if it is one, the audit record and the receipt; a refused check writes nothing.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveEnum, ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{
    NewRequest, RequestChannel, RequestRecord, RequestStatus, audit_step, due_date, receipt,
    store_purposes,
};
use crate::domain::Services;
use crate::domain::accounts;
use crate::entities::enums::MailKind;
use crate::entities::{data_subject_request, post_mortem_directive};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Column, Relations};

/// How a request made through the API checked the requester's identity.
pub const PASSWORD_CHECK: &str = "password re-authentication";

/// How far back a registered letter or e-mail may say it was received.
const REGISTER_BACKDATE_DAYS: i64 = 92;

/// The subject (or, with `subject`, their guardian for a ward) makes a request. `password` is
/// their current password, checked again here (throttled like log-ins): a wrong one is
/// `FORBIDDEN` and writes nothing. One open request per person and kind (`CONFLICT`).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.kind = ?new.kind,
    request.id = tracing::field::Empty,
))]
pub async fn make(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    subject: Option<Uuid>,
    new: NewRequest,
    password: String,
) -> AppResult<RequestRecord> {
    let me = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let subject_id = subject.unwrap_or(me);
    if !policy::acts_for(actor, relations, subject_id) {
        return Err(AppError::Forbidden);
    }
    let subject = accounts::find_record(services, actor.tenant_id, subject_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    if !policy::requests::may_make_request(actor, relations, &subject.facts()) {
        return Err(AppError::Forbidden);
    }
    new.check()?;
    accounts::reauthenticate(services, actor, password).await?;
    let purpose =
        if subject_id == me { Column::Subject.purpose() } else { Column::Guardian.purpose() };
    let now = services.clock.now();
    let row = new_row(actor.tenant_id, subject_id, Some(me), RequestChannel::Api, now, now)?;
    let row = data_subject_request::Model { identity_check: PASSWORD_CHECK.into(), ..row };
    insert(services, actor, row, new, "dsr.received", purpose, subject).await
}

/// What the privacy officer notes about a request received outside the API.
#[derive(Clone)]
pub struct Registration {
    pub subject: Uuid,
    pub channel: RequestChannel,
    /// When the letter or e-mail arrived (default: now); the due date runs from it.
    pub received_at: Option<DateTime<Utc>>,
    /// The proof of identity seen, in words ("copy of identity card seen and returned").
    pub identity_check: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("subject", &self.subject)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The privacy officer registers a request received by post or e-mail, for someone else.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    subject.id = %reg.subject,
    request.kind = ?new.kind,
    request.id = tracing::field::Empty,
))]
pub async fn register(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    reg: Registration,
    new: NewRequest,
) -> AppResult<RequestRecord> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    if !policy::requests::processes_requests(actor) {
        return Err(AppError::Forbidden);
    }
    if reg.channel == RequestChannel::Api {
        return Err(AppError::bad_input(
            "input.channel",
            "a request made through the API is made by the person, not registered",
        ));
    }
    let subject = accounts::find_record(services, actor.tenant_id, reg.subject)
        .await?
        .ok_or_else(|| AppError::bad_input("input.subjectId", "no such person"))?;
    if !policy::requests::may_handle_request(actor, relations, &subject.facts()) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let received = reg.received_at.unwrap_or(now);
    if received > now + Duration::minutes(5) {
        return Err(AppError::bad_input("input.receivedAt", "is in the future"));
    }
    if received < now - Duration::days(REGISTER_BACKDATE_DAYS) {
        return Err(AppError::bad_input(
            "input.receivedAt",
            format!("is more than {REGISTER_BACKDATE_DAYS} days ago"),
        ));
    }
    new.check()?;
    let row = new_row(actor.tenant_id, reg.subject, None, reg.channel, received.min(now), now)?;
    let row = data_subject_request::Model {
        identity_check: reg.identity_check,
        handled_by: actor.user_id,
        ..row
    };
    let purpose = Column::PrivacyOfficer.purpose();
    insert(services, actor, row, new, "dsr.registered", purpose, subject).await
}

fn new_row(
    tenant_id: Uuid,
    subject_id: Uuid,
    requested_by: Option<Uuid>,
    channel: RequestChannel,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<data_subject_request::Model> {
    Ok(data_subject_request::Model {
        id: Uuid::now_v7(),
        tenant_id,
        subject_id,
        requested_by,
        channel,
        kind: super::RequestKind::Access,
        status: RequestStatus::Received,
        received_at,
        due_at: due_date(received_at)?,
        extended_until: None,
        extension_reason: None,
        identity_check: String::new(),
        details: None,
        purposes: None,
        outcome: None,
        refusal_reason: None,
        handled_by: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
    })
}

/// Writes the request (with its directive), its audit record and its receipt in one
/// transaction.
async fn insert(
    services: &Services,
    actor: &Actor,
    row: data_subject_request::Model,
    new: NewRequest,
    action: &'static str,
    purpose: &'static str,
    subject: accounts::UserRecord,
) -> AppResult<RequestRecord> {
    let now = row.created_at;
    let row = data_subject_request::Model {
        kind: new.kind,
        details: new.details,
        purposes: store_purposes(&new.purposes),
        ..row
    };
    tracing::Span::current().record("request.id", tracing::field::display(row.id));
    let txn = services.db.begin().await?;
    data_subject_request::Entity::insert(data_subject_request::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict(
                "an open request of this kind already exists for this person: it is being answered",
            )
        })?;
    if let Some(d) = new.directive {
        insert_directive(&txn, &row, d, now).await?;
    }
    let extra = json!({ "channel": row.channel.to_value(), "dueAt": row.due_at });
    audit_step(&txn, actor, now, action, &row, purpose, extra).await?;
    receipt(&txn, &row, MailKind::DsrReceived, json!({ "dueAt": row.due_at }), now).await?;
    txn.commit().await?;
    Ok(RequestRecord { request: row, subject })
}

async fn insert_directive<C: ConnectionTrait>(
    conn: &C,
    request: &data_subject_request::Model,
    d: super::DirectiveInput,
    now: DateTime<Utc>,
) -> AppResult<()> {
    post_mortem_directive::Entity::insert(post_mortem_directive::ActiveModel::from(
        post_mortem_directive::Model {
            id: Uuid::now_v7(),
            tenant_id: request.tenant_id,
            subject_id: request.subject_id,
            request_id: request.id,
            instructions: request.details.clone().unwrap_or_default(),
            outcome: d.outcome,
            trusted_person_name: d.trusted_person_name,
            trusted_person_contact: d.trusted_person_contact,
            created_at: now,
        },
    ))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
