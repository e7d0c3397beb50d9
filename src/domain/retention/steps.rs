//! The sweep's steps: for each table a retention rule touches, which rows have expired (one SQL
//! condition, the same for counting and for sweeping) and how one bounded batch of them goes.
//!
//! Conditions bind `$1` = tenant and `$2` = cut-off (numbered parameters work on PostgreSQL
//! and, through sqlx, on SQLite). A batch runs in its own transaction: it first inserts the
//! [`retention_gate`] row (on SQLite this first write takes the database's write lock, so the
//! rows selected next cannot change before they are deleted; on PostgreSQL the selection locks
//! them with `FOR UPDATE SKIP LOCKED`), selects at most `limit` keys, deletes (or anonymises)
//! those rows and their dependents, removes the gate row, writes one audit entry and commits.
//! A row that is gone no longer matches, so running a batch again, or two sweeps at once, never
//! removes a row twice.
//!
//! Equal-opportunity applications go through `equal_opportunity::destroy` (blobs and keys
//! too), one application at a time, each in its own transaction with its own audit entry.
//!
//! [`retention_gate`]: crate::entities::retention_gate
//!
//! One job, one file: each table's expiry condition and batch, side by side, so that counting
//! and sweeping cannot disagree.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ConnectionTrait, DatabaseBackend, EntityTrait, Iterable,
    QueryFilter, Statement, TransactionTrait, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::consent::Purpose;
use crate::domain::equal_opportunity;
use crate::entities::enums::{
    AccountStatus, EnrollmentStatus, OutboxStatus, RequestStatus, StoredRole,
};
use crate::entities::{eo_application, retention_gate};
use crate::error::AppResult;
use crate::policy::Actor;
use crate::policy::retention::{Action, RuleId};

/// How a row of a step's table is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Uuid(&'static str),
    Text(&'static str),
    /// Two uuid columns (attendance: live class and learner).
    Pair(&'static str, &'static str),
}

/// A table swept along with a step's rows: `DELETE FROM table WHERE column IN (keys)`, or with
/// `detach`, `UPDATE table SET column = NULL WHERE column IN (keys)` (a reference kept by an
/// accounting record). With `through: Some((parent, parent_column))`, the rows whose `column`
/// names a row of `parent` that names the keys (`column IN (SELECT id FROM parent WHERE
/// parent_column IN (keys))`): the lines of an erasure report of a request. Dependents are
/// swept in the order listed, before the step's own rows.
#[derive(Clone, Copy, Debug)]
struct Dependent {
    table: &'static str,
    column: &'static str,
    detach: bool,
    through: Option<(&'static str, &'static str)>,
}

impl Dependent {
    const fn of(table: &'static str, column: &'static str) -> Dependent {
        Dependent { table, column, detach: false, through: None }
    }

    /// The condition on this table's rows, given the condition `inner` on the keys' column.
    fn filter(&self, inner: &str) -> String {
        match self.through {
            None => format!("{} {inner}", self.column),
            Some((parent, parent_column)) => format!(
                "{} IN (SELECT id FROM {parent} WHERE {parent_column} {inner})",
                self.column
            ),
        }
    }
}

/// One table of one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    RecordingRefs,
    Applications,
    Prospects,
    ContactRequests,
    Enrollments,
    Attendance,
    Invoices,
    Orders,
    PaymentEvents,
    CookieConsents,
    RefreshTokens,
    Sessions,
    PasswordTokens,
    LoginFailures,
    AuditLog,
    Outbox,
    Requests,
}

/// A stored value of one of the vocabularies of `entities::enums`, as an SQL string literal
/// (the statements here are raw SQL; the values come from the enums, never from input).
fn lit<E: ActiveEnum<Value = String>>(v: E) -> String {
    format!("'{}'", v.to_value().replace('\'', "''"))
}

