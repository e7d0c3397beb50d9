//! How applications end: [`destroy`] removes an application with its document rows (and so
//! its keys) in one transaction with the audit record, then its blobs. It serves the deletion
//! an applicant or the privacy officer asks for, and the retention sweep of applications past
//! [`retention_deadline`] (SPEC §5; `domain::retention`, whose period a tenant may shorten).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use super::documents::discard;
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::tenancy::scoped;
use crate::entities::{eo_application, eo_document};
use crate::error::AppResult;
use crate::policy::{self, Actor, Category, Column, DataField, Op, SubjectFacts};

/// Removes an application, its document rows and blobs (also for the retention sweep, whose
/// system actor records the purpose `retention`). Returns how many documents went, or `None`
/// when the application was already gone (removed at the same time by another request or
/// sweep): then nothing is written, not even the audit record, so a row is never reported as
/// removed twice.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %a.id,
))]
pub async fn destroy(
    services: &Services,
    actor: &Actor,
    a: &eo_application::Model,
) -> AppResult<Option<u64>> {
    let relations = accounts::relations(services, actor).await?;
    let applicant = accounts::find_record(services, a.tenant_id, a.applicant_id).await?;
    let purpose = match applicant {
        Some(r) => policy::granting_column(
            actor,
            &relations,
            &SubjectFacts { is_applicant: true, ..r.facts() },
            DataField::Documents,
            Op::Write,
        )
        .or_else(|| policy::may_erase_applications(actor).then_some(Column::PrivacyOfficer))
        .map_or("retention", Column::purpose),
        None => "retention",
    };
    let docs = scoped::<eo_document::Entity>(a.tenant_id)
        .filter(eo_document::Column::ApplicationId.eq(a.id))
        .all(&services.db)
        .await?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let documents = eo_document::Entity::delete_many()
        .filter(eo_document::Column::ApplicationId.eq(a.id))
        .exec(&txn)
        .await?
        .rows_affected;
    let gone = eo_application::Entity::delete_many()
        .filter(eo_application::Column::Id.eq(a.id))
        .exec(&txn)
        .await?
        .rows_affected;
    if gone == 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: "application.deleted",
            category: Some(Category::SupportingDocuments),
            subject_id: Some(a.applicant_id),
            purpose,
            details: Some(json!({ "applicationId": a.id, "documents": documents })),
        },
    )
    .await?;
    txn.commit().await?;
    let keys: Vec<String> = docs.into_iter().map(|d| d.storage_key).collect();
    discard(&services.documents, &keys).await;
    Ok(Some(documents))
}

/// Dates for the retention sweep (SPEC §5: three years after the last contact).
pub fn retention_deadline(a: &eo_application::Model) -> DateTime<Utc> {
    a.last_contact_at + chrono::Duration::days(3 * 365)
}
