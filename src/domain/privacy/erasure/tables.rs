//! Erasing one registered table, as its registry entry says, inside the caller's transaction:
//!
//! - `Delete`: the rows about the person go;
//! - `Anonymise`: every personal column of those rows is cleared (null, or empty text where
//!   null is not allowed), except what [`rules`](super::rules) keeps or sets;
//! - `Pseudonymise`: the rows' references to the person become a pseudonym, through the
//!   [`gate`](super::gate);
//! - `Keep(basis)`: the rows the obligation covers stay, detached (every nullable owner
//!   reference to the person cleared), their ids and the date they are kept until recorded;
//!   the person's rows it does not cover go, when they are about nobody else;
//! - `NotApplicable`: nothing about the person.
//!
//! Then, in every table, references to the person as *another* person (a staff member who
//! acted, an instructor) are set to null, or counted where the column cannot be null (they
//! then point to the anonymised account).

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use super::plan::{Person, about, only_about};
use super::report::TableDone;
use super::scan::row_id;
use super::sql::Sql;
use super::{gate, rules};
use crate::entities::enums::ErasureOutcome;
use crate::error::{AppError, AppResult};
use crate::policy::Actor;
use crate::policy::registry::{Erasure, Holds, Table};

/// What a table's erasure needs besides the person.
pub(super) struct Context<'a> {
    pub actor: &'a Actor,
    pub request: uuid::Uuid,
    pub pseudonym: uuid::Uuid,
    pub now: DateTime<Utc>,
}

/// Erases `t` for `p` in `conn`'s transaction.
pub(super) async fn erase_table<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    p: &Person<'_>,
    cx: &Context<'_>,
) -> AppResult<TableDone> {
    let mut done = TableDone::default();
    match t.erasure {
        Erasure::Delete => {
            let mut q = Sql::new(conn.get_database_backend());
            q.push("DELETE FROM ").ident(t.name).push(" WHERE ");
            about(&mut q, t, p)?;
            done.rows = conn.execute_raw(q.statement()).await?.rows_affected();
            done.outcome = Some(ErasureOutcome::Erased);
        }
        Erasure::Anonymise => {
            done.rows = anonymise(conn, t, p).await?;
            done.outcome = Some(ErasureOutcome::Anonymised);
        }
        Erasure::Pseudonymise => {
            done.rows = gate::pseudonymise(
                conn,
                cx.actor,
                t,
                p.tenant_id,
                cx.request,
                p.id,
                cx.pseudonym,
                cx.now,
            )
            .await?;
            done.outcome = Some(ErasureOutcome::Pseudonymised);
        }
        Erasure::Keep(basis) => {
            keep(conn, t, p, cx.now, &mut done).await?;
            done.basis = Some(basis);
            done.outcome =
                Some(if done.rows > 0 { ErasureOutcome::Kept } else { ErasureOutcome::Erased });
        }
        Erasure::NotApplicable => {}
    }
    if done.rows == 0 && done.released == 0 {
        done.outcome = Some(ErasureOutcome::NothingHeld);
        done.basis = None;
    }
    if t.erasure != Erasure::Pseudonymise {
        clear_other_references(conn, t, p, &mut done).await?;
    }
    Ok(done)
}

/// Clears the personal columns of the rows about the person.
async fn anonymise<C: ConnectionTrait>(conn: &C, t: &Table, p: &Person<'_>) -> AppResult<u64> {
    let backend = conn.get_database_backend();
    let mut q = Sql::new(backend);
    q.push("UPDATE ").ident(t.name).push(" SET ");
    let mut any = false;
    for c in t.columns {
        if !matches!(c.holds, Holds::Data(_) | Holds::Secret)
            || rules::kept_by_anonymisation(t.name, c.name)
        {
            continue;
        }
        let info = p.column(t.name, c.name).ok_or_else(|| {
            AppError::internal("erasing", format!("column {}.{} does not exist", t.name, c.name))
        })?;
        if any {
            q.push(", ");
        }
        any = true;
        q.ident(c.name).push(" = ");
        if let Some(v) = rules::set_by_anonymisation(t.name, c.name) {
            q.bind(v);
        } else if info.nullable {
            q.push("NULL");
        } else if info.text {
            q.bind(String::new());
        } else {
            return Err(AppError::internal(
                "erasing",
                format!(
                    "{}.{} can be neither cleared nor emptied: decide in erasure::rules",
                    t.name, c.name
                ),
            ));
        }
    }
    if !any {
        return count(conn, t, p).await;
    }
    q.push(" WHERE ");
    about(&mut q, t, p)?;
    Ok(conn.execute_raw(q.statement()).await?.rows_affected())
}

