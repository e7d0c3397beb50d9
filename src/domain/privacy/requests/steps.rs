//! Carrying out a request: a stored, resumable state machine.
//!
//! Completing a request plans its steps ([`StepName::plan`]), one row each, in order. A step
//! runs when every step before it is done and its `next_attempt_at` has come: it is claimed by
//! a guarded UPDATE (status `running`, `next_attempt_at` pushed a lease ahead, so a worker that
//! dies leaves it to be claimed again once the lease has passed), then carried out in one
//! transaction together with what marks it done, so a step is done exactly when its effect is
//! committed and running it twice changes nothing. A failure rolls the effect back, counts an
//! attempt, keeps the error and sets the next attempt with exponential backoff (capped); the
//! background job ([`advance`]) picks it up then, and the privacy officer sees it meanwhile.
//! The last step closes the request (done, with its receipt).
//!
//! The export step (access, portability) is `privacy::export`. The erase step (erasure) is not
//! written yet (issue 11, item 4): it is planned as `awaiting_implementation`, nothing claims
//! it, and the steps after it wait, so such a request stays in progress and is never reported
//! done. Once a step's code exists, [`StepName::implemented`] says so and the waiting
//! rows are picked up as they are.
//!
//! One job, one file: the step state machine (plan, claim, run, retry, close) and the effect of
//! each step, which must be read together to see that a step is done exactly once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::{RequestKind, RequestStatus, StepStatus, audit_step, parse_purposes, receipt};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::consent::{self, Purpose};
use crate::domain::privacy::{erasure, export, suppression};
use crate::domain::tenancy::scoped;
use crate::entities::enums::SuppressionReason::Objection;
use crate::entities::enums::{AccountStatus, MailKind};
use crate::entities::{
    consent_record, data_subject_request as dsr, data_subject_request_step as step, user,
};
use crate::error::{AppError, AppResult, Chain};
use crate::policy::{Actor, Category, Column};

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepName {
    /// Builds the access or portability export (`privacy::export`).
    Export,
    /// Erases, anonymises, pseudonymises or keeps (detached) the person's data per the
    /// registry, with its report (`privacy::erasure`).
    Erase,
    /// Restriction: the account becomes `restricted` (kept, processed by nobody but the
    /// person, their guardian and the privacy officer).
    RestrictAccount,
    /// Objection: every marketing consent given is withdrawn in the consent ledger.
    WithdrawMarketingConsents,
    /// Consent withdrawal: the named purposes are withdrawn in the consent ledger.
    WithdrawConsents,
    /// The request becomes done and the subject gets the closing receipt.
    Close,
}

impl StepName {
    pub const ALL: [StepName; 6] = [
        StepName::Export,
        StepName::Erase,
        StepName::RestrictAccount,
        StepName::WithdrawMarketingConsents,
        StepName::WithdrawConsents,
        StepName::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Export => "export",
            StepName::Erase => "erase",
            StepName::RestrictAccount => "restrict_account",
            StepName::WithdrawMarketingConsents => "withdraw_marketing_consents",
            StepName::WithdrawConsents => "withdraw_consents",
            StepName::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Option<StepName> {
        StepName::ALL.into_iter().find(|n| n.as_str() == s)
    }

    /// The steps that carry out a request of `kind`, in order. A rectification is made by the
    /// person (`updateProfile`) or by the organisation outside Pupitre, and a post-mortem
    /// directive is recorded when it is made: both only close.
    pub fn plan(kind: RequestKind) -> &'static [StepName] {
        match kind {
            RequestKind::Access | RequestKind::Portability => &[StepName::Export, StepName::Close],
            RequestKind::Erasure => &[StepName::Erase, StepName::Close],
            RequestKind::Restriction => &[StepName::RestrictAccount, StepName::Close],
            RequestKind::Objection => &[StepName::WithdrawMarketingConsents, StepName::Close],
            RequestKind::ConsentWithdrawal => &[StepName::WithdrawConsents, StepName::Close],
            RequestKind::Rectification | RequestKind::PostMortemDirective => &[StepName::Close],
        }
    }
}

/// How long a claimed step is its worker's before another may take it over.
const LEASE_SECS: i64 = 300;
/// The first retry comes after a minute, then twice as late each time, at most every 6 hours.
const BACKOFF_BASE_SECS: i64 = 60;
const BACKOFF_CAP_SECS: i64 = 6 * 3600;
/// Longest error text kept on a step.
const MAX_ERROR_CHARS: usize = 500;

/// The wait before the next attempt after `attempts` failures.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    Duration::seconds(BACKOFF_BASE_SECS.saturating_mul(1 << doublings).min(BACKOFF_CAP_SECS))
}

