//! Recording a death (loi Informatique et Libertés, art. 85): the privacy officer records that
//! a person died, with the evidence seen (in words; the certificate itself is never stored),
//! and Pupitre carries out the person's post-mortem directive through a data-subject request
//! of the matching kind, run by the same resumable steps as any other:
//!
//! | directive | request | what happens |
//! |---|---|---|
//! | delete | erasure | the account and its data are erased as the registry says |
//! | hand over | access | the export is built; the privacy officer hands it to the trusted person |
//! | keep, or none | restriction | the account is kept, processed by nobody (the heirs may ask for its closure) |
//!
//! In every case, in the same transaction that records the death, the account is restricted,
//! its password is cleared (signing in fails as for an unknown address) and its sessions end,
//! so nobody signs in as the deceased or processes their data meanwhile. One
//! death per person (`CONFLICT` otherwise); no receipt is mailed to the deceased.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::reads::reload;
use super::{
    DirectiveOutcome, RequestChannel, RequestKind, RequestRecord, RequestStatus, audit_step,
    due_date, steps,
};
use crate::domain::Services;
use crate::domain::accounts::{self, AccountStatus};
use crate::domain::tenancy::scoped;
use crate::entities::enums::RevokedReason;
use crate::entities::{data_subject_request as dsr, death_record, post_mortem_directive, user};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Column, Relations};

/// Longest evidence note kept.
const MAX_EVIDENCE_CHARS: usize = 500;

/// What the privacy officer notes about a death.
#[derive(Clone)]
pub struct DeathNotice {
    pub subject: Uuid,
    pub died_on: NaiveDate,
    /// The evidence seen, in words ("death certificate sent by the family, seen and returned").
    pub evidence: String,
    /// How the notice arrived.
    pub channel: RequestChannel,
}

impl std::fmt::Debug for DeathNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeathNotice").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The request that carries out a directive with `outcome` (none recorded: keep).
pub fn request_kind(outcome: Option<DirectiveOutcome>) -> RequestKind {
    match outcome {
        Some(DirectiveOutcome::Delete) => RequestKind::Erasure,
        Some(DirectiveOutcome::HandOver) => RequestKind::Access,
        Some(DirectiveOutcome::Keep) | None => RequestKind::Restriction,
    }
}

/// Records the death of `notice.subject` and starts carrying out their directive; returns the
/// request that does it.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    subject.id = %notice.subject,
    request.id = tracing::field::Empty,
))]
pub async fn record_death(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    notice: DeathNotice,
) -> AppResult<RequestRecord> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    if !policy::requests::processes_requests(actor) {
        return Err(AppError::Forbidden);
    }
    if notice.channel == RequestChannel::Api {
        return Err(AppError::bad_input(
            "input.channel",
            "a death is notified by post or e-mail, not made through the API",
        ));
    }
    let evidence = notice.evidence.trim();
    if evidence.is_empty() || evidence.chars().count() > MAX_EVIDENCE_CHARS {
        return Err(AppError::bad_input(
            "input.evidence",
            format!("say in 1 to {MAX_EVIDENCE_CHARS} characters which evidence was seen"),
        ));
    }
    if notice.died_on > accounts::today(services) {
        return Err(AppError::bad_input("input.diedOn", "is in the future"));
    }
    let subject = accounts::find_record(services, actor.tenant_id, notice.subject)
        .await?
        .ok_or_else(|| AppError::bad_input("input.subjectId", "no such person"))?;
    if !policy::requests::may_handle_request(actor, relations, &subject.facts()) {
        return Err(AppError::Forbidden);
    }
    if subject.user.status == AccountStatus::Erased {
        return Err(AppError::Conflict("this account is erased".into()));
    }
    if subject.user.birth_date.is_some_and(|b| notice.died_on < b) {
        return Err(AppError::bad_input("input.diedOn", "is before the person's birth date"));
    }
    let directive = scoped::<post_mortem_directive::Entity>(actor.tenant_id)
        .filter(post_mortem_directive::Column::SubjectId.eq(notice.subject))
        .order_by_desc(post_mortem_directive::Column::CreatedAt)
        .limit(1)
        .one(&services.db)
        .await?;
    let outcome = directive.as_ref().map(|d| d.outcome);
    let kind = request_kind(outcome);
    let now = services.clock.now();
    let row = dsr::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        subject_id: notice.subject,
        requested_by: None,
        channel: notice.channel,
        kind,
        status: RequestStatus::InProgress,
        received_at: now,
        due_at: due_date(now)?,
        extended_until: None,
        extension_reason: None,
        identity_check: evidence.to_owned(),
        details: Some(match outcome {
            Some(o) => format!("death recorded: carrying out the post-mortem directive ({o})"),
            None => "death recorded: no post-mortem directive, the account is kept restricted \
                     (the heirs may ask for its closure)"
                .to_owned(),
        }),
        purposes: None,
        outcome: None,
        refusal_reason: None,
        handled_by: actor.user_id,
        completed_at: None,
        created_at: now,
        updated_at: now,
    };
    tracing::Span::current().record("request.id", tracing::field::display(row.id));

    let txn = services.db.begin().await?;
    dsr::Entity::insert(dsr::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict(
                "an open request of this kind exists for this person: answer it first",
            )
        })?;
    death_record::Entity::insert(death_record::ActiveModel::from(death_record::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        subject_id: notice.subject,
        died_on: notice.died_on,
        evidence: evidence.to_owned(),
        recorded_by: actor.user_id,
        request_id: row.id,
        recorded_at: now,
    }))
    .exec_without_returning(&txn)
    .await
    .map_err(|e| {
        AppError::from(e).unique_as_conflict("a death is already recorded for this person")
    })?;
    user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value(AccountStatus::Restricted))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::TenantId.eq(actor.tenant_id))
        .filter(user::Column::Id.eq(notice.subject))
        .filter(user::Column::Status.eq(AccountStatus::Active))
        .exec(&txn)
        .await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(Option::<String>::None))
        .filter(user::Column::TenantId.eq(actor.tenant_id))
        .filter(user::Column::Id.eq(notice.subject))
        .exec(&txn)
        .await?;
    accounts::end_sessions(&txn, actor.tenant_id, notice.subject, now, RevokedReason::Deceased)
        .await?;
    let extra = json!({ "directive": outcome.map(|o| o.to_string()) });
    audit_step(&txn, actor, now, "death.recorded", &row, Column::PrivacyOfficer.purpose(), extra)
        .await?;
    steps::plan(&txn, &row, now).await?;
    txn.commit().await?;
    steps::run_request(services, actor, row.id).await?;
    reload(services, actor.tenant_id, row.id).await
}

/// Whether a death is recorded for `user_id` (a restriction that stems from it is not lifted).
pub(super) async fn is_recorded(
    services: &Services,
    tenant_id: Uuid,
    user_id: Uuid,
) -> AppResult<bool> {
    Ok(scoped::<death_record::Entity>(tenant_id)
        .filter(death_record::Column::SubjectId.eq(user_id))
        .one(&services.db)
        .await?
        .is_some())
}