/// An enrollment `e` whose contract ended before `$2`: completed or cancelled before it, or
/// still active in a session that ended before it.
fn enrollment_ended() -> String {
    format!(
        "((e.status = {completed} AND e.completed_at IS NOT NULL AND e.completed_at < $2) \
         OR (e.status = {cancelled} AND e.cancelled_at IS NOT NULL AND e.cancelled_at < $2) \
         OR (e.status = {active} AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = e.session_id AND s.ends_at < $2)))",
        completed = lit(EnrollmentStatus::Completed),
        cancelled = lit(EnrollmentStatus::Cancelled),
        active = lit(EnrollmentStatus::Active),
    )
}

/// A session `alias` that expired or was revoked before `$2` (never NULL, so `NOT` is safe).
fn session_ended(alias: &str) -> String {
    format!(
        "({alias}.expires_at < $2 OR ({alias}.revoked_at IS NOT NULL AND {alias}.revoked_at < $2))"
    )
}

impl Step {
    /// In order: a step may rely on an earlier one (attendance after enrollments).
    pub const ALL: [Step; 17] = [
        Step::RecordingRefs,
        Step::Applications,
        Step::Prospects,
        Step::ContactRequests,
        Step::Enrollments,
        Step::Attendance,
        Step::Invoices,
        Step::Orders,
        Step::PaymentEvents,
        Step::CookieConsents,
        Step::RefreshTokens,
        Step::Sessions,
        Step::PasswordTokens,
        Step::LoginFailures,
        Step::AuditLog,
        Step::Outbox,
        Step::Requests,
    ];

    pub fn rule(self) -> RuleId {
        match self {
            Step::RecordingRefs => RuleId::Recording,
            Step::Applications => RuleId::EqualOpportunity,
            Step::Prospects => RuleId::Prospect,
            Step::ContactRequests => RuleId::ContactRequests,
            Step::Enrollments | Step::Attendance => RuleId::Contract,
            Step::Invoices | Step::Orders | Step::PaymentEvents => RuleId::Accounting,
            Step::CookieConsents => RuleId::CookieConsent,
            Step::RefreshTokens | Step::Sessions | Step::PasswordTokens => RuleId::Sessions,
            Step::LoginFailures => RuleId::LoginFailures,
            Step::AuditLog => RuleId::AuditLog,
            Step::Outbox => RuleId::Outbox,
            Step::Requests => RuleId::Requests,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Step::RecordingRefs => "live_classes",
            Step::Applications => "eo_applications",
            Step::Prospects => "users",
            Step::ContactRequests => "contact_requests",
            Step::Enrollments => "enrollments",
            Step::Attendance => "live_class_attendance",
            Step::Invoices => "invoices",
            Step::Orders => "orders",
            Step::PaymentEvents => "payment_events",
            Step::CookieConsents => "consent_records",
            Step::RefreshTokens => "refresh_tokens",
            Step::Sessions => "auth_sessions",
            Step::PasswordTokens => "password_tokens",
            Step::LoginFailures => "login_failures",
            Step::AuditLog => "audit_log",
            Step::Outbox => "outbox",
            Step::Requests => "data_subject_requests",
        }
    }

    pub fn action(self) -> Action {
        self.rule().rule().action
    }

    /// Whether the table is append-only and its rows go through the retention gate.
    pub fn gated(self) -> bool {
        matches!(self, Step::CookieConsents | Step::AuditLog)
    }

    /// `FROM` clause and its alias.
    fn from(self) -> String {
        format!("{} {}", self.table(), self.alias())
    }

