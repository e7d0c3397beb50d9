//! What the privacy officer does with a request: start it, extend it once, complete it (which
//! carries it out through its [`steps`](super::steps)) or refuse it, and lift a restriction.
//! Each move is one guarded UPDATE (`… WHERE status IN (…)`), committed with its audit record
//! and, where the subject must be told, its receipt.

use chrono::Months;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::reads::{reload, visible};
use super::steps;
use super::{RequestRecord, RequestStatus, audit_step, receipt};
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::outbox;
use crate::entities::enums::{AccountStatus, MailKind};
use crate::entities::{data_subject_request as dsr, user};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column, Relations, SubjectStatus};

/// The request, if `actor` may handle it (the privacy officer, not for their own).
async fn handled(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<RequestRecord> {
    let rec = visible(services, actor, id).await?;
    if !policy::requests::may_handle_request(actor, relations, &rec.facts()) {
        return Err(AppError::Forbidden);
    }
    Ok(rec)
}

/// Received → in progress.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.id = %id,
))]
pub async fn start(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<RequestRecord> {
    let rec = handled(services, actor, relations, id).await?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let res = dsr::Entity::update_many()
        .col_expr(dsr::Column::Status, Expr::value(RequestStatus::InProgress.to_value()))
        .col_expr(dsr::Column::HandledBy, Expr::value(actor.user_id))
        .col_expr(dsr::Column::UpdatedAt, Expr::value(now))
        .filter(dsr::Column::TenantId.eq(actor.tenant_id))
        .filter(dsr::Column::Id.eq(id))
        .filter(dsr::Column::Status.eq(RequestStatus::Received))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "a request that is {} cannot be started",
            rec.request.status.to_value()
        )));
    }
    audit_step(
        &txn,
        actor,
        now,
        "dsr.started",
        &rec.request,
        Column::PrivacyOfficer.purpose(),
        json!({}),
    )
    .await?;
    txn.commit().await?;
    reload(services, actor.tenant_id, id).await
}

/// Extends the due date once, by one or two months from the original due date, with a reason
/// the subject is told (GDPR art. 12(3)): before the due date has passed, never twice.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.id = %id,
))]
pub async fn extend(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    months: i32,
    reason: String,
) -> AppResult<RequestRecord> {
    if !(1..=2).contains(&months) {
        return Err(AppError::bad_input(
            "input.months",
            "an extension is one or two months (GDPR art. 12(3))",
        ));
    }
    let rec = handled(services, actor, relations, id).await?;
    if !rec.request.status.is_open() {
        return Err(AppError::Conflict("a closed request cannot be extended".into()));
    }
    if rec.request.extended_until.is_some() {
        return Err(AppError::Conflict("a request is extended once only".into()));
    }
    let now = services.clock.now();
    if now > rec.request.due_at {
        return Err(AppError::Conflict(
            "the due date has passed: an extension is announced before it".into(),
        ));
    }
    let until = rec
        .request
        .due_at
        .checked_add_months(Months::new(months.unsigned_abs()))
        .ok_or_else(|| AppError::bad_input("input.months", "is out of range"))?;
    let txn = services.db.begin().await?;
    let res = dsr::Entity::update_many()
        .col_expr(dsr::Column::ExtendedUntil, Expr::value(until))
        .col_expr(dsr::Column::ExtensionReason, Expr::value(reason))
        .col_expr(dsr::Column::UpdatedAt, Expr::value(now))
        .filter(dsr::Column::TenantId.eq(actor.tenant_id))
        .filter(dsr::Column::Id.eq(id))
        .filter(dsr::Column::ExtendedUntil.is_null())
        .filter(dsr::Column::Status.is_in(RequestStatus::OPEN))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("a request is extended once only".into()));
    }
    let extra = json!({ "extendedUntil": until, "months": months });
    audit_step(
        &txn,
        actor,
        now,
        "dsr.extended",
        &rec.request,
        Column::PrivacyOfficer.purpose(),
        extra.clone(),
    )
    .await?;
    receipt(&txn, &rec.request, MailKind::DsrExtended, extra, now).await?;
    txn.commit().await?;
    reload(services, actor.tenant_id, id).await
}

