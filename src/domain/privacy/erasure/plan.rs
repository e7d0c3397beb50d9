//! What erasure reads from the registry: the order the tables are processed in, and for each
//! table the SQL condition "this row is about the person" (its owner columns, followed through
//! the tables it is owned via, and the keyed hashes of its hashed owner columns).
//!
//! Nothing here is a list of tables: a table added to the registry with its decision is found,
//! ordered and matched like the others. The only names written here are the account table
//! (processed last, because it holds the values the final scan looks for) and, in
//! [`hashes_of`], how each hashed owner column is computed.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::sql::Sql;
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::privacy::schema::ColumnInfo;
use crate::domain::privacy::suppression;
use crate::error::{AppError, AppResult};
use crate::policy::registry::{self, Holds, TOOL_TABLES, Table};

/// The account table: anonymised last, in the transaction of the final scan.
pub(super) const ACCOUNT_TABLE: &str = "users";

/// The person being erased, and what the statements need to find their rows.
pub(super) struct Person<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    /// The keyed hashes standing for the person, per table with a hashed owner column.
    pub hashes: HashMap<&'static str, Vec<String>>,
    /// The live schema (column types and nullability).
    pub schema: &'a BTreeMap<String, Vec<ColumnInfo>>,
}

impl Person<'_> {
    pub(super) fn column(&self, table: &str, column: &str) -> Option<&ColumnInfo> {
        self.schema.get(table)?.iter().find(|c| c.name == column)
    }

    pub(super) fn has_column(&self, table: &str, column: &str) -> bool {
        self.column(table, column).is_some()
    }

    /// Appends `"t"."tenant_id" = <tenant> AND ` when the table has a tenant column.
    fn tenant_filter(&self, q: &mut Sql, table: &str) {
        if self.has_column(table, "tenant_id") {
            q.col(table, "tenant_id").push(" = ").bind(self.tenant_id).push(" AND ");
        }
    }
}

/// The keyed hashes that stand for a person in the tables that hold hashes instead of a
/// reference: log-in throttling (their e-mail, and their id for the password check) and the
/// suppression list. A hashed owner column of another table is refused until its rule is here.
pub(super) fn hashes_of(
    services: &Services,
    tenant_id: Uuid,
    person: Uuid,
    email: Option<&str>,
) -> AppResult<HashMap<&'static str, Vec<String>>> {
    let mut out = HashMap::new();
    for t in registry::TABLES {
        if !t.columns.iter().any(|c| c.holds == Holds::OwnerHash) {
            continue;
        }
        let hashes = match t.name {
            "login_failures" => {
                let mut h = vec![accounts::throttle_key(
                    services,
                    tenant_id,
                    "password",
                    &person.to_string(),
                )];
                if let Some(e) = email {
                    let normalised = e.trim().to_lowercase();
                    h.push(accounts::throttle_key(services, tenant_id, "email", &normalised));
                }
                h
            }
            "marketing_suppressions" | "newsletter_subscriptions" | "contact_requests" => {
                email.map(|e| suppression::email_hash(services, tenant_id, e)).into_iter().collect()
            }
            other => {
                return Err(AppError::internal(
                    "erasing",
                    format!("no rule computes the hashed owner column of table {other}"),
                ));
            }
        };
        out.insert(t.name, hashes);
    }
    Ok(out)
}

