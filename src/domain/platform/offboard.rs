//! `pupitre tenant offboard`: the end of an organisation's contract. The whole tenant is
//! exported first ([`export_tenant`]: the data returned to the controller, GDPR art. 28(3)(g)),
//! then every row of every table of the tenant ([`tenant_tables`], children first) is deleted
//! in batches, each batch's document blobs before its rows, and the tenant row last. Keys go
//! with their rows: each document's data key is wrapped in its row, and the master key is the
//! platform's, shared by every tenant.
//!
//! Idempotent and resumable: the platform's log records `tenant.offboard.started` (with the
//! export's file) once the export is complete, and `tenant.offboard` with the report when the
//! tenant row is gone. Run again after an interruption, it resumes the deletion without
//! exporting again (a second export would hold only what was left); run again after the end, it
//! says when it was done. From the start the tenant answers nothing: it is marked
//! `offboarding` (and its host cleared) before the export, and the tenant directory leaves such
//! tenants out, so no request, token, webhook or job writes after the export's snapshot.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    Statement, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::export::{ExportSummary, Progress, export_tenant};
use super::log;
use super::tables::{BLOB_COLUMN, TenantTable, tenant_tables};
use crate::domain::privacy::export::plan::quote_ident;
use crate::domain::privacy::export::rows::{Binds, bind_value, read};
use crate::domain::types::Slug;
use crate::domain::{Services, tenancy};
use crate::entities::{platform_log, retention_gate, tenant};
use crate::error::{AppError, AppResult};

/// Rows deleted per statement (one transaction each).
pub const BATCH: u64 = 500;

/// The cut-off of the gate opened on the append-only ledgers: after every row.
const END_OF_TIME: DateTime<Utc> = DateTime::from_naive_utc_and_offset(
    match chrono::NaiveDate::from_ymd_opt(9999, 12, 31) {
        Some(d) => match d.and_hms_opt(0, 0, 0) {
            Some(t) => t,
            None => panic!("valid time"),
        },
        None => panic!("valid date"),
    },
    Utc,
);

/// What `tenant offboard` did.
pub enum Offboarded {
    Done(OffboardReport),
    /// The tenant was offboarded before, at this time: nothing to do.
    Already(DateTime<Utc>),
}

/// The report of an offboarding.
#[derive(Debug, Default)]
pub struct OffboardReport {
    /// The export written first; `None` when an interrupted offboarding was resumed (the
    /// export was written by the first run, named in `export_file`).
    pub export: Option<ExportSummary>,
    pub export_file: String,
    /// Rows deleted per table, children first (the tenant row last, as `tenants`).
    pub deleted: Vec<(String, u64)>,
    /// Document-store objects deleted.
    pub blobs: u64,
}

impl OffboardReport {
    pub fn rows(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

/// Offboards the tenant `slug`: export to `export_to`, then destruction. `expected` must repeat
/// the slug (the command's `--confirm`): a mismatch is refused before anything is read.
pub async fn offboard(
    services: &Services,
    slug: &Slug,
    expected: &str,
    export_to: &Path,
    progress: &dyn Progress,
) -> AppResult<Offboarded> {
    if expected != slug.as_str() {
        return Err(AppError::bad_input(
            "confirm",
            format!("must repeat the tenant's slug (`--confirm {}`)", slug.as_str()),
        ));
    }
    let slug = slug.as_str();
    let logged = |command: &'static str| {
        platform_log::Entity::find()
            .filter(platform_log::Column::Command.eq(command))
            .filter(platform_log::Column::TenantSlug.eq(slug))
            .order_by_desc(platform_log::Column::At)
            .all(&services.db)
    };
    let Some(tenant) =
        tenant::Entity::find().filter(tenant::Column::Slug.eq(slug)).one(&services.db).await?
    else {
        return match logged("tenant.offboard").await?.first() {
            Some(done) => Ok(Offboarded::Already(done.at)),
            None => Err(AppError::NotFound),
        };
    };
    let id = tenant.id.to_string();
    let started = logged("tenant.offboard.started")
        .await?
        .into_iter()
        .find(|l| l.details.get("tenant_id").and_then(|v| v.as_str()) == Some(id.as_str()));
    let mut report = OffboardReport::default();
    // First of all the tenant stops answering (requests, tokens, webhooks, jobs: the directory
    // no longer lists it), so nothing is written after the export's snapshot.
    if !tenancy::offboarding(&tenant) {
        let mut settings = tenant.settings.as_object().cloned().unwrap_or_default();
        settings.insert("offboarding".into(), true.into());
        let mut active: tenant::ActiveModel = tenant.clone().into();
        active.settings = Set(serde_json::Value::Object(settings));
        active.host = Set(None);
        tenant::Entity::update(active).exec(&services.db).await?;
        services.tenants.invalidate().await;
    }
    match started {
        Some(s) => {
            report.export_file =
                s.details.get("export_file").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        }
        None => {
            let summary = export_tenant(services, &tenant, export_to, progress).await?;
            report.export_file = summary.path.display().to_string();
            let details = json!({
                "tenant_id": id,
                "export_file": report.export_file,
                "rows": summary.rows(),
                "documents": summary.documents,
                "bytes": summary.bytes,
            });
            let now = services.clock.now();
            log(&services.db, now, "tenant.offboard.started", &tenant.slug, details).await?;
            report.export = Some(summary);
        }
    }
    for table in tenant_tables(&services.db).await? {
        let total = table.count(&services.db, tenant.id).await?;
        progress.start(table.name(), total);
        let (rows, blobs) = destroy(services, &table, tenant.id, progress).await?;
        report.deleted.push((table.name().to_owned(), rows));
        report.blobs += blobs;
    }
    report.deleted.push(("tenants".to_owned(), 1));
    let details = json!({
        "tenant_id": id,
        "export_file": report.export_file,
        "deleted": report.deleted.iter().cloned().collect::<BTreeMap<String, u64>>(),
        "blobs": report.blobs,
    });
    let now = services.clock.now();
    let (tenant_id, slug) = (tenant.id, tenant.slug.clone());
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                tenant::Entity::delete_by_id(tenant_id).exec(txn).await?;
                log(txn, now, "tenant.offboard", &slug, details).await
            })
        })
        .await?;
    services.tenants.invalidate().await;
    Ok(Offboarded::Done(report))
}