/// Whether the request has steps (it is being carried out).
pub(super) async fn planned(
    services: &Services,
    tenant_id: Uuid,
    request: Uuid,
) -> AppResult<bool> {
    Ok(scoped::<step::Entity>(tenant_id)
        .filter(step::Column::RequestId.eq(request))
        .count(&services.db)
        .await?
        > 0)
}

/// Writes the steps of `request` unless it has some; returns whether it wrote them.
pub(super) async fn plan<C: ConnectionTrait>(
    conn: &C,
    request: &dsr::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let existing = scoped::<step::Entity>(request.tenant_id)
        .filter(step::Column::RequestId.eq(request.id))
        .count(conn)
        .await?;
    if existing > 0 {
        return Ok(false);
    }
    let rows = StepName::plan(request.kind).iter().enumerate().map(|(i, name)| {
        step::ActiveModel::from(step::Model {
            id: Uuid::now_v7(),
            tenant_id: request.tenant_id,
            request_id: request.id,
            position: i as i32,
            name: name.as_str().to_owned(),
            status: StepStatus::Pending,
            attempts: 0,
            last_error: None,
            next_attempt_at: now,
            finished_at: None,
            created_at: now,
        })
    });
    step::Entity::insert_many(rows).exec_without_returning(conn).await?;
    Ok(true)
}

/// Makes the failed steps of a request due now (the privacy officer retries at once).
pub(super) async fn retry_now<C: ConnectionTrait>(
    conn: &C,
    request: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    step::Entity::update_many()
        .col_expr(step::Column::NextAttemptAt, Expr::value(now))
        .filter(step::Column::RequestId.eq(request))
        .filter(step::Column::Status.eq(StepStatus::Failed))
        .exec(conn)
        .await?;
    Ok(())
}

/// What one round of [`advance`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdvanceReport {
    pub done: u64,
    pub failed: u64,
}

/// No earlier step of the same request (the outer `data_subject_request_steps` row) is still
/// to be done: a step waits for every step before it.
fn earlier_steps_done() -> Expr {
    // Scoped here: `ExprTrait::min` would shadow `Ord::min` in the rest of the file.
    use sea_orm::sea_query::ExprTrait;
    let prior = Alias::new("prior");
    let pending = Query::select()
        .expr(Expr::val(1))
        .from_as(step::Entity, prior.clone())
        .and_where(
            Expr::col((prior.clone(), step::Column::RequestId))
                .equals((step::Entity, step::Column::RequestId)),
        )
        .and_where(
            Expr::col((prior.clone(), step::Column::Position))
                .lt(Expr::col((step::Entity, step::Column::Position))),
        )
        .and_where(Expr::col((prior, step::Column::Status)).ne(StepStatus::Done))
        .to_owned();
    Expr::exists(pending).not()
}

/// One round of the background job: carries on the requests (of every tenant) that have a step
/// due (`next_attempt_at` passed, every step before it done), at most `batch` of them. Safe on
/// several instances at once: each step is claimed by a guarded UPDATE.
#[tracing::instrument(skip_all, fields(batch))]
pub async fn advance(services: &Services, batch: u64) -> AppResult<AdvanceReport> {
    let now = services.clock.now();
    let claimable = [
        StepStatus::Pending,
        StepStatus::Failed,
        StepStatus::Running,
        StepStatus::AwaitingImplementation,
    ];
    let due = step::Entity::find()
        .filter(step::Column::Status.is_in(claimable))
        .filter(step::Column::NextAttemptAt.lte(now))
        .filter(earlier_steps_done())
        .order_by_asc(step::Column::NextAttemptAt)
        .order_by_asc(step::Column::Id)
        .limit(batch)
        .all(&services.db)
        .await?;
    let mut report = AdvanceReport::default();
    for s in due {
        let actor = Actor::system(s.tenant_id);
        let r = run_request(services, &actor, s.request_id).await?;
        report.done += r.done;
        report.failed += r.failed;
    }
    Ok(report)
}

/// Runs the steps of one request that are due, in order, until one fails, waits or the last
/// one is done. `actor` is who the audit log names (the privacy officer completing it, or the
/// system for the job).
///
/// The steps run on a task of their own: an access export builds its archive through deeply
/// nested futures, which polled beneath an HTTP request's middleware and GraphQL layers took
/// more than a worker thread's 2 MiB of stack in a debug build. A task is polled from the
/// runtime, at the bottom of the stack; it also finishes a step already started when the
/// client that asked goes away.
pub(super) async fn run_request(
    services: &Services,
    actor: &Actor,
    request: Uuid,
) -> AppResult<AdvanceReport> {
    let (services, actor) = (services.clone(), actor.clone());
    tokio::spawn(async move { run_request_here(&services, &actor, request).await })
        .await
        .map_err(|e| AppError::internal("running a request's steps", e))?
}