    fn alias(self) -> &'static str {
        match self {
            Step::Prospects => "u",
            Step::Enrollments => "e",
            Step::Attendance => "a",
            Step::Orders => "o",
            Step::RefreshTokens => "t",
            _ => "x",
        }
    }

    /// The clock column to walk the expired rows by, where an index `(tenant_id, column)`
    /// exists: the batch's selection then follows that index and stops after `limit` rows,
    /// instead of scanning the table past the rows earlier batches left dead.
    fn order(self) -> Option<&'static str> {
        match self {
            Step::Applications | Step::ContactRequests => Some("last_contact_at"),
            Step::Invoices => Some("issued_at"),
            Step::Orders => Some("created_at"),
            Step::CookieConsents => Some("recorded_at"),
            Step::Sessions | Step::PasswordTokens => Some("expires_at"),
            Step::LoginFailures | Step::AuditLog => Some("at"),
            Step::Outbox => Some("sent_at"),
            _ => None,
        }
    }

    fn key(self) -> Key {
        match self {
            Step::Attendance => Key::Pair("live_class_id", "learner_id"),
            Step::PaymentEvents => Key::Text("id"),
            _ => Key::Uuid("id"),
        }
    }

    /// The rows of tenant `$1` that expired before `$2`.
    fn condition(self) -> String {
        match self {
            Step::RecordingRefs => {
                "x.tenant_id = $1 AND x.recording_ref IS NOT NULL AND x.ends_at < $2".into()
            }
            Step::Applications | Step::ContactRequests => {
                "x.tenant_id = $1 AND x.last_contact_at < $2".into()
            }
            Step::Prospects => format!(
                "u.tenant_id = $1 AND u.status <> {erased} \
                 AND COALESCE(u.last_contact_at, u.created_at) < $2 \
                 AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.learner_id = u.id) \
                 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = u.id OR o.learner_id = u.id) \
                 AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id \
                                 AND r.role NOT IN ({learner}, {guardian}))",
                erased = lit(AccountStatus::Erased),
                learner = lit(StoredRole::Learner),
                guardian = lit(StoredRole::Guardian),
            ),
            Step::Enrollments => format!("e.tenant_id = $1 AND {}", enrollment_ended()),
            // Attendance at a class that ended before the cut-off, of a learner none of whose
            // enrollments in that session is still kept.
            Step::Attendance => format!(
                "a.tenant_id = $1 AND EXISTS (SELECT 1 FROM live_classes lc WHERE lc.id = a.live_class_id \
                 AND lc.ends_at < $2 AND NOT EXISTS (SELECT 1 FROM enrollments e \
                 WHERE e.session_id = lc.session_id AND e.learner_id = a.learner_id AND NOT {}))",
                enrollment_ended()
            ),
            Step::Invoices => "x.tenant_id = $1 AND x.issued_at < $2".into(),
            // An order goes once no invoice, credit note or refund of it is younger than the
            // cut-off (whether or not the older ones are already gone).
            Step::Orders => "o.tenant_id = $1 AND o.created_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id AND i.issued_at >= $2) \
                 AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id AND r.created_at >= $2)"
                .into(),
            // Events of an order go with it (the orders step); here, those left without one.
            Step::PaymentEvents => "x.tenant_id = $1 AND x.created_at < $2 AND (x.order_id IS NULL \
                 OR NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = x.order_id))"
                .into(),
            // The purposes whose consent lapses after 13 months (`Purpose::lapses`): the
            // default period, 397 days, is never shorter than 13 months, so no live consent goes.
            Step::CookieConsents => format!(
                "x.tenant_id = $1 AND x.purpose IN ({}) AND x.recorded_at < $2",
                Purpose::iter().filter(|p| p.lapses()).map(lit).collect::<Vec<_>>().join(", ")
            ),
            // Expired tokens of sessions that stay (an expired session takes its tokens along).
            Step::RefreshTokens => format!(
                "t.expires_at < $2 AND EXISTS (SELECT 1 FROM auth_sessions s \
                 WHERE s.id = t.session_id AND s.tenant_id = $1 AND NOT {})",
                session_ended("s")
            ),
            Step::Sessions => format!("x.tenant_id = $1 AND {}", session_ended("x")),
            // A set-password link is spent once used and dead once expired.
            Step::PasswordTokens => {
                "x.tenant_id = $1 AND (x.expires_at < $2 OR x.used_at < $2)".into()
            }
            Step::LoginFailures | Step::AuditLog => "x.tenant_id = $1 AND x.at < $2".into(),
            Step::Outbox => format!(
                "x.tenant_id = $1 AND x.status = {sent} AND x.sent_at IS NOT NULL AND x.sent_at < $2",
                sent = lit(OutboxStatus::Sent),
            ),
            // A closed request, unless it still carries something kept on its own terms: a
            // post-mortem directive (while the account exists), a recorded death, an export
            // waiting to be downloaded (7 days).
            Step::Requests => format!(
                "x.tenant_id = $1 AND x.status IN ({done}, {refused}) \
                 AND x.completed_at IS NOT NULL AND x.completed_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM post_mortem_directives p WHERE p.request_id = x.id) \
                 AND NOT EXISTS (SELECT 1 FROM death_records d WHERE d.request_id = x.id) \
                 AND NOT EXISTS (SELECT 1 FROM data_exports e WHERE e.request_id = x.id)",
                done = lit(RequestStatus::Done),
                refused = lit(RequestStatus::Refused),
            ),
        }
    }

    /// Rows of other tables that go with this step's rows.
    fn dependents(self) -> &'static [Dependent] {
        match self {
            Step::Applications => const { &[Dependent::of("eo_documents", "application_id")] },
            Step::Enrollments => {
                const {
                    &[
                        Dependent::of("lesson_completions", "enrollment_id"),
                        Dependent { detach: true, ..Dependent::of("order_lines", "enrollment_id") },
                    ]
                }
            }
            Step::Orders => {
                const {
                    &[
                        Dependent::of("order_lines", "order_id"),
                        Dependent::of("refunds", "order_id"),
                        Dependent::of("payment_events", "order_id"),
                    ]
                }
            }
            Step::Sessions => const { &[Dependent::of("refresh_tokens", "session_id")] },
            Step::Requests => {
                const {
                    &[
                        Dependent {
                            through: Some(("erasure_reports", "request_id")),
                            ..Dependent::of("erasure_report_tables", "report_id")
                        },
                        Dependent::of("erasure_reports", "request_id"),
                        Dependent::of("data_subject_request_steps", "request_id"),
                    ]
                }
            }
            _ => &[],
        }
    }
}

