//! Run records (`retention_runs`) and the per-tenant lock that keeps two sweeps of one tenant
//! from running at once.
//!
//! The lock, on PostgreSQL, is `pg_try_advisory_xact_lock` taken inside a transaction opened
//! for that purpose and held, idle, while the tenant's batches run on other connections; the
//! lock goes when that transaction ends (commit, rollback, or the connection dropping with a
//! crashed process). A transaction-level lock cannot be released on the wrong connection, and a
//! session-level lock could outlive its sweep in a pooled connection. It costs one pooled
//! connection per sweeping instance, holds no snapshot (its only statement has finished) and
//! no row locks, so it does not hold back vacuum. A second instance does not wait: it skips
//! the tenant this round. On SQLite there is no lock: writes are serialised by the database and
//! every batch's `WHERE` clause skips rows already gone.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::enums::RetentionOrigin;
use crate::entities::retention_run;
use crate::error::AppResult;

/// The advisory-lock namespace of the retention sweep (`pg_try_advisory_xact_lock(int, int)`).
const LOCK_NAMESPACE: i32 = 0x5052_4554; // "PRET"

/// Held while a tenant is swept; dropping it (or [`TenantLock::release`]) lets another go.
pub struct TenantLock(Option<DatabaseTransaction>);

impl TenantLock {
    /// No lock (SQLite, or a test that races two sweeps on purpose).
    pub fn none() -> Self {
        TenantLock(None)
    }

    pub async fn release(self) -> AppResult<()> {
        if let Some(txn) = self.0 {
            txn.commit().await?;
        }
        Ok(())
    }
}

fn lock_key(tenant: Uuid) -> i32 {
    let v = tenant.as_u128();
    let folded = (v as u32) ^ ((v >> 32) as u32) ^ ((v >> 64) as u32) ^ ((v >> 96) as u32);
    i32::from_ne_bytes(folded.to_ne_bytes())
}

/// Takes the tenant's sweep lock, or `None` when another sweep holds it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn try_lock(services: &Services, tenant: Uuid) -> AppResult<Option<TenantLock>> {
    if services.db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(Some(TenantLock::none()));
    }
    let txn = services.db.begin().await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1, $2) AS ok",
            [LOCK_NAMESPACE.into(), lock_key(tenant).into()],
        ))
        .await?;
    let ok = match row {
        Some(r) => r.try_get::<bool>("", "ok")?,
        None => false,
    };
    if ok {
        Ok(Some(TenantLock(Some(txn))))
    } else {
        txn.rollback().await?;
        Ok(None)
    }
}

/// Records the start of a (real) run.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn start(
    services: &Services,
    tenant: Uuid,
    origin: RetentionOrigin,
    at: DateTime<Utc>,
) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    retention_run::Entity::insert(retention_run::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        origin: Set(origin),
        started_at: Set(at),
        finished_at: Set(None),
        counts: Set(serde_json::json!([])),
        error: Set(None),
    })
    .exec_without_returning(&services.db)
    .await?;
    Ok(id)
}

/// Records the end of a run: its counts and, if it stopped early, why.
#[tracing::instrument(skip_all, fields(retention.run = %id))]
pub async fn finish(
    services: &Services,
    id: Uuid,
    counts: serde_json::Value,
    error: Option<String>,
) -> AppResult<()> {
    retention_run::Entity::update_many()
        .col_expr(retention_run::Column::FinishedAt, Expr::value(services.clock.now()))
        .col_expr(retention_run::Column::Counts, Expr::value(counts))
        .col_expr(retention_run::Column::Error, Expr::value(error))
        .filter(retention_run::Column::Id.eq(id))
        .exec(&services.db)
        .await?;
    Ok(())
}

/// The latest runs of a tenant, newest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn latest(
    services: &Services,
    tenant: Uuid,
    n: u64,
) -> AppResult<Vec<retention_run::Model>> {
    Ok(scoped::<retention_run::Entity>(tenant)
        .order_by_desc(retention_run::Column::StartedAt)
        .order_by_desc(retention_run::Column::Id)
        .limit(n)
        .all(&services.db)
        .await?)
}

/// When the tenant's last run started.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn last_start(services: &Services, tenant: Uuid) -> AppResult<Option<DateTime<Utc>>> {
    Ok(scoped::<retention_run::Entity>(tenant)
        .order_by_desc(retention_run::Column::StartedAt)
        .limit(1)
        .one(&services.db)
        .await?
        .map(|r| r.started_at))
}
