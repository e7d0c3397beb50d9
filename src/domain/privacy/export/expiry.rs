//! Exports go 7 days after they were made: [`delete_expired`] deletes the file, then the row
//! (with an audit record), a bounded batch per call, for every tenant. It is idempotent and safe
//! on several instances at once (the file delete is idempotent, the row delete is by id and
//! counted), so the retention sweep (issue 11, item 6) and the background job may both call it.
//! It also removes files whose row never committed (a build whose step lost its lease), once
//! they are a day old.
//!
//! `jobs::run_once` calls it every round until the retention sweep takes it over.

use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::entities::data_export;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Category};

/// What one call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    /// Expired exports deleted (file and row).
    pub deleted: u64,
    /// Stored files without a row, deleted.
    pub orphans: u64,
}

/// How old a file without a row must be before it is taken for an orphan (a build in progress
/// has its row only when its step commits).
const ORPHAN_AGE_HOURS: i64 = 24;

/// Deletes an export's file and row, with its audit record; false when another caller did.
#[tracing::instrument(skip_all, fields(tenant.id = %export.tenant_id, export.id = %export.id))]
pub async fn discard(
    services: &Services,
    export: &data_export::Model,
    action: &'static str,
) -> AppResult<bool> {
    services
        .documents
        .store
        .delete(&export.storage_key)
        .await
        .map_err(|e| AppError::internal("deleting an export file", e))?;
    let txn = services.db.begin().await?;
    let res = data_export::Entity::delete_many()
        .filter(data_export::Column::Id.eq(export.id))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    audit::record(
        &txn,
        &Actor::system(export.tenant_id),
        services.clock.now(),
        AuditRecord {
            action,
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(export.subject_id),
            purpose: "retention",
            details: Some(json!({ "exportId": export.id, "requestId": export.request_id })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Deletes up to `batch` expired exports (oldest first) and the orphaned files.
#[tracing::instrument(skip_all, fields(batch))]
pub async fn delete_expired(services: &Services, batch: u64) -> AppResult<ExpiryReport> {
    let now = services.clock.now();
    let due = data_export::Entity::find()
        .filter(data_export::Column::ExpiresAt.lte(now))
        .order_by_asc(data_export::Column::ExpiresAt)
        .order_by_asc(data_export::Column::Id)
        .limit(batch)
        .all(&services.db)
        .await?;
    let mut report = ExpiryReport::default();
    for export in &due {
        if discard(services, export, "export.expired").await? {
            report.deleted += 1;
        }
    }
    let files = services
        .documents
        .store
        .list("exports")
        .await
        .map_err(|e| AppError::internal("listing export files", e))?;
    for (key, modified) in files.into_iter().take(usize::try_from(batch).unwrap_or(usize::MAX)) {
        if modified > now - Duration::hours(ORPHAN_AGE_HOURS) {
            continue;
        }
        let Some(id) = key.rsplit('/').next().and_then(|s| Uuid::parse_str(s).ok()) else {
            continue;
        };
        let known = data_export::Entity::find()
            .filter(data_export::Column::Id.eq(id))
            .one(&services.db)
            .await?
            .is_some();
        if !known {
            services
                .documents
                .store
                .delete(&key)
                .await
                .map_err(|e| AppError::internal("deleting an orphaned export file", e))?;
            report.orphans += 1;
        }
    }
    Ok(report)
}