/// Rows counted or swept, per table.
pub type Counts = Vec<(&'static str, u64)>;

fn statement(backend: DatabaseBackend, sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

fn base_values(tenant: Uuid, cutoff: DateTime<Utc>) -> Vec<Value> {
    vec![tenant.into(), cutoff.into()]
}

async fn count_sql<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> AppResult<u64> {
    let row = conn.query_one_raw(statement(conn.get_database_backend(), sql, values)).await?;
    let n = match row {
        Some(r) => r.try_get::<i64>("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What a step would remove now: its own rows, then each dependent table's.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, retention.step = ?step))]
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    step: Step,
    tenant: Uuid,
    cutoff: DateTime<Utc>,
) -> AppResult<Counts> {
    let (from, cond) = (step.from(), step.condition());
    let mut out = vec![(
        step.table(),
        count_sql(
            conn,
            format!("SELECT COUNT(*) AS n FROM {from} WHERE {cond}"),
            base_values(tenant, cutoff),
        )
        .await?,
    )];
    let Key::Uuid(key) = step.key() else { return Ok(out) };
    for d in step.dependents().iter().filter(|d| !d.detach) {
        let alias = step.alias();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {t} WHERE {f}",
            t = d.table,
            f = d.filter(&format!("IN (SELECT {alias}.{key} FROM {from} WHERE {cond})")),
        );
        out.push((d.table, count_sql(conn, sql, base_values(tenant, cutoff)).await?));
    }
    Ok(out)
}

/// One selected row, by its key.
#[derive(Clone, Debug)]
enum RowKey {
    Uuid(Uuid),
    Text(String),
    Pair(Uuid, Uuid),
}

async fn select_keys<C: ConnectionTrait>(
    conn: &C,
    step: Step,
    tenant: Uuid,
    cutoff: DateTime<Utc>,
    limit: u64,
    lock: bool,
) -> AppResult<Vec<RowKey>> {
    let backend = conn.get_database_backend();
    let alias = step.alias();
    let cols = match step.key() {
        Key::Uuid(k) | Key::Text(k) => format!("{alias}.{k} AS k1"),
        Key::Pair(a, b) => format!("{alias}.{a} AS k1, {alias}.{b} AS k2"),
    };
    let locking =
        if lock && backend == DatabaseBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let order = step.order().map(|c| format!(" ORDER BY {alias}.{c}")).unwrap_or_default();
    let sql = format!(
        "SELECT {cols} FROM {from} WHERE {cond}{order} LIMIT $3{locking}",
        from = step.from(),
        cond = step.condition(),
    );
    let mut values = base_values(tenant, cutoff);
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let rows = conn.query_all_raw(statement(backend, sql, values)).await?;
    rows.into_iter()
        .map(|r| {
            Ok(match step.key() {
                Key::Uuid(_) => RowKey::Uuid(r.try_get("", "k1")?),
                Key::Text(_) => RowKey::Text(r.try_get("", "k1")?),
                Key::Pair(..) => RowKey::Pair(r.try_get("", "k1")?, r.try_get("", "k2")?),
            })
        })
        .collect()
}

/// `key IN ($1, …)` over `keys` (or the dependent's filter on them, [`Dependent::filter`]), or
/// `(a = $1 AND b = $2) OR …` for pairs.
fn key_filter(step: Step, dependent: Option<&Dependent>, keys: &[RowKey]) -> (String, Vec<Value>) {
    let mut values = Vec::with_capacity(keys.len() * 2);
    let mut parts = Vec::with_capacity(keys.len());
    for k in keys {
        match k {
            RowKey::Uuid(u) => {
                values.push((*u).into());
                parts.push(format!("${}", values.len()));
            }
            RowKey::Text(t) => {
                values.push(t.clone().into());
                parts.push(format!("${}", values.len()));
            }
            RowKey::Pair(a, b) => {
                values.push((*a).into());
                values.push((*b).into());
                parts.push(format!("${}", values.len() - 1));
                parts.push(format!("${}", values.len()));
            }
        }
    }
    let sql = match step.key() {
        Key::Pair(a, b) => parts
            .chunks(2)
            .map(|p| format!("({a} = {} AND {b} = {})", p[0], p[1]))
            .collect::<Vec<_>>()
            .join(" OR "),
        Key::Uuid(k) | Key::Text(k) => {
            let list = format!("IN ({})", parts.join(", "));
            match dependent {
                Some(d) => d.filter(&list),
                None => format!("{k} {list}"),
            }
        }
    };
    (sql, values)
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Batch {
    /// Rows of the step's own table removed (or anonymised) by this batch.
    pub rows: u64,
    /// The step's table first, then its dependents.
    pub counts: Counts,
    /// The batch selected as many rows as it could take: there may be more. (A batch that
    /// selected rows another sweep removed first removes fewer, and is still not the last.)
    pub full: bool,
}

/// Sweeps at most `limit` expired rows of `step` in one transaction with its audit entry.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, retention.run = %run_id, retention.step = ?step))]
pub async fn run_batch(
    services: &Services,
    actor: &Actor,
    run_id: Uuid,
    step: Step,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> AppResult<Batch> {
    if step == Step::Applications {
        return applications_batch(services, actor, run_id, cutoff, limit).await;
    }
    if step.action() == Action::ReportOnly {
        return Ok(Batch::default());
    }
    let tenant = actor.tenant_id;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let backend = txn.get_database_backend();
    let gate = Uuid::now_v7();
    retention_gate::Entity::insert(retention_gate::ActiveModel {
        id: Set(gate),
        tenant_id: Set(tenant),
        target_table: Set(step.table().to_owned()),
        cutoff: Set(cutoff),
        opened_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let keys = select_keys(&txn, step, tenant, cutoff, limit, true).await?;
    if keys.is_empty() {
        txn.rollback().await?;
        return Ok(Batch::default());
    }
    let mut counts: Counts = Vec::new();
    for d in step.dependents() {
        let (filter, values) = key_filter(step, Some(d), &keys);
        let sql = if d.detach {
            format!("UPDATE {t} SET {c} = NULL WHERE {filter}", t = d.table, c = d.column)
        } else {
            format!("DELETE FROM {t} WHERE {filter}", t = d.table)
        };
        let n = txn.execute_raw(statement(backend, sql, values)).await?.rows_affected();
        if !d.detach {
            counts.push((d.table, n));
        }
    }
    let (filter, values) = key_filter(step, None, &keys);
    let sql = match step.action() {
        Action::Anonymise => {
            format!("UPDATE {t} SET recording_ref = NULL WHERE {filter}", t = step.table())
        }
        _ => format!("DELETE FROM {t} WHERE {filter}", t = step.table()),
    };
    let rows = txn.execute_raw(statement(backend, sql, values)).await?.rows_affected();
    counts.insert(0, (step.table(), rows));
    let full = keys.len() as u64 >= limit;
    txn.execute_raw(statement(
        backend,
        "DELETE FROM retention_gate WHERE id = $1".into(),
        vec![gate.into()],
    ))
    .await?;
    audit_batch(&txn, actor, now, run_id, step, cutoff, &counts).await?;
    txn.commit().await?;
    Ok(Batch { rows, counts, full })
}

/// The one audit entry of a batch: what went, by which rule, up to which cut-off (counts, no
/// personal data), and whether the retention gate was used.
async fn audit_batch<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    run_id: Uuid,
    step: Step,
    cutoff: DateTime<Utc>,
    counts: &Counts,
) -> AppResult<()> {
    let related: serde_json::Map<String, serde_json::Value> =
        counts.iter().skip(1).map(|(t, n)| ((*t).to_owned(), json!(n))).collect();
    audit::record(
        conn,
        actor,
        now,
        AuditRecord {
            action: "retention.swept",
            category: None,
            subject_id: None,
            purpose: "retention",
            details: Some(json!({
                "runId": run_id,
                "rule": step.rule().as_str(),
                "table": step.table(),
                "action": step.action().as_str(),
                "rows": counts.first().map_or(0, |c| c.1),
                "related": related,
                "cutoff": cutoff,
                "gate": step.gated(),
            })),
        },
    )
    .await
}

/// Applications: each through `equal_opportunity::destroy` (its rows, blobs and keys, in its
/// own transaction with its own audit entry), then one summary entry for the batch. An
/// application another sweep removed meanwhile is skipped by `destroy` and not counted.
async fn applications_batch(
    services: &Services,
    actor: &Actor,
    run_id: Uuid,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> AppResult<Batch> {
    let step = Step::Applications;
    let keys = select_keys(&services.db, step, actor.tenant_id, cutoff, limit, false).await?;
    let ids: Vec<Uuid> = keys
        .iter()
        .filter_map(|k| match k {
            RowKey::Uuid(u) => Some(*u),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(Batch::default());
    }
    let apps = eo_application::Entity::find()
        .filter(sea_orm::ColumnTrait::is_in(&eo_application::Column::Id, ids))
        .all(&services.db)
        .await?;
    let (mut rows, mut documents) = (0, 0);
    for a in &apps {
        if let Some(d) = equal_opportunity::destroy(services, actor, a).await? {
            rows += 1;
            documents += d;
        }
    }
    let counts = vec![(step.table(), rows), ("eo_documents", documents)];
    if rows > 0 {
        audit_batch(&services.db, actor, services.clock.now(), run_id, step, cutoff, &counts)
            .await?;
    }
    Ok(Batch { rows, counts, full: keys.len() as u64 >= limit })
}
