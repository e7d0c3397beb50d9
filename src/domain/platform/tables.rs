//! A tenant's share of the schema, for the operator's export and offboarding: every registered
//! table with a `tenant_id` column, and every table reached from one of those by an `OwnerVia`
//! reference without a tenant column of its own (a refresh token through its session). Decided
//! from the personal-data registry and the live schema, never from a list written here: a
//! tenant-owned table added tomorrow is exported and destroyed tomorrow (the registry test
//! makes registering it a decision).
//!
//! Tables come children first: each table before every table it references, so deleting in
//! this order never trips a foreign key. A document-store key column (`storage_key`) marks rows
//! whose blob goes with them.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use crate::domain::privacy::export::plan::{TablePlan, plan_table, quote_ident};
use crate::domain::privacy::export::rows::Binds;
use crate::domain::privacy::schema::live_schema;
use crate::error::{AppError, AppResult};
use crate::policy::registry::{self, Erasure, Holds};

/// The column that holds a document-store key in the tables that have blobs.
pub const BLOB_COLUMN: &str = "storage_key";

/// One table of the tenant.
pub struct TenantTable {
    /// Its exported columns (no secrets), key and whether it has a tenant column.
    pub plan: TablePlan,
    /// For a table without tenant column: `(column, parent)`, its rows whose `column` points at
    /// a row of the tenant in `parent`.
    pub via: Option<(&'static str, &'static str)>,
    /// Whether its rows carry a blob in the document store ([`BLOB_COLUMN`]).
    pub has_blobs: bool,
    /// An append-only ledger (registered [`Erasure::Pseudonymise`]): its rows are deleted only
    /// through a retention gate.
    pub append_only: bool,
}

impl TenantTable {
    pub fn name(&self) -> &'static str {
        self.plan.table.name
    }

    /// `WHERE` condition (on alias `t`) selecting the tenant's rows, with its binds.
    pub(crate) fn condition(&self, b: &mut Binds, tenant_id: Uuid) -> String {
        match self.via {
            _ if self.plan.tenant_scoped => {
                format!("t.\"tenant_id\" = {}", b.push(Value::from(tenant_id)))
            }
            Some((column, parent)) => format!(
                "t.{} IN (SELECT p.\"id\" FROM {} p WHERE p.\"tenant_id\" = {})",
                quote_ident(column),
                quote_ident(parent),
                b.push(Value::from(tenant_id))
            ),
            None => "1 = 0".into(),
        }
    }

    /// How many rows of the tenant the table holds.
    pub async fn count<C: ConnectionTrait>(&self, conn: &C, tenant_id: Uuid) -> AppResult<u64> {
        let mut b = Binds::new(conn.get_database_backend());
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} t WHERE {}",
            quote_ident(self.name()),
            self.condition(&mut b, tenant_id)
        );
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(b.backend, sql, b.values))
            .await?
            .ok_or_else(|| AppError::internal("counting a tenant's rows", "no row"))?;
        let n: i64 = row.try_get("", "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Every table of the tenant, children first.
pub async fn tenant_tables<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<TenantTable>> {
    let live = live_schema(conn).await?;
    let scoped: BTreeSet<&str> = live
        .tables
        .iter()
        .filter(|(_, cols)| cols.iter().any(|c| c.name == "tenant_id"))
        .map(|(t, _)| t.as_str())
        .collect();
    let mut found: BTreeMap<&'static str, TenantTable> = BTreeMap::new();
    for table in registry::TABLES {
        let Some(cols) = live.tables.get(table.name) else { continue };
        let via = if scoped.contains(table.name) {
            None
        } else {
            let parent = table.columns.iter().find_map(|c| match c.holds {
                Holds::OwnerVia { table: parent } if scoped.contains(parent) => {
                    Some((c.name, parent))
                }
                _ => None,
            });
            match parent {
                Some(p) => Some(p),
                // Not the tenant's (the tenants themselves, the platform's log).
                None => continue,
            }
        };
        let plan = plan_table(conn, table).await?;
        let has_blobs = cols.iter().any(|c| c.name == BLOB_COLUMN);
        let append_only = table.erasure == Erasure::Pseudonymise;
        found.insert(table.name, TenantTable { plan, via, has_blobs, append_only });
    }
    // Children first: a table is placed once every table referencing it is placed.
    let references = |t: &str| -> BTreeSet<String> {
        live.tables
            .get(t)
            .into_iter()
            .flatten()
            .filter_map(|c| c.references.clone())
            .filter(|r| r != t && found.contains_key(r.as_str()))
            .collect()
    };
    let mut remaining: BTreeSet<&'static str> = found.keys().copied().collect();
    let mut order = Vec::with_capacity(found.len());
    while !remaining.is_empty() {
        let ready: Vec<&'static str> = remaining
            .iter()
            .copied()
            .filter(|t| !remaining.iter().any(|o| o != t && references(o).contains(*t)))
            .collect();
        if ready.is_empty() {
            return Err(AppError::internal(
                "ordering a tenant's tables",
                format!("foreign keys form a cycle among {remaining:?}"),
            ));
        }
        for t in ready {
            remaining.remove(t);
            order.push(t);
        }
    }
    Ok(order.into_iter().filter_map(|t| found.remove(t)).collect())
}
