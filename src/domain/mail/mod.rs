//! E-mail delivery: the outbox worker. Every e-mail is first an `outbox` row queued in the
//! transaction of its cause (`domain::outbox`); [`deliver`], called by `jobs::run_once` (and by
//! tests), sends the due ones over SMTP.
//!
//! One message, at most once:
//! 1. **claim**: a guarded `UPDATE … SET status = 'sending', attempts = attempts + 1` of a row
//!    that is `queued` or `failed` and due (on PostgreSQL the candidates are selected `FOR
//!    UPDATE SKIP LOCKED`, so several instances share the queue without waiting on each other;
//!    on SQLite the guard `WHERE status IN (…)` lets one writer win). The claim commits before
//!    anything is sent.
//! 2. **render and send**: the recipient's address and locale are looked up now (the payload
//!    holds ids only), the message rendered from `templates/mail/` and handed to the SMTP
//!    server.
//! 3. **settle**: `sent` (with `sent_at`), or `failed` with the next attempt after an
//!    exponential backoff, or `dead` after the last allowed attempt or a permanent refusal
//!    (5xx), or `dropped` when there is nobody to send to any more (the subscription ended, the
//!    address is suppressed, the account erased). Guarded by `status = 'sending'`.
//!
//! The crash window, honestly: a process that stops between the SMTP server's acceptance and
//! step 3 leaves the row `sending`. It is never claimed again (so never sent twice), and staff
//! see it in `undeliveredMail` with the dead ones: it may or may not have gone out. A reply lost
//! after the server accepted the message (a connection cut during the final `250`) is counted as
//! a failure and retried: that is the one case where a recipient may get a message twice.
//!
//! Development default: without `PUPITRE_SMTP_HOST` the worker logs that a message would be
//! sent (its id and kind, never an address or a name) and marks it sent.
//!
//! This module must never log an address, a name or a rendered message.

mod compose;
pub mod feedback;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::config::{MailSettings, SmtpSecurity};
use crate::domain::Services;
use crate::entities::enums::OutboxStatus;
use crate::entities::outbox;
use crate::error::{AppError, AppResult};

pub use compose::{Composed, Recipient};

/// Messages sent at once by one round of the worker.
const SEND_CONCURRENCY: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// The mail settings and templates, built once.
#[derive(Clone)]
pub struct Mailer {
    pub settings: Arc<MailSettings>,
    /// The public address of the server (links in messages).
    pub public_url: Arc<String>,
    templates: Arc<templates::Templates>,
}

impl Mailer {
    pub fn new(settings: MailSettings, public_url: String) -> AppResult<Mailer> {
        Ok(Mailer {
            settings: Arc::new(settings),
            public_url: Arc::new(public_url),
            templates: Arc::new(templates::Templates::load()?),
        })
    }

    fn transport(&self) -> AppResult<Option<AsyncSmtpTransport<Tokio1Executor>>> {
        let Some(smtp) = &self.settings.smtp else { return Ok(None) };
        let tls = |host: &str| {
            TlsParameters::new_rustls(host.to_owned())
                .map_err(|e| AppError::internal("configuring SMTP TLS", e))
        };
        let security = match smtp.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls(&smtp.host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls(&smtp.host)?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(security)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
        if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
            b = b.credentials(Credentials::new(u.clone(), p.expose().to_owned()));
        }
        Ok(Some(b.build()))
    }
}

/// What one round of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u64,
    /// Logged instead of sent (no SMTP server configured).
    pub logged: u64,
    pub failed: u64,
    pub dead: u64,
    pub dropped: u64,
}

/// How one attempt ended.
enum Outcome {
    Sent,
    Logged,
    Dropped,
    /// A failure: its class (no personal data) and whether retrying can help.
    Failed {
        class: String,
        permanent: bool,
    },
}