async fn run_request_here(
    services: &Services,
    actor: &Actor,
    request: Uuid,
) -> AppResult<AdvanceReport> {
    let mut report = AdvanceReport::default();
    loop {
        let now = services.clock.now();
        let steps = scoped::<step::Entity>(actor.tenant_id)
            .filter(step::Column::RequestId.eq(request))
            .order_by_asc(step::Column::Position)
            .all(&services.db)
            .await?;
        let Some(next) = steps.into_iter().find(|s| s.status != StepStatus::Done) else {
            break;
        };
        let Some(name) = StepName::parse(&next.name) else {
            fail(services, &next, &AppError::internal("running a step", "unknown step"), now)
                .await?;
            report.failed += 1;
            break;
        };
        if next.next_attempt_at > now {
            break;
        }
        if !claim(services, &next, now).await? {
            break;
        }
        match execute(services, actor, &next, name, now).await {
            Ok(true) => report.done += 1,
            // Another worker took the step over after this one's lease ended: its run counts.
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(
                    step.id = %next.id,
                    request.id = %request,
                    step.name = name.as_str(),
                    error.chain = %Chain(&e),
                    "a data-subject request step failed; it will be retried"
                );
                fail(services, &next, &e, now).await?;
                report.failed += 1;
                break;
            }
        }
    }
    Ok(report)
}

