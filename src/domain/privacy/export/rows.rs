//! Reads the rows about one person from one planned table, a page at a time, following the
//! registry's ownership: a row is about the subject when one of its `Owner` columns holds the
//! subject's id, or one of its `OwnerVia` columns points at a row of that table which is about
//! the subject (recursively: an order line through its order, a document through its
//! application). Every page is one query ordered by the primary key and resumed after the last
//! key read, so memory holds one page whatever the person's history.
//!
//! Values come out as JSON. A person reference that is not the subject becomes
//! `{"displayName": …}`, the public name the catalogue shows for instructors (read in one
//! query per page, and remembered), so the
//! export carries nobody else's id, e-mail or name (GDPR art. 20(4)).

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement, Value};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::plan::{Kind, Role, TablePlan, quote_ident};
use crate::domain::{Services, catalog};
use crate::error::{AppError, AppResult};
use crate::policy::registry::{self, Holds, Table};

/// Rows read per query.
pub const PAGE: u64 = 500;
/// Deepest `OwnerVia` chain followed (the registry has two levels; a cycle would be a bug).
const MAX_DEPTH: usize = 4;

/// Bound parameters of one statement, numbered for the backend (`$n` or `?n`).
pub(crate) struct Binds {
    pub(crate) backend: DatabaseBackend,
    pub(crate) values: Vec<Value>,
}

impl Binds {
    pub(crate) fn new(backend: DatabaseBackend) -> Self {
        Binds { backend, values: Vec::new() }
    }

    pub(crate) fn push(&mut self, v: Value) -> String {
        self.values.push(v);
        match self.backend {
            DatabaseBackend::Sqlite => format!("?{}", self.values.len()),
            _ => format!("${}", self.values.len()),
        }
    }
}

/// The condition "this row of `table` (as `alias`) is about the subject"; `subject` is the
/// placeholder of the subject's id.
fn owned(table: &Table, alias: &str, subject: &str, depth: usize) -> AppResult<String> {
    if depth > MAX_DEPTH {
        return Err(AppError::internal("planning an export", "ownership chain too deep"));
    }
    let mut parts = Vec::new();
    for c in table.owners() {
        let col = format!("{alias}.{}", quote_ident(c.name));
        match c.holds {
            Holds::Owner => parts.push(format!("{col} = {subject}")),
            Holds::OwnerVia { table: via } => {
                let target = registry::table(via).ok_or_else(|| {
                    AppError::internal("planning an export", format!("unknown table {via}"))
                })?;
                let inner = format!("o{depth}");
                parts.push(format!(
                    "{col} IN (SELECT {inner}.\"id\" FROM {} {inner} WHERE {})",
                    quote_ident(via),
                    owned(target, &inner, subject, depth + 1)?
                ));
            }
            // Found by hashing an address again, never exported.
            _ => {}
        }
    }
    if parts.is_empty() {
        return Ok("1 = 0".into());
    }
    Ok(format!("({})", parts.join(" OR ")))
}

/// A database value as it is bound again (the key of the last row read).
pub(crate) fn bind_value(kind: Kind, v: &Json) -> Value {
    match (kind, v) {
        (Kind::Uuid, Json::String(s)) => Value::from(Uuid::parse_str(s).unwrap_or_default()),
        (Kind::Timestamp, Json::String(s)) => {
            Value::from(s.parse::<DateTime<Utc>>().unwrap_or_default())
        }
        (Kind::Int, Json::Number(n)) => Value::from(n.as_i64().unwrap_or_default()),
        (_, Json::String(s)) => Value::from(s.clone()),
        (_, other) => Value::from(other.to_string()),
    }
}

