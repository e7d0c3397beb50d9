//! What an export reads, decided from the personal-data registry and the live schema: every
//! registered table with `export: true`, its columns as the database has them (with their
//! types and primary key), minus secrets and the tenant column, each person reference marked so
//! that another person shows by display name only (GDPR art. 20(4)).
//!
//! Nothing here names a table: a table registered with `export: true` tomorrow is exported
//! tomorrow. A registered table the database lacks, or one without a primary key, is an error
//! (the registry test would fail first).

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::error::{AppError, AppResult};
use crate::policy::registry::{self, Holds, Table};

/// How a column's values are read and written into the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Timestamp,
    Date,
    Int,
    Float,
    Bool,
    Json,
    Bytes,
    Text,
}

impl Kind {
    /// From a declared type (`pragma_table_info` on SQLite, `information_schema` on PostgreSQL).
    fn of(declared: &str) -> Kind {
        let t = declared.to_ascii_lowercase();
        if t.contains("uuid") {
            Kind::Uuid
        } else if t.contains("timestamp") || t.contains("datetime") {
            Kind::Timestamp
        } else if t == "date" || t == "date_text" {
            Kind::Date
        } else if t.contains("bool") {
            Kind::Bool
        } else if t.contains("int") {
            Kind::Int
        } else if ["real", "double", "float", "numeric", "decimal"].iter().any(|w| t.contains(w)) {
            Kind::Float
        } else if t.contains("json") {
            Kind::Json
        } else if ["blob", "bytea", "binary"].iter().any(|w| t.contains(w)) {
            Kind::Bytes
        } else {
            Kind::Text
        }
    }
}

/// What a column is to the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Written as it is.
    Plain,
    /// A person reference (`Owner` or `OtherPerson`): the subject's own id stays, anyone else
    /// becomes their display name.
    Person,
}

/// One exported column.
#[derive(Clone, Debug)]
pub struct PlannedColumn {
    pub name: String,
    pub kind: Kind,
    pub role: Role,
}

/// One exported table.
#[derive(Clone, Debug)]
pub struct TablePlan {
    pub table: &'static Table,
    /// The columns written, in the database's order.
    pub columns: Vec<PlannedColumn>,
    /// The primary key (names and kinds), the order rows are read in.
    pub key: Vec<(String, Kind)>,
    /// Whether the table has a `tenant_id` column (every tenant-owned table does).
    pub tenant_scoped: bool,
}

/// A live column: name, declared type, position in the primary key (0 when not in it).
struct LiveColumn {
    name: String,
    declared: String,
    pk: i64,
}

/// The plan of every exported table, in registry order.
pub async fn plan<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<TablePlan>> {
    let mut out = Vec::new();
    for table in registry::TABLES.iter().filter(|t| t.export) {
        out.push(plan_table(conn, table).await?);
    }
    Ok(out)
}

/// The plan of one registered table: its live columns minus secrets and the tenant column.
pub async fn plan_table<C: ConnectionTrait>(
    conn: &C,
    table: &'static Table,
) -> AppResult<TablePlan> {
    let live = live_columns(conn, table.name).await?;
    if live.is_empty() {
        return Err(AppError::internal(
            "planning an export",
            format!("registered table {} is missing", table.name),
        ));
    }
    let mut key: Vec<(i64, String, Kind)> = live
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.clone(), Kind::of(&c.declared)))
        .collect();
    key.sort_by_key(|k| k.0);
    if key.is_empty() {
        return Err(AppError::internal(
            "planning an export",
            format!("table {} has no primary key", table.name),
        ));
    }
    let columns = live
        .iter()
        .filter(|c| c.name != "tenant_id")
        .filter_map(|c| {
            let holds = table.column(&c.name).map(|r| r.holds);
            let role = match holds {
                Some(Holds::Secret | Holds::OwnerHash) => return None,
                Some(Holds::Owner | Holds::OtherPerson) => Role::Person,
                _ => Role::Plain,
            };
            Some(PlannedColumn { name: c.name.clone(), kind: Kind::of(&c.declared), role })
        })
        .collect();
    Ok(TablePlan {
        table,
        columns,
        key: key.into_iter().map(|(_, n, k)| (n, k)).collect(),
        tenant_scoped: live.iter().any(|c| c.name == "tenant_id"),
    })
}

async fn live_columns<C: ConnectionTrait>(conn: &C, table: &str) -> AppResult<Vec<LiveColumn>> {
    let backend = conn.get_database_backend();
    let stmt = match backend {
        DatabaseBackend::Sqlite => Statement::from_string(
            backend,
            format!(
                "SELECT name, type AS declared, pk FROM pragma_table_info({}) ORDER BY cid",
                quote_literal(table)
            ),
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT c.column_name::text AS name, c.data_type::text AS declared, \
               COALESCE((SELECT k.ordinal_position FROM information_schema.table_constraints tc \
                 JOIN information_schema.key_column_usage k \
                   ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
                  AND k.table_name = tc.table_name \
                WHERE tc.table_schema = c.table_schema AND tc.table_name = c.table_name \
                  AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name), 0)::bigint AS pk \
             FROM information_schema.columns c \
             WHERE c.table_schema = current_schema() AND c.table_name = $1 \
             ORDER BY c.ordinal_position",
            [table.into()],
        ),
    };
    let rows = conn.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| {
            Ok(LiveColumn {
                name: r.try_get("", "name")?,
                declared: r.try_get::<Option<String>>("", "declared")?.unwrap_or_default(),
                pk: r
                    .try_get::<i64>("", "pk")
                    .or_else(|_| r.try_get::<i32>("", "pk").map(i64::from))?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// `'text'` with quotes doubled (table names come from the registry, never from input).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `"name"` with quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds_on_both_databases() {
        for (declared, kind) in [
            ("uuid", Kind::Uuid),
            ("uuid_text", Kind::Uuid),
            ("timestamp with time zone", Kind::Timestamp),
            ("timestamp_with_timezone_text", Kind::Timestamp),
            ("date", Kind::Date),
            ("boolean", Kind::Bool),
            ("bigint", Kind::Int),
            ("integer", Kind::Int),
            ("jsonb", Kind::Json),
            ("json_text", Kind::Json),
            ("bytea", Kind::Bytes),
            ("blob", Kind::Bytes),
            ("character varying", Kind::Text),
            ("text", Kind::Text),
        ] {
            assert_eq!(Kind::of(declared), kind, "{declared}");
        }
    }
}
