//! The erasure report: one `erasure_reports` row per erasure request (its effects and the final
//! scan) and one `erasure_report_tables` row per table, written in the transaction that erased
//! that table, so that a table is done exactly when its row exists. Read in batches for the
//! request nodes of the API.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::scan::ScanResult;
use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::enums::ErasureOutcome;
use crate::entities::{erasure_report as report, erasure_report_table as row};
use crate::error::{AppError, AppResult};
use crate::policy::registry::LegalBasis;

/// What erasing one table did (before it is stored).
#[derive(Clone, Debug, Default)]
pub(super) struct TableDone {
    pub outcome: Option<ErasureOutcome>,
    pub rows: u64,
    pub released: u64,
    pub references_cleared: u64,
    pub references_kept: u64,
    pub basis: Option<LegalBasis>,
    pub kept_until: Option<DateTime<Utc>>,
    pub kept_ids: Option<Vec<String>>,
}

/// The report of `request`, created on first use (a second worker joins the first's row).
pub(super) async fn open<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    request: Uuid,
    now: DateTime<Utc>,
) -> AppResult<report::Model> {
    report::Entity::insert(report::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        request_id: Set(request),
        started_at: Set(now),
        finished_at: Set(None),
        orders_cancelled: Set(0),
        documents_deleted: Set(0),
        consents_withdrawn: Set(0),
        suppressed: Set(false),
        scanned_at: Set(None),
        scan_passed: Set(None),
        scan: Set(None),
    })
    .on_conflict(OnConflict::column(report::Column::RequestId).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    scoped::<report::Entity>(tenant_id)
        .filter(report::Column::RequestId.eq(request))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("erasing", "the report was not written"))
}

/// The names of the tables the report has done.
pub(super) async fn done_tables<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
) -> AppResult<Vec<String>> {
    Ok(scoped::<row::Entity>(rep.tenant_id)
        .filter(row::Column::ReportId.eq(rep.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.table_name)
        .collect())
}

/// Whether the report has `table` done (inside the table's transaction, before acting).
pub(super) async fn has_table<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
    table: &str,
) -> AppResult<bool> {
    Ok(scoped::<row::Entity>(rep.tenant_id)
        .filter(row::Column::ReportId.eq(rep.id))
        .filter(row::Column::TableName.eq(table))
        .one(conn)
        .await?
        .is_some())
}

/// Records `table` as done, in the transaction that erased it.
pub(super) async fn record_table<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
    position: usize,
    table: &str,
    done: &TableDone,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let kept_ids = match &done.kept_ids {
        Some(ids) => {
            Some(serde_json::to_string(ids).map_err(|e| AppError::internal("erasure report", e))?)
        }
        None => None,
    };
    row::Entity::insert(row::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(rep.tenant_id),
        report_id: Set(rep.id),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        table_name: Set(table.to_owned()),
        outcome: Set(done.outcome.unwrap_or(ErasureOutcome::NothingHeld)),
        row_count: Set(count(done.rows)),
        released_count: Set(count(done.released)),
        references_cleared: Set(count(done.references_cleared)),
        references_kept: Set(count(done.references_kept)),
        legal_basis: Set(done.basis.map(|b| b.key().to_owned())),
        kept_until: Set(done.kept_until),
        kept_ids: Set(kept_ids),
        done_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Which of the report's effects a run adds to.
#[derive(Clone, Copy, Debug)]
pub(super) enum Effect {
    OrdersCancelled,
    DocumentsDeleted,
    ConsentsWithdrawn,
}

/// Adds `n` to one of the report's effect counts.
pub(super) async fn add_effect<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
    effect: Effect,
    n: u64,
) -> AppResult<()> {
    if n == 0 {
        return Ok(());
    }
    let col = match effect {
        Effect::OrdersCancelled => report::Column::OrdersCancelled,
        Effect::DocumentsDeleted => report::Column::DocumentsDeleted,
        Effect::ConsentsWithdrawn => report::Column::ConsentsWithdrawn,
    };
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    report::Entity::update_many()
        .col_expr(col, Expr::col(col).add(n))
        .filter(report::Column::Id.eq(rep.id))
        .exec(conn)
        .await?;
    Ok(())
}

pub(super) async fn mark_suppressed<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
) -> AppResult<()> {
    report::Entity::update_many()
        .col_expr(report::Column::Suppressed, Expr::value(true))
        .filter(report::Column::Id.eq(rep.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Stores the result of a scan; with `finished`, the erasure is complete.
pub(super) async fn record_scan<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
    scan: &ScanResult,
    finished: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let json = serde_json::to_string(scan).map_err(|e| AppError::internal("erasure report", e))?;
    let mut q = report::Entity::update_many()
        .col_expr(report::Column::ScannedAt, Expr::value(now))
        .col_expr(report::Column::ScanPassed, Expr::value(scan.passed))
        .col_expr(report::Column::Scan, Expr::value(json));
    if finished {
        q = q.col_expr(report::Column::FinishedAt, Expr::value(now));
    }
    q.filter(report::Column::Id.eq(rep.id)).exec(conn).await?;
    Ok(())
}

/// The rows the report lists as kept, per table (ids as strings).
pub(super) async fn kept_rows<C: ConnectionTrait>(
    conn: &C,
    rep: &report::Model,
) -> AppResult<HashMap<String, Vec<String>>> {
    let rows = scoped::<row::Entity>(rep.tenant_id)
        .filter(row::Column::ReportId.eq(rep.id))
        .all(conn)
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        if let Some(ids) = r.kept_ids {
            let ids: Vec<String> = serde_json::from_str(&ids)
                .map_err(|e| AppError::internal("reading an erasure report", e))?;
            out.insert(r.table_name, ids);
        }
    }
    Ok(out)
}

/// A report as the API shows it.
#[derive(Clone, Debug)]
pub struct Report {
    pub report: report::Model,
    /// One row per table, in the order they were processed.
    pub tables: Vec<row::Model>,
    /// The last scan, if any ran.
    pub scan: Option<ScanResult>,
}

/// The reports of several requests (two queries), for the request nodes.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = requests.len()))]
pub async fn reports_of(
    services: &Services,
    tenant_id: Uuid,
    requests: &[Uuid],
) -> AppResult<HashMap<Uuid, Report>> {
    let reports = scoped::<report::Entity>(tenant_id)
        .filter(report::Column::RequestId.is_in(requests.iter().copied()))
        .all(&services.db)
        .await?;
    let ids: Vec<Uuid> = reports.iter().map(|r| r.id).collect();
    let rows = scoped::<row::Entity>(tenant_id)
        .filter(row::Column::ReportId.is_in(ids))
        .order_by_asc(row::Column::Position)
        .all(&services.db)
        .await?;
    let mut by_report = group(rows, |r| (r.report_id, r));
    let mut out = HashMap::new();
    for rep in reports {
        let scan = match &rep.scan {
            Some(s) => Some(
                serde_json::from_str(s)
                    .map_err(|e| AppError::internal("reading an erasure report", e))?,
            ),
            None => None,
        };
        let tables = by_report.remove(&rep.id).unwrap_or_default();
        out.insert(rep.request_id, Report { report: rep, tables, scan });
    }
    Ok(out)
}