/// Reads one column of a row as JSON (null for NULL).
pub(crate) fn read(row: &QueryResult, name: &str, kind: Kind) -> AppResult<Json> {
    let v = match kind {
        Kind::Uuid => row.try_get::<Option<Uuid>>("", name)?.map(|u| json!(u.to_string())),
        Kind::Timestamp => row.try_get::<Option<DateTime<Utc>>>("", name)?.map(|t| json!(t)),
        Kind::Date => row.try_get::<Option<NaiveDate>>("", name)?.map(|d| json!(d.to_string())),
        // PostgreSQL tells `integer` from `bigint`; SQLite has one integer type.
        Kind::Int => match row.try_get::<Option<i64>>("", name) {
            Ok(n) => n.map(|n| json!(n)),
            Err(_) => row.try_get::<Option<i32>>("", name)?.map(|n| json!(n)),
        },
        Kind::Float => row.try_get::<Option<f64>>("", name)?.map(|n| json!(n)),
        Kind::Bool => row.try_get::<Option<bool>>("", name)?.map(|b| json!(b)),
        Kind::Json => row.try_get::<Option<Json>>("", name)?,
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>>("", name)?
            .map(|b| json!(base64::engine::general_purpose::STANDARD.encode(b))),
        Kind::Text => row.try_get::<Option<String>>("", name)?.map(Json::String),
    };
    Ok(v.unwrap_or(Json::Null))
}

/// Which rows a [`Cursor`] reads.
#[derive(Clone, Copy, Debug)]
enum Scope<'p> {
    /// The rows about one person, other people shown by display name.
    Subject(Uuid),
    /// Every row of the tenant, as stored (the operator's export of a whole tenant). A table
    /// without a tenant column is reached through `(column, parent)`: its rows whose `column`
    /// points at a row of the tenant in `parent`.
    Tenant(Option<(&'p str, &'p str)>),
}

/// Reads a table's rows about one subject (or of a whole tenant), page after page.
pub struct Cursor<'p> {
    plan: &'p TablePlan,
    tenant_id: Uuid,
    scope: Scope<'p>,
    after: Option<Vec<Json>>,
    done: bool,
    /// Display names of the other people met so far.
    names: HashMap<Uuid, Option<String>>,
}

impl<'p> Cursor<'p> {
    pub fn new(plan: &'p TablePlan, tenant_id: Uuid, subject: Uuid) -> Self {
        let scope = Scope::Subject(subject);
        Cursor { plan, tenant_id, scope, after: None, done: false, names: HashMap::new() }
    }

    /// Every row of the tenant in the table, person references as stored; `via` reaches a
    /// table without a tenant column through a parent that has one.
    pub fn of_tenant(
        plan: &'p TablePlan,
        tenant_id: Uuid,
        via: Option<(&'p str, &'p str)>,
    ) -> Self {
        let scope = Scope::Tenant(via);
        Cursor { plan, tenant_id, scope, after: None, done: false, names: HashMap::new() }
    }