/// Takes the step for this worker until the lease ends; false when another worker has it.
async fn claim(services: &Services, s: &step::Model, now: DateTime<Utc>) -> AppResult<bool> {
    let res = step::Entity::update_many()
        .col_expr(step::Column::Status, Expr::value(StepStatus::Running.to_value()))
        .col_expr(step::Column::NextAttemptAt, Expr::value(now + Duration::seconds(LEASE_SECS)))
        .filter(step::Column::Id.eq(s.id))
        .filter(step::Column::Status.ne(StepStatus::Done))
        .filter(step::Column::NextAttemptAt.lte(now))
        .exec(&services.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records a failure: one more attempt, the error, the next attempt after the backoff.
async fn fail(
    services: &Services,
    s: &step::Model,
    e: &AppError,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let attempts = s.attempts.saturating_add(1);
    let text: String = match e {
        AppError::Internal { .. } => Chain(e).to_string(),
        other => other.to_string(),
    };
    let text: String = text.chars().take(MAX_ERROR_CHARS).collect();
    step::Entity::update_many()
        .col_expr(step::Column::Status, Expr::value(StepStatus::Failed.to_value()))
        .col_expr(step::Column::Attempts, Expr::value(attempts))
        .col_expr(step::Column::LastError, Expr::value(text))
        .col_expr(step::Column::NextAttemptAt, Expr::value(now + backoff(attempts)))
        .filter(step::Column::Id.eq(s.id))
        .exec(&services.db)
        .await?;
    Ok(())
}

/// Carries the step out and marks it done, in one transaction; false (and nothing committed)
/// when the step is no longer this worker's.
async fn execute(
    services: &Services,
    actor: &Actor,
    s: &step::Model,
    name: StepName,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if name == StepName::Erase {
        // Table by table, each in its own transaction with its report row, so that it resumes
        // where it stopped; only the step's own mark is committed below.
        erasure::erase(services, actor, s.request_id).await?;
    }
    // The export's file is built before the transaction opens (it reads for a while; on SQLite
    // an open transaction would keep a stale snapshot and fail to commit); its row is written
    // in the transaction below.
    let exported = match name {
        StepName::Export => Some(export::prepare(services, s).await?),
        _ => None,
    };
    let txn = services.db.begin().await?;
    let request = scoped::<dsr::Entity>(s.tenant_id)
        .filter(dsr::Column::Id.eq(s.request_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    match name {
        StepName::RestrictAccount => restrict(&txn, actor, &request, now).await?,
        StepName::WithdrawMarketingConsents => {
            let marketing = [Purpose::MarketingEmail, Purpose::MarketingPhone];
            withdraw(&txn, actor, &request, &marketing, now).await?;
            let (tenant, subject) = (request.tenant_id, request.subject_id);
            suppression::suppress_person(&txn, services, tenant, subject, Objection, now).await?;
        }
        StepName::WithdrawConsents => {
            let purposes = parse_purposes(request.purposes.as_deref());
            withdraw(&txn, actor, &request, &purposes, now).await?;
        }
        StepName::Close => close(&txn, actor, &request, now).await?,
        StepName::Export => {
            let prepared = exported.unwrap_or(export::Prepared::AlreadyRecorded);
            export::record(&txn, actor, &request, prepared, now).await?;
        }
        // Erased table by table above, each table in its own transaction with its report row.
        StepName::Erase => {}
    }
    let res = step::Entity::update_many()
        .col_expr(step::Column::Status, Expr::value(StepStatus::Done.to_value()))
        .col_expr(step::Column::FinishedAt, Expr::value(now))
        .col_expr(step::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(step::Column::NextAttemptAt, Expr::value(now))
        .filter(step::Column::Id.eq(s.id))
        .filter(step::Column::Status.eq(StepStatus::Running))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

/// The account becomes `restricted` (once: an account already restricted or erased is left).
async fn restrict(
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &dsr::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let res = user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value(AccountStatus::Restricted))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::TenantId.eq(request.tenant_id))
        .filter(user::Column::Id.eq(request.subject_id))
        .filter(user::Column::Status.eq(AccountStatus::Active))
        .exec(txn)
        .await?;
    if res.rows_affected == 1 {
        audit::record(
            txn,
            actor,
            now,
            AuditRecord {
                action: "account.restricted",
                category: Some(Category::DataSubjectRequests),
                subject_id: Some(request.subject_id),
                purpose: Column::PrivacyOfficer.purpose(),
                details: Some(json!({ "requestId": request.id })),
            },
        )
        .await?;
    }
    Ok(())
}

/// Appends a withdrawal to the consent ledger for each of `purposes` currently given.
async fn withdraw(
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &dsr::Model,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let rows = scoped::<consent_record::Entity>(request.tenant_id)
        .filter(consent_record::Column::SubjectUserId.eq(request.subject_id))
        .filter(consent_record::Column::Purpose.is_in(purposes.iter().copied()))
        .order_by_asc(consent_record::Column::RecordedAt)
        .order_by_asc(consent_record::Column::Id)
        .all(txn)
        .await?;
    let mut withdrawn = Vec::new();
    for p in purposes {
        let given = rows.iter().rev().find(|r| r.purpose == *p).is_some_and(|r| r.granted);
        if given {
            consent::insert(
                txn,
                request.tenant_id,
                Some(request.subject_id),
                None,
                *p,
                false,
                now,
                "data_subject_request",
                None,
                actor.user_id,
            )
            .await?;
            withdrawn.push(p.to_string());
        }
    }
    if !withdrawn.is_empty() {
        audit::record(
            txn,
            actor,
            now,
            AuditRecord {
                action: "consent.withdrawn",
                category: Some(Category::ConsentState),
                subject_id: Some(request.subject_id),
                purpose: Column::PrivacyOfficer.purpose(),
                details: Some(json!({ "requestId": request.id, "purposes": withdrawn })),
            },
        )
        .await?;
    }
    Ok(())
}

/// The request becomes done; the subject gets the closing receipt.
async fn close(
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &dsr::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let res = dsr::Entity::update_many()
        .col_expr(dsr::Column::Status, Expr::value(RequestStatus::Done.to_value()))
        .col_expr(dsr::Column::CompletedAt, Expr::value(now))
        .col_expr(dsr::Column::UpdatedAt, Expr::value(now))
        .filter(dsr::Column::Id.eq(request.id))
        .filter(dsr::Column::Status.eq(RequestStatus::InProgress))
        .exec(txn)
        .await?;
    if res.rows_affected == 1 {
        let purpose = Column::PrivacyOfficer.purpose();
        audit_step(txn, actor, now, "dsr.completed", request, purpose, json!({})).await?;
        receipt(txn, request, MailKind::DsrClosed, json!({ "status": RequestStatus::Done }), now)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(2), Duration::seconds(120));
        assert_eq!(backoff(5), Duration::seconds(960));
        assert_eq!(backoff(30), Duration::seconds(BACKOFF_CAP_SECS));
        assert_eq!(backoff(i32::MAX), Duration::seconds(BACKOFF_CAP_SECS));
    }

    #[test]
    fn every_plan_closes_and_every_step_name_reads_back() {
        for kind in <RequestKind as sea_orm::Iterable>::iter() {
            assert_eq!(StepName::plan(kind).last(), Some(&StepName::Close), "{kind:?}");
        }
        for n in StepName::ALL {
            assert_eq!(StepName::parse(n.as_str()), Some(n));
        }
    }
}
