//! The final scan: every text column of every table of the organisation, read for the person's
//! values ([`Values`]), in the transaction that anonymises the account (so it sees the erasure
//! as it will be committed, and the values are still at hand). A row that holds a value and is
//! not one the report lists as kept is a leftover: the scan fails and the erasure is retried.
//!
//! One statement per table: `LOWER(CAST(column AS TEXT)) LIKE LOWER('%value%')` over its text
//! columns, each value also in upper case (SQLite's `LOWER` folds ASCII only, so `LÉA` must be
//! looked for as such), wildcards escaped, every value bound. The rows found are attributed to
//! their columns here, with Unicode case folding. A value found in a table about no one (the
//! catalogue, the organisation's own contact) is the organisation's too and is no leftover:
//! the demo learner's address is the school's. The result holds table and column names and
//! counts, never a value.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, QueryResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::sql::Sql;
use super::values::{ValueKind, Values};
use crate::domain::privacy::schema::ColumnInfo;
use crate::error::AppResult;
use crate::policy::registry::{self, TOOL_TABLES};

/// What the scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanResult {
    /// The kinds of value searched.
    pub value_kinds: Vec<ValueKind>,
    /// The kinds not searched because another account holds the same value as its own.
    pub shared_kinds: Vec<ValueKind>,
    pub tables: u32,
    pub columns: u32,
    /// Every column where a value was found, with its rows and how many of them are kept.
    pub hits: Vec<Hit>,
    /// No value outside the rows kept.
    pub passed: bool,
}

/// The rows of one column that hold one of the person's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    pub table: String,
    pub column: String,
    pub rows: u64,
    /// Of those, rows the report lists as kept under a legal obligation.
    pub kept_rows: u64,
    /// The table holds nobody's data (the catalogue, the organisation's published contact):
    /// the value is the organisation's own too (a learner who gave the school's address), not
    /// a leftover.
    #[serde(default)]
    pub organisation: bool,
}

impl Hit {
    /// Rows that hold a value and are neither kept nor the organisation's own.
    pub fn leftover_rows(&self) -> u64 {
        if self.organisation { 0 } else { self.rows.saturating_sub(self.kept_rows) }
    }
}

impl ScanResult {
    /// `table.column (rows, kept)` of the hits outside kept rows, for an error message.
    pub fn leftovers(&self) -> String {
        self.hits
            .iter()
            .filter(|h| h.leftover_rows() > 0)
            .map(|h| format!("{}.{} ({} rows)", h.table, h.column, h.leftover_rows()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `%value%` with `\`, `%` and `_` escaped (for `LIKE … ESCAPE '\'`).
fn pattern(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('%');
    for ch in v.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// A row's id as text (UUIDs, stored as blobs on SQLite, or text ids).
pub(super) fn row_id(r: &QueryResult, col: &str) -> Option<String> {
    if let Ok(Some(u)) = r.try_get::<Option<Uuid>>("", col) {
        return Some(u.to_string());
    }
    r.try_get::<Option<String>>("", col).ok().flatten()
}

/// Scans every text column of every table of `tenant_id` for `values`.
pub(super) async fn scan<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    values: &Values,
    shared_kinds: Vec<ValueKind>,
    schema: &BTreeMap<String, Vec<ColumnInfo>>,
    kept: &HashMap<String, Vec<String>>,
) -> AppResult<ScanResult> {
    let backend = conn.get_database_backend();
    let mut needles: Vec<String> = Vec::new();
    for v in values.values() {
        for variant in [v.to_owned(), v.to_uppercase()] {
            if !needles.contains(&variant) {
                needles.push(variant);
            }
        }
    }
    let folded: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
    let mut result =
        ScanResult { value_kinds: values.kinds(), shared_kinds, ..ScanResult::default() };
    for (table, columns) in schema {
        if TOOL_TABLES.contains(&table.as_str()) {
            continue;
        }
        let text: Vec<&ColumnInfo> = columns.iter().filter(|c| c.text).collect();
        if text.is_empty() {
            continue;
        }
        result.tables += 1;
        result.columns += u32::try_from(text.len()).unwrap_or(u32::MAX);
        if needles.is_empty() {
            continue;
        }
        let has = |c: &str| columns.iter().any(|x| x.name == c);
        let mut q = Sql::new(backend);
        q.push("SELECT ");
        if has("id") {
            q.col(table, "id").push(" AS k, ");
        }
        for (i, c) in text.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("CAST(").col(table, &c.name).push(&format!(" AS TEXT) AS v{i}"));
        }
        q.push(" FROM ").ident(table).push(" WHERE ");
        if has("tenant_id") {
            q.col(table, "tenant_id").push(" = ").bind(tenant_id).push(" AND ");
        } else if table == "tenants" {
            q.col(table, "id").push(" = ").bind(tenant_id).push(" AND ");
        }
        q.push("(");
        let mut first = true;
        for c in &text {
            for n in &needles {
                if !first {
                    q.push(" OR ");
                }
                first = false;
                q.push("LOWER(CAST(").col(table, &c.name).push(" AS TEXT)) LIKE LOWER(");
                q.bind(pattern(n)).push(") ESCAPE '\\'");
            }
        }
        q.push(")");
        let rows = conn.query_all_raw(q.statement()).await?;
        if rows.is_empty() {
            continue;
        }
        let kept_ids = kept.get(table.as_str());
        let mut per_column: Vec<(u64, u64)> = vec![(0, 0); text.len()];
        for r in &rows {
            let is_kept = has("id")
                && kept_ids.is_some_and(|ids| row_id(r, "k").is_some_and(|k| ids.contains(&k)));
            for (i, _) in text.iter().enumerate() {
                let v: Option<String> = r.try_get("", &format!("v{i}")).ok().flatten();
                let Some(v) = v else { continue };
                let v = v.to_lowercase();
                if folded.iter().any(|n| v.contains(n.as_str())) {
                    per_column[i].0 += 1;
                    if is_kept {
                        per_column[i].1 += 1;
                    }
                }
            }
        }
        let organisation = registry::table(table).is_some_and(|t| !t.is_about_people());
        for (i, (n, k)) in per_column.into_iter().enumerate() {
            if n > 0 {
                result.hits.push(Hit {
                    table: table.clone(),
                    column: text[i].name.clone(),
                    rows: n,
                    kept_rows: k,
                    organisation,
                });
            }
        }
    }
    result.passed = result.hits.iter().all(|h| h.leftover_rows() == 0);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn wildcards_in_values_are_escaped() {
        assert_eq!(pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
        assert_eq!(pattern("Léa Martin"), "%Léa Martin%");
    }
}