    /// The next page of rows (each a JSON object in column order), or `None` after the last,
    /// read through `conn` (the export's read transaction: one connection, one snapshot).
    pub async fn next_page<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        services: &Services,
    ) -> AppResult<Option<Vec<Map<String, Json>>>> {
        if self.done {
            return Ok(None);
        }
        let plan = self.plan;
        let mut b = Binds { backend: conn.get_database_backend(), values: Vec::new() };
        let mut conditions = Vec::new();
        if let Scope::Subject(subject) = self.scope {
            let subject = b.push(Value::from(subject));
            conditions.push(owned(plan.table, "t", &subject, 0)?);
        }
        let tenant = self.tenant_id;
        match self.scope {
            _ if plan.tenant_scoped => {
                conditions.push(format!("t.\"tenant_id\" = {}", b.push(Value::from(tenant))));
            }
            Scope::Tenant(Some((column, parent))) => conditions.push(format!(
                "t.{} IN (SELECT p.\"id\" FROM {} p WHERE p.\"tenant_id\" = {})",
                quote_ident(column),
                quote_ident(parent),
                b.push(Value::from(tenant))
            )),
            Scope::Tenant(None) => conditions.push("1 = 0".into()),
            // Reached through an owner chain whose tables are scoped.
            Scope::Subject(_) => {}
        }
        let keys: Vec<String> =
            plan.key.iter().map(|(n, _)| format!("t.{}", quote_ident(n))).collect();
        if let Some(after) = &self.after {
            let values: Vec<String> = plan
                .key
                .iter()
                .zip(after)
                .map(|((_, kind), v)| b.push(bind_value(*kind, v)))
                .collect();
            conditions.push(format!("({}) > ({})", keys.join(", "), values.join(", ")));
        }
        // Key columns are read too (they may be secrets or the tenant, never written out).
        let mut select: Vec<String> =
            plan.columns.iter().map(|c| format!("t.{}", quote_ident(&c.name))).collect();
        for (i, k) in keys.iter().enumerate() {
            select.push(format!("{k} AS \"__key{i}\""));
        }
        let sql = format!(
            "SELECT {} FROM {} t WHERE {} ORDER BY {} LIMIT {PAGE}",
            select.join(", "),
            quote_ident(plan.table.name),
            conditions.join(" AND "),
            keys.join(", "),
        );
        let rows =
            conn.query_all_raw(Statement::from_sql_and_values(b.backend, sql, b.values)).await?;
        if (rows.len() as u64) < PAGE {
            self.done = true;
        }
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.after = Some(
            plan.key
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| read(last, &format!("__key{i}"), *kind))
                .collect::<AppResult<_>>()?,
        );
        let Scope::Subject(subject) = self.scope else {
            return rows
                .iter()
                .map(|row| {
                    let mut obj = Map::new();
                    for c in &plan.columns {
                        obj.insert(c.name.clone(), read(row, &c.name, c.kind)?);
                    }
                    Ok(obj)
                })
                .collect::<AppResult<_>>()
                .map(Some);
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut others = Vec::new();
        for row in &rows {
            let mut obj = Map::new();
            for c in &plan.columns {
                let v = read(row, &c.name, c.kind)?;
                if c.role == Role::Person
                    && let Some(id) = v.as_str().and_then(|s| Uuid::parse_str(s).ok())
                    && id != subject
                    && !self.names.contains_key(&id)
                {
                    others.push(id);
                }
                obj.insert(c.name.clone(), v);
            }
            out.push(obj);
        }
        self.learn_names(services, others).await?;
        for obj in &mut out {
            for c in plan.columns.iter().filter(|c| c.role == Role::Person) {
                let Some(v) = obj.get_mut(&c.name) else { continue };
                let Some(id) = v.as_str().and_then(|s| Uuid::parse_str(s).ok()) else { continue };
                if id != subject {
                    let name = self.names.get(&id).cloned().flatten();
                    *v = json!({ "displayName": name });
                }
            }
        }
        Ok(Some(out))
    }

    /// Reads the public names of people not met before (one query): their display name, else
    /// first name and initial, as the catalogue shows instructors.
    async fn learn_names(&mut self, services: &Services, ids: Vec<Uuid>) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let found = catalog::instructor_names(services, self.tenant_id, &ids).await?;
        for id in ids {
            self.names.insert(id, found.get(&id).cloned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_about_the_subject_through_its_owner_columns_and_chains() {
        let lines = registry::table("order_lines").expect("order_lines is registered");
        let sql = owned(lines, "t", "?1", 0).expect("a condition");
        assert!(
            sql.contains("t.\"order_id\" IN (SELECT o0.\"id\" FROM \"orders\" o0 WHERE"),
            "{sql}"
        );
        assert!(sql.contains("o0.\"buyer_id\" = ?1 OR o0.\"learner_id\" = ?1"), "{sql}");
        assert!(
            sql.contains("t.\"enrollment_id\" IN (SELECT o0.\"id\" FROM \"enrollments\" o0"),
            "{sql}"
        );
        let users = registry::table("users").expect("users");
        assert_eq!(owned(users, "t", "?1", 0).expect("a condition"), "(t.\"id\" = ?1)");
    }
}