async fn count<C: ConnectionTrait>(conn: &C, t: &Table, p: &Person<'_>) -> AppResult<u64> {
    let mut q = Sql::new(conn.get_database_backend());
    q.push("SELECT COUNT(*) AS n FROM ").ident(t.name).push(" WHERE ");
    about(&mut q, t, p)?;
    let n: i64 = match conn.query_one_raw(q.statement()).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Keeps the rows the obligation covers (detached), deletes the person's others.
async fn keep<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    p: &Person<'_>,
    now: DateTime<Utc>,
    done: &mut TableDone,
) -> AppResult<()> {
    let backend = conn.get_database_backend();
    if let Some(covered) = rules::covered(t.name) {
        let mut q = Sql::new(backend);
        q.push("DELETE FROM ").ident(t.name).push(" WHERE ");
        about(&mut q, t, p)?;
        q.push(" AND NOT (").push(covered).push(") AND ");
        only_about(&mut q, t, p)?;
        done.released = conn.execute_raw(q.statement()).await?.rows_affected();
    }
    if p.has_column(t.name, "id") {
        let mut q = Sql::new(backend);
        q.push("SELECT ").col(t.name, "id").push(" AS k FROM ").ident(t.name).push(" WHERE ");
        about(&mut q, t, p)?;
        let ids: Vec<String> = conn
            .query_all_raw(q.statement())
            .await?
            .iter()
            .filter_map(|r| row_id(r, "k"))
            .collect();
        done.rows = ids.len() as u64;
        done.kept_ids = Some(ids);
    } else {
        done.rows = count(conn, t, p).await?;
    }
    if done.rows > 0 {
        done.kept_until = kept_until(conn, t, p, now).await?;
    }
    // Detached: the owner references to the person that can be cleared are.
    clear_references(conn, t, p, Holds::Owner, done).await
}

/// Sets `t.column = NULL` where it names the person (`clear`), or counts those rows; returns
/// the rows.
async fn references<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    column: &str,
    p: &Person<'_>,
    clear: bool,
) -> AppResult<u64> {
    let mut q = Sql::new(conn.get_database_backend());
    if clear {
        q.push("UPDATE ").ident(t.name).push(" SET ").ident(column).push(" = NULL WHERE ");
    } else {
        q.push("SELECT COUNT(*) AS n FROM ").ident(t.name).push(" WHERE ");
    }
    if p.has_column(t.name, "tenant_id") {
        q.col(t.name, "tenant_id").push(" = ").bind(p.tenant_id).push(" AND ");
    }
    q.col(t.name, column).push(" = ").bind(p.id);
    if clear {
        return Ok(conn.execute_raw(q.statement()).await?.rows_affected());
    }
    let n: i64 = match conn.query_one_raw(q.statement()).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// References to the person as another person: cleared where the column may be null.
async fn clear_other_references<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    p: &Person<'_>,
    done: &mut TableDone,
) -> AppResult<()> {
    clear_references(conn, t, p, Holds::OtherPerson, done).await
}

/// The person's references in `t`'s columns that hold `holds`: cleared where the column may be
/// null (counted in `references_cleared`), counted as kept where it may not.
async fn clear_references<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    p: &Person<'_>,
    holds: Holds,
    done: &mut TableDone,
) -> AppResult<()> {
    for c in t.columns.iter().filter(|c| c.holds == holds) {
        let nullable = p.column(t.name, c.name).is_some_and(|i| i.nullable);
        let n = references(conn, t, c.name, p, nullable).await?;
        if nullable {
            done.references_cleared += n;
        } else {
            done.references_kept += n;
        }
    }
    Ok(())
}

/// The last day any kept row is kept: its clock (or the erasure date) plus the table's
/// retention; none for a retention without end.
async fn kept_until<C: ConnectionTrait>(
    conn: &C,
    t: &Table,
    p: &Person<'_>,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    let Some(days) = t.retention.default_days() else { return Ok(None) };
    let since = match rules::clock(t.name) {
        Some(expr) => {
            let mut q = Sql::new(conn.get_database_backend());
            q.push("SELECT MAX(").push(expr).push(") AS m FROM ").ident(t.name).push(" WHERE ");
            about(&mut q, t, p)?;
            match conn.query_one_raw(q.statement()).await? {
                Some(r) => timestamp(&r, "m"),
                None => None,
            }
        }
        None => None,
    };
    // Without a clock, from the erasure date: later than the true start, so never too soon.
    Ok(Some(since.unwrap_or(now) + Duration::days(days)))
}

/// A timestamp read from an expression (SQLite returns the stored text).
fn timestamp(r: &sea_orm::QueryResult, col: &str) -> Option<DateTime<Utc>> {
    if let Ok(v) = r.try_get::<Option<DateTime<Utc>>>("", col) {
        return v;
    }
    let text: String = r.try_get::<Option<String>>("", col).ok().flatten()?;
    DateTime::parse_from_rfc3339(&text)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f%:z")
                .map(|d| d.and_utc())
        })
        .or_else(|_| {
            DateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f%:z")
                .map(|d| d.with_timezone(&Utc))
        })
        .ok()
}
