//! The review: a reviewer opens a submitted application, then approves it with a discount or
//! rejects it with a reason, each in one transaction with its audit record. Reviewers may not
//! decide on their own application or one they filed for someone.
//!
//! An approval then asks the shop's [`pricing`] to lower the applicant's unpaid orders for the
//! course: the review calls pricing, pricing never calls the review.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::ApplicationStatus;
use super::documents::touch_documents;
use super::reads::{reload, visible};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::shop::pricing;
use crate::entities::eo_application;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column, DataField, Op, Relations};

/// A reviewer opens a submitted application (submitted → under review).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
pub async fn start_review(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<eo_application::Model> {
    decide_move(
        services,
        actor,
        relations,
        id,
        &[ApplicationStatus::Submitted],
        ApplicationStatus::UnderReview,
        None,
        None,
        None,
    )
    .await
}

/// Approves with a discount of `percent` (1–100).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
pub async fn approve(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    percent: i32,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    if !(1..=100).contains(&percent) {
        return Err(AppError::bad_input("input.discountPercent", "must be between 1 and 100"));
    }
    let from = [ApplicationStatus::Submitted, ApplicationStatus::UnderReview];
    let a = decide_move(
        services,
        actor,
        relations,
        id,
        &from,
        ApplicationStatus::Approved,
        Some(percent),
        None,
        note,
    )
    .await?;
    // Orders the applicant has not paid yet for this course get the discount too.
    pricing::apply_approved_discount(services, &a).await?;
    Ok(a)
}

/// Rejects with a reason the applicant will read.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
pub async fn reject(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    reason: String,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    let from = [ApplicationStatus::Submitted, ApplicationStatus::UnderReview];
    decide_move(
        services,
        actor,
        relations,
        id,
        &from,
        ApplicationStatus::Rejected,
        None,
        Some(reason),
        note,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one guarded transition shared by start, approve and reject"
)]
async fn decide_move(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    from: &[ApplicationStatus],
    to: ApplicationStatus,
    percent: Option<i32>,
    reason: Option<String>,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    let rec = visible(services, actor, relations, id).await?;
    if !policy::may_review(actor)
        || !policy::decide(
            actor,
            relations,
            &rec.facts(),
            DataField::FinancialSituation,
            Op::Decide,
        )
        .allowed()
    {
        return Err(AppError::Forbidden);
    }
    if !policy::may_decide_application(
        actor,
        relations,
        rec.application.applicant_id,
        rec.application.created_by,
    ) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let mut q = eo_application::Entity::update_many()
        .col_expr(eo_application::Column::Status, Expr::value(to))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.is_in(from.iter().copied()));
    if to.decided() {
        q = q
            .col_expr(eo_application::Column::DiscountPercent, Expr::value(percent))
            .col_expr(eo_application::Column::DecisionReason, Expr::value(reason))
            .col_expr(eo_application::Column::ReviewerNote, Expr::value(note))
            .col_expr(eo_application::Column::DecidedBy, Expr::value(actor.user_id))
            .col_expr(eo_application::Column::DecidedAt, Expr::value(now))
            .col_expr(eo_application::Column::LastContactAt, Expr::value(now));
    }
    if q.exec(&txn).await?.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "an application that is {} cannot become {}",
            rec.application.status, to
        )));
    }
    if to.decided() {
        touch_documents(&txn, id, now).await?;
    }
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: match to {
                ApplicationStatus::Approved => "application.approved",
                ApplicationStatus::Rejected => "application.rejected",
                _ => "application.review_started",
            },
            category: Some(Category::FinancialSituation),
            subject_id: Some(rec.application.applicant_id),
            purpose: Column::Reviewer.purpose(),
            details: Some(json!({ "applicationId": id, "discountPercent": percent })),
        },
    )
    .await?;
    txn.commit().await?;
    reload(services, actor.tenant_id, id).await
}
