//! Reads the live schema of the connected database (tables, columns, and the table each
//! foreign key points to), on SQLite and PostgreSQL, for [`registry::gaps`] and for the
//! post-erasure scan of every text column.
//!
//! [`registry::gaps`]: crate::policy::registry::gaps

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::error::AppResult;
use crate::policy::registry::{LiveColumn, LiveSchema};

/// The tables and columns of the current database (PostgreSQL: the current schema).
pub async fn live_schema<C: ConnectionTrait>(conn: &C) -> AppResult<LiveSchema> {
    let backend = conn.get_database_backend();
    let mut live = LiveSchema::default();
    match backend {
        DatabaseBackend::Sqlite => {
            let tables = conn
                .query_all_raw(Statement::from_string(
                    backend,
                    // Ordinary tables only: the catalogue's FTS5 search index (`course_search`, a
                    // virtual table and its shadow tables) is derived from `courses` and holds no
                    // personal data.
                    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                ))
                .await?;
            for t in tables {
                let table: String = t.try_get("", "name")?;
                let quoted = table.replace('"', "\"\"");
                let fks = conn
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT \"from\" AS col, \"table\" AS target FROM pragma_foreign_key_list(\"{quoted}\")"),
                    ))
                    .await?;
                let fks: Vec<(String, String)> = fks
                    .iter()
                    .map(|r| Ok((r.try_get("", "col")?, r.try_get("", "target")?)))
                    .collect::<Result<_, sea_orm::DbErr>>()?;
                let cols = conn
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name FROM pragma_table_info(\"{quoted}\") ORDER BY cid"),
                    ))
                    .await?;
                let mut columns = Vec::with_capacity(cols.len());
                for c in cols {
                    let name: String = c.try_get("", "name")?;
                    let references = fks.iter().find(|(f, _)| *f == name).map(|(_, t)| t.clone());
                    columns.push(LiveColumn { name, references });
                }
                live.tables.insert(table, columns);
            }
        }
        _ => {
            let rows = conn
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT c.table_name::text AS t, c.column_name::text AS c, \
                       (SELECT ccu.table_name::text \
                          FROM information_schema.key_column_usage kcu \
                          JOIN information_schema.table_constraints tc \
                            ON tc.constraint_name = kcu.constraint_name \
                           AND tc.table_schema = kcu.table_schema \
                           AND tc.constraint_type = 'FOREIGN KEY' \
                          JOIN information_schema.constraint_column_usage ccu \
                            ON ccu.constraint_name = tc.constraint_name \
                           AND ccu.table_schema = tc.table_schema \
                         WHERE kcu.table_schema = c.table_schema AND kcu.table_name = c.table_name \
                           AND kcu.column_name = c.column_name LIMIT 1) AS target \
                     FROM information_schema.columns c \
                     JOIN information_schema.tables it \
                       ON it.table_schema = c.table_schema AND it.table_name = c.table_name \
                      AND it.table_type = 'BASE TABLE' \
                    WHERE c.table_schema = current_schema() \
                    ORDER BY c.table_name, c.ordinal_position",
                ))
                .await?;
            for r in rows {
                let table: String = r.try_get("", "t")?;
                let name: String = r.try_get("", "c")?;
                let references: Option<String> = r.try_get("", "target")?;
                live.tables.entry(table).or_default().push(LiveColumn { name, references });
            }
        }
    }
    Ok(live)
}

/// One column with what erasure needs to know about it: whether it holds text (the scan reads
/// those) and whether it may be null (anonymisation and detachment clear those).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub text: bool,
    pub nullable: bool,
}

/// Whether a declared column type holds text: character and JSON types, never identifiers,
/// dates or times (SQLite declares sea-orm's `uuid`, `date` and `timestamp…` types with a
/// `_text` suffix; their values are not free text).
fn is_text_type(declared: &str) -> bool {
    let t = declared.to_ascii_lowercase();
    let not_text = ["uuid", "date", "time", "bool", "int", "blob", "bytea", "numeric", "real"];
    if not_text.iter().any(|w| t.contains(w)) {
        return false;
    }
    ["char", "text", "clob", "json", "string"].iter().any(|w| t.contains(w))
}

/// Every table of the current database with its columns' text-ness and nullability.
pub async fn column_info<C: ConnectionTrait>(
    conn: &C,
) -> AppResult<std::collections::BTreeMap<String, Vec<ColumnInfo>>> {
    let backend = conn.get_database_backend();
    let mut out: std::collections::BTreeMap<String, Vec<ColumnInfo>> = Default::default();
    let sql = match backend {
        DatabaseBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c, p.type AS ty, p.\"notnull\" AS nn, p.pk AS pk \
             FROM pragma_table_list m JOIN pragma_table_info(m.name) p \
             WHERE m.schema = 'main' AND m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid"
        }
        _ => {
            "SELECT c.table_name::text AS t, c.column_name::text AS c, c.data_type::text AS ty, \
               CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS nn, 0 AS pk \
             FROM information_schema.columns c \
             JOIN information_schema.tables it \
               ON it.table_schema = c.table_schema AND it.table_name = c.table_name \
              AND it.table_type = 'BASE TABLE' \
             WHERE c.table_schema = current_schema() \
             ORDER BY c.table_name, c.ordinal_position"
        }
    };
    let rows = conn.query_all_raw(Statement::from_string(backend, sql)).await?;
    for r in rows {
        let table: String = r.try_get("", "t")?;
        let name: String = r.try_get("", "c")?;
        let ty: String = r.try_get("", "ty")?;
        let nn: i32 = r.try_get("", "nn")?;
        // SQLite lets a primary-key column hold NULL unless declared NOT NULL; treat it as not
        // nullable all the same.
        let pk: i32 = r.try_get("", "pk")?;
        out.entry(table).or_default().push(ColumnInfo {
            name,
            text: is_text_type(&ty),
            nullable: nn == 0 && pk == 0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::is_text_type;

    #[test]
    fn text_types_are_character_and_json_types_only() {
        for t in ["TEXT", "varchar", "json_text", "character varying", "text", "json", "jsonb"] {
            assert!(is_text_type(t), "{t}");
        }
        for t in [
            "uuid_text",
            "timestamp_with_timezone_text",
            "date_text",
            "uuid",
            "timestamp with time zone",
            "integer",
            "bigint",
            "boolean",
            "blob(1)",
            "bytea",
        ] {
            assert!(!is_text_type(t), "{t}");
        }
    }
}