/// Sends the due messages, at most `settings.batch` of them; safe on several instances.
#[tracing::instrument(skip_all)]
pub async fn deliver(services: &Services) -> AppResult<DeliveryReport> {
    let mailer = &services.mail;
    let now = services.clock.now();
    let claimed = claim(services, now, mailer.settings.batch).await?;
    let mut report = DeliveryReport::default();
    if claimed.is_empty() {
        return Ok(report);
    }
    let transport = mailer.transport()?;
    // Up to `SEND_CONCURRENCY` messages in flight at once, each settled as soon as it is sent
    // (its own SMTP transaction, on the transport's pool of connections): a round is not paced
    // by one message's round trips.
    let settled: Vec<AppResult<Tally>> = futures_util::stream::iter(claimed)
        .map(|row| {
            let transport = transport.as_ref();
            async move {
                let outcome = attempt(services, transport, &row).await;
                settle_outcome(services, &row, outcome, now).await
            }
        })
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    for tally in settled {
        match tally? {
            Tally::Sent => report.sent += 1,
            Tally::Logged => report.logged += 1,
            Tally::Dropped => report.dropped += 1,
            Tally::Dead => report.dead += 1,
            Tally::Failed => report.failed += 1,
        }
    }
    Ok(report)
}

/// Which counter of the [`DeliveryReport`] one message goes to.
enum Tally {
    Sent,
    Logged,
    Dropped,
    Dead,
    Failed,
}

/// Records how one attempt ended (a failure is retried after its backoff, or dead).
async fn settle_outcome(
    services: &Services,
    row: &outbox::Model,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> AppResult<Tally> {
    let settings = &services.mail.settings;
    let (status, counted, error, next) = match outcome {
        Outcome::Sent => (OutboxStatus::Sent, Tally::Sent, None, None),
        // Logged instead of sent (no SMTP server): stored as sent.
        Outcome::Logged => (OutboxStatus::Sent, Tally::Logged, None, None),
        Outcome::Dropped => (OutboxStatus::Dropped, Tally::Dropped, None, None),
        Outcome::Failed { class, permanent } => {
            if permanent || row.attempts >= settings.max_attempts {
                (OutboxStatus::Dead, Tally::Dead, Some(class), None)
            } else {
                let wait = backoff(settings.retry_base_secs, row.attempts);
                (OutboxStatus::Failed, Tally::Failed, Some(class), Some(now + wait))
            }
        }
    };
    settle(services, row.id, status, error, next).await?;
    Ok(counted)
}

/// The wait before attempt `attempts + 1`: `base · 2^(attempts − 1)`, at most 6 hours.
pub fn backoff(base_secs: i64, attempts: i32) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    chrono::Duration::seconds(base_secs.saturating_mul(1_i64 << exp).min(MAX_BACKOFF_SECS))
}

fn lit(s: OutboxStatus) -> String {
    format!("'{}'", s.to_value())
}