/// Deletes the tenant's rows of `table` a batch at a time (blobs first); rows and blobs deleted.
async fn destroy(
    services: &Services,
    table: &TenantTable,
    tenant_id: Uuid,
    progress: &dyn Progress,
) -> AppResult<(u64, u64)> {
    let backend = services.db.get_database_backend();
    let key = &table.plan.key;
    let keys: Vec<String> = key.iter().map(|(n, _)| format!("t.{}", quote_ident(n))).collect();
    let (mut rows, mut blobs) = (0, 0);
    loop {
        let txn = services.db.begin().await?;
        // The append-only ledgers refuse a DELETE unless a retention gate of this table and
        // tenant is open in the same transaction (see `domain::retention`): opened with a
        // cut-off after every row, removed before the commit.
        let gate = Uuid::now_v7();
        if table.append_only {
            retention_gate::Entity::insert(retention_gate::ActiveModel {
                id: Set(gate),
                tenant_id: Set(tenant_id),
                target_table: Set(table.name().to_owned()),
                cutoff: Set(END_OF_TIME),
                opened_at: Set(services.clock.now()),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        let mut b = Binds::new(backend);
        let mut select: Vec<String> =
            keys.iter().enumerate().map(|(i, k)| format!("{k} AS \"__key{i}\"")).collect();
        if table.has_blobs {
            select.push(format!("t.{}", quote_ident(BLOB_COLUMN)));
        }
        let sql = format!(
            "SELECT {} FROM {} t WHERE {} ORDER BY {} LIMIT {BATCH}",
            select.join(", "),
            quote_ident(table.name()),
            table.condition(&mut b, tenant_id),
            keys.join(", ")
        );
        let page =
            txn.query_all_raw(Statement::from_sql_and_values(backend, sql, b.values)).await?;
        if page.is_empty() {
            txn.rollback().await?;
            return Ok((rows, blobs));
        }
        if table.has_blobs {
            for row in &page {
                let storage_key: Option<String> = row.try_get("", BLOB_COLUMN)?;
                if let Some(k) = storage_key {
                    services
                        .documents
                        .store
                        .delete(&k)
                        .await
                        .map_err(|e| AppError::internal("deleting a tenant's blob", e))?;
                    blobs += 1;
                }
            }
        }
        let mut b = Binds::new(backend);
        let mut tuples = Vec::with_capacity(page.len());
        for row in &page {
            let mut values = Vec::with_capacity(key.len());
            for (i, (_, kind)) in key.iter().enumerate() {
                let v = read(row, &format!("__key{i}"), *kind)?;
                values.push(b.push(bind_value(*kind, &v)));
            }
            tuples.push(format!("({})", values.join(", ")));
        }
        let bare: Vec<String> = key.iter().map(|(n, _)| quote_ident(n)).collect();
        let sql = format!(
            "DELETE FROM {} WHERE ({}) IN ({})",
            quote_ident(table.name()),
            bare.join(", "),
            tuples.join(", ")
        );
        let done = txn.execute_raw(Statement::from_sql_and_values(backend, sql, b.values)).await?;
        if table.append_only {
            retention_gate::Entity::delete_by_id(gate).exec(&txn).await?;
        }
        txn.commit().await?;
        rows += done.rows_affected();
        progress.advanced(done.rows_affected());
    }
}