/// Appends the condition "this row of `t` is about the person": the tenant, then any owner
/// column naming the person, any row owned through a row about the person, any hash standing
/// for them. A table without owner columns matches nothing.
pub(super) fn about(q: &mut Sql, t: &Table, p: &Person<'_>) -> AppResult<()> {
    q.push("(");
    p.tenant_filter(q, t.name);
    q.push("(");
    let mut first = true;
    for c in t.owners() {
        if !first {
            q.push(" OR ");
        }
        first = false;
        match c.holds {
            Holds::Owner => {
                q.col(t.name, c.name).push(" = ").bind(p.id);
            }
            Holds::OwnerVia { table } => {
                let via = via_table(t, table, p)?;
                q.col(t.name, c.name).push(" IN (SELECT ").col(via.name, "id").push(" FROM ");
                q.ident(via.name).push(" WHERE ");
                about(q, via, p)?;
                q.push(")");
            }
            Holds::OwnerHash => match p.hashes.get(t.name).filter(|h| !h.is_empty()) {
                Some(hashes) => {
                    q.col(t.name, c.name).push(" IN (");
                    for (i, h) in hashes.iter().enumerate() {
                        if i > 0 {
                            q.push(", ");
                        }
                        q.bind(h.clone());
                    }
                    q.push(")");
                }
                None => {
                    q.push("1 = 0");
                }
            },
            Holds::OtherPerson | Holds::Data(_) | Holds::Secret => {}
        }
    }
    if first {
        q.push("1 = 0");
    }
    q.push("))");
    Ok(())
}

/// Appends the condition "this row of `t` is about the person and nobody else": every owner
/// column names the person or nobody, and every row it is owned through is so too (a kept
/// table's rows that no obligation covers are deleted only then; a row shared with another
/// person, such as a guardian's order for their ward, is detached instead).
pub(super) fn only_about(q: &mut Sql, t: &Table, p: &Person<'_>) -> AppResult<()> {
    q.push("(1 = 1");
    for c in t.owners() {
        match c.holds {
            Holds::Owner => {
                q.push(" AND (").col(t.name, c.name).push(" IS NULL OR ");
                q.col(t.name, c.name).push(" = ").bind(p.id).push(")");
            }
            Holds::OwnerVia { table } => {
                let via = via_table(t, table, p)?;
                q.push(" AND (").col(t.name, c.name).push(" IS NULL OR ");
                q.col(t.name, c.name).push(" IN (SELECT ").col(via.name, "id").push(" FROM ");
                q.ident(via.name).push(" WHERE ");
                only_about(q, via, p)?;
                q.push("))");
            }
            Holds::OwnerHash | Holds::OtherPerson | Holds::Data(_) | Holds::Secret => {}
        }
    }
    q.push(")");
    Ok(())
}

fn via_table(t: &Table, via: &str, p: &Person<'_>) -> AppResult<&'static Table> {
    let target = registry::table(via).filter(|v| p.has_column(v.name, "id"));
    target.ok_or_else(|| {
        AppError::internal(
            "erasing",
            format!("table {} is owned via {via}, which is not registered with an id", t.name),
        )
    })
}

/// Every registered table in the order erasure processes them: a table owned through another
/// comes before that one (its rows are found through the other's owner columns, which
/// processing the other may clear), and the account table comes last (it holds the values the
/// final scan looks for). Tables of the migration tool are left out.
pub(super) fn order() -> Vec<&'static Table> {
    let owns_via = |u: &Table, t: &Table| {
        u.columns.iter().any(|c| c.holds == Holds::OwnerVia { table: t.name })
    };
    let mut rest: Vec<&'static Table> = registry::TABLES
        .iter()
        .filter(|t| t.name != ACCOUNT_TABLE && !TOOL_TABLES.contains(&t.name))
        .collect();
    let mut out = Vec::with_capacity(rest.len() + 1);
    while !rest.is_empty() {
        // The first table no remaining table is owned through (a cycle, which the registry
        // never has, would take the first).
        let next = rest
            .iter()
            .position(|t| !rest.iter().any(|u| u.name != t.name && owns_via(u, t)))
            .unwrap_or(0);
        out.push(rest.remove(next));
    }
    out.extend(registry::table(ACCOUNT_TABLE));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_comes_once_owned_tables_before_their_owners_and_the_account_last() {
        let order = order();
        assert_eq!(order.len(), registry::TABLES.len());
        assert_eq!(order.last().map(|t| t.name), Some(ACCOUNT_TABLE));
        let pos = |name: &str| order.iter().position(|t| t.name == name);
        for t in registry::TABLES {
            for c in t.columns {
                if let Holds::OwnerVia { table } = c.holds {
                    assert!(pos(t.name) < pos(table), "{} must come before {table}", t.name);
                }
            }
        }
    }
}