/// Claims up to `limit` due messages for this worker (see the module documentation).
async fn claim(
    services: &Services,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<outbox::Model>> {
    let db = &services.db;
    let due = format!(
        "status IN ({q}, {f}) AND (next_attempt_at IS NULL OR next_attempt_at <= $1)",
        q = lit(OutboxStatus::Queued),
        f = lit(OutboxStatus::Failed)
    );
    let ids: Vec<Uuid> = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            // The candidates are computed once, as an array (an InitPlan), and the UPDATE
            // matches `id = ANY(that array)`. Stale statistics right after a campaign queued
            // 100,000 rows (the table estimated at one row) made both `id IN (subquery)` and a
            // join to a materialised CTE run as a nested loop over the whole table (4.3 s for
            // one claim, seen in the PostgreSQL log of the campaign bench).
            let sql = format!(
                "UPDATE outbox SET status = {s}, attempts = attempts + 1, claimed_at = $1 \
                 WHERE id = ANY(ARRAY(SELECT id FROM outbox WHERE {due} \
                 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)) RETURNING id",
                s = lit(OutboxStatus::Sending)
            );
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    sql,
                    [now.into(), limit.into()],
                ))
                .await?;
            rows.iter().map(|r| r.try_get::<Uuid>("", "id")).collect::<Result<_, _>>()?
        }
        backend => {
            let candidates: Vec<Uuid> = outbox::Entity::find()
                .select_only()
                .column(outbox::Column::Id)
                .filter(outbox::Column::Status.is_in([OutboxStatus::Queued, OutboxStatus::Failed]))
                .filter(
                    Condition::any()
                        .add(outbox::Column::NextAttemptAt.is_null())
                        .add(outbox::Column::NextAttemptAt.lte(now)),
                )
                .order_by_asc(outbox::Column::CreatedAt)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            let mut won = Vec::with_capacity(candidates.len());
            for id in candidates {
                // The guard: only one worker moves a row out of queued/failed.
                let sql = format!(
                    "UPDATE outbox SET status = {s}, attempts = attempts + 1, claimed_at = $1 \
                     WHERE id = $2 AND {due}",
                    s = lit(OutboxStatus::Sending)
                );
                let res = db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        sql,
                        [now.into(), id.into()],
                    ))
                    .await?;
                if res.rows_affected() == 1 {
                    won.push(id);
                }
            }
            won
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(ids))
        .order_by_asc(outbox::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Records how an attempt ended (only on a row this worker still holds).
async fn settle(
    services: &Services,
    id: Uuid,
    status: OutboxStatus,
    error: Option<String>,
    next: Option<DateTime<Utc>>,
) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    let now = services.clock.now();
    let sent_at = matches!(status, OutboxStatus::Sent | OutboxStatus::Dropped).then_some(now);
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status.to_value()))
        .col_expr(outbox::Column::LastError, Expr::value(error))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(outbox::Column::SentAt, Expr::value(sent_at))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Sending))
        .exec(&services.db)
        .await?;
    Ok(())
}

/// One attempt at one claimed message.
async fn attempt(
    services: &Services,
    transport: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    row: &outbox::Model,
) -> Outcome {
    let composed = match compose::compose(services, row).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::info!(outbox.id = %row.id, outbox.kind = %row.kind, "mail dropped: nobody to send it to any more");
            return Outcome::Dropped;
        }
        Err(e) => {
            tracing::error!(outbox.id = %row.id, outbox.kind = %row.kind, error.chain = %crate::error::Chain(&e), "mail could not be composed");
            return Outcome::Failed { class: "compose".into(), permanent: false };
        }
    };
    let Some(transport) = transport else {
        tracing::info!(
            outbox.id = %row.id,
            outbox.kind = %row.kind,
            tenant.id = %row.tenant_id,
            "mail would be sent (no SMTP server configured: PUPITRE_SMTP_HOST)"
        );
        return Outcome::Logged;
    };
    match transport.send(composed.message).await {
        Ok(_) => {
            tracing::info!(outbox.id = %row.id, outbox.kind = %row.kind, "mail sent");
            Outcome::Sent
        }
        Err(e) => {
            let class = match e.status() {
                Some(code) => format!("smtp {code}"),
                None if e.is_timeout() => "timeout".into(),
                None if e.is_tls() => "tls".into(),
                None => "connection".into(),
            };
            let permanent = e.is_permanent();
            tracing::warn!(outbox.id = %row.id, outbox.kind = %row.kind, outbox.attempts = row.attempts, mail.error = %class, "mail not sent");
            Outcome::Failed { class, permanent }
        }
    }
}

/// The messages staff must look at: `dead`, and `sending` ones claimed over an hour ago (a
/// crash between claim and settle). Ids, kinds and error classes only.
pub async fn undelivered(
    services: &Services,
    actor: &crate::policy::Actor,
) -> AppResult<Vec<outbox::Model>> {
    if !crate::policy::may_monitor_mail(actor) {
        return Err(AppError::Forbidden);
    }
    let stale = services.clock.now() - chrono::Duration::hours(1);
    Ok(crate::domain::tenancy::scoped::<outbox::Entity>(actor.tenant_id)
        .filter(
            Condition::any().add(outbox::Column::Status.eq(OutboxStatus::Dead)).add(
                Condition::all()
                    .add(outbox::Column::Status.eq(OutboxStatus::Sending))
                    .add(outbox::Column::ClaimedAt.lt(stale)),
            ),
        )
        .order_by_desc(outbox::Column::CreatedAt)
        .limit(200)
        .all(&services.db)
        .await?)
}