/// Refuses an open request with a reason the subject reads (art. 12(4)): only before anything
/// was carried out.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.id = %id,
))]
pub async fn refuse(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    reason: String,
) -> AppResult<RequestRecord> {
    let rec = handled(services, actor, relations, id).await?;
    if !rec.request.status.is_open() {
        return Err(AppError::Conflict(format!(
            "the request is already {}",
            rec.request.status.to_value()
        )));
    }
    if steps::planned(services, actor.tenant_id, id).await? {
        return Err(AppError::Conflict(
            "the request is being carried out: it can no longer be refused".into(),
        ));
    }
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let res = dsr::Entity::update_many()
        .col_expr(dsr::Column::Status, Expr::value(RequestStatus::Refused.to_value()))
        .col_expr(dsr::Column::RefusalReason, Expr::value(reason))
        .col_expr(dsr::Column::HandledBy, Expr::value(actor.user_id))
        .col_expr(dsr::Column::CompletedAt, Expr::value(now))
        .col_expr(dsr::Column::UpdatedAt, Expr::value(now))
        .filter(dsr::Column::TenantId.eq(actor.tenant_id))
        .filter(dsr::Column::Id.eq(id))
        .filter(dsr::Column::Status.is_in(RequestStatus::OPEN))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("the request was closed meanwhile".into()));
    }
    audit_step(
        &txn,
        actor,
        now,
        "dsr.refused",
        &rec.request,
        Column::PrivacyOfficer.purpose(),
        json!({}),
    )
    .await?;
    receipt(
        &txn,
        &rec.request,
        MailKind::DsrClosed,
        json!({ "status": RequestStatus::Refused }),
        now,
    )
    .await?;
    txn.commit().await?;
    reload(services, actor.tenant_id, id).await
}

/// Completes a request in progress with its outcome: plans the steps that carry it out (once)
/// and runs them now; a step that fails is retried by the background job, and the request
/// becomes done when its last step ran. Calling it again retries failed steps at once. A
/// request whose steps are not all written yet (export, erasure) stays in progress.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.id = %id,
))]
pub async fn complete(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    outcome: String,
) -> AppResult<RequestRecord> {
    let rec = handled(services, actor, relations, id).await?;
    match rec.request.status {
        RequestStatus::InProgress => {}
        RequestStatus::Received => {
            return Err(AppError::Conflict("start the request before completing it".into()));
        }
        closed => {
            return Err(AppError::Conflict(format!(
                "the request is already {}",
                closed.to_value()
            )));
        }
    }
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let res = dsr::Entity::update_many()
        .col_expr(dsr::Column::Outcome, Expr::value(outcome))
        .col_expr(dsr::Column::HandledBy, Expr::value(actor.user_id))
        .col_expr(dsr::Column::UpdatedAt, Expr::value(now))
        .filter(dsr::Column::TenantId.eq(actor.tenant_id))
        .filter(dsr::Column::Id.eq(id))
        .filter(dsr::Column::Status.eq(RequestStatus::InProgress))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("the request was closed meanwhile".into()));
    }
    let planned = steps::plan(&txn, &rec.request, now).await?;
    if planned {
        let names: Vec<&str> =
            steps::StepName::plan(rec.request.kind).iter().map(|s| s.as_str()).collect();
        let extra = json!({ "steps": names });
        audit_step(
            &txn,
            actor,
            now,
            "dsr.completion_started",
            &rec.request,
            Column::PrivacyOfficer.purpose(),
            extra,
        )
        .await?;
    } else {
        steps::retry_now(&txn, id, now).await?;
    }
    txn.commit().await?;
    steps::run_request(services, actor, id).await?;
    reload(services, actor.tenant_id, id).await
}

/// Lifts a restriction (art. 18(3)): the account becomes active again, the person is told.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    user.id = %user_id,
))]
pub async fn lift_restriction(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    user_id: Uuid,
) -> AppResult<accounts::UserRecord> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    if !policy::requests::processes_requests(actor) {
        return Err(AppError::Forbidden);
    }
    let person = accounts::find_record(services, actor.tenant_id, user_id)
        .await?
        .ok_or_else(|| AppError::bad_input("input.userId", "no such person"))?;
    if !policy::requests::may_handle_request(actor, relations, &person.facts()) {
        return Err(AppError::Forbidden);
    }
    if person.facts().status != SubjectStatus::Restricted {
        return Err(AppError::Conflict("this account is not restricted".into()));
    }
    if super::death::is_recorded(services, actor.tenant_id, user_id).await? {
        return Err(AppError::Conflict("this person's death is recorded".into()));
    }
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let res = user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value(AccountStatus::Active))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::TenantId.eq(actor.tenant_id))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::Status.eq(AccountStatus::Restricted))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("this account is not restricted".into()));
    }
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: "account.restriction_lifted",
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(user_id),
            purpose: Column::PrivacyOfficer.purpose(),
            details: None,
        },
    )
    .await?;
    outbox::queue_mail(
        &txn,
        actor.tenant_id,
        Some(user_id),
        MailKind::RestrictionLifted,
        json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    accounts::find_record(services, actor.tenant_id, user_id).await?.ok_or(AppError::NotFound)
}
