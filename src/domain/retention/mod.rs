//! The retention sweep (SPEC §5): deletes or anonymises what has outlived its retention rule
//! (`policy::retention`), tenant by tenant, in bounded batches, each batch its own transaction
//! with one audit entry saying what it did (see [`steps`]). The audit log and the consent
//! ledger are append-only; their expired rows go through the one controlled path, the
//! `retention_gate` (migration `m20261201_000007_retention`).
//!
//! - A **dry run** counts what would go and changes nothing: no lock, no run record, no audit
//!   entry (the report's "due within 30 days" is a dry run as of 30 days ahead).
//! - An **interrupted** sweep (a crash, an error, a batch budget) resumes on the next run:
//!   batches remove only rows that still match, so nothing is done twice.
//! - **Several instances**: on PostgreSQL a per-tenant advisory lock (see [`runs`]) lets one
//!   instance sweep a tenant at a time; the others skip it this round.
//! - **Prospects** (accounts without any contract, 3 years after the last contact) are counted
//!   and reported as due, never deleted here: erasing an account is the erasure procedure's job
//!   (issue 11 item 4), which the sweep will call once it exists.
//!
//! This module never logs or records personal data: ids, tables, rules, dates and counts only.
//!
//! One job, one file: the sweep's orchestration (dry run or real, per tenant, lock, run record,
//! batch budget); the SQL of each table is in [`steps`], the periods in [`periods`], the run
//! records in [`runs`].

mod periods;
mod runs;
mod steps;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

pub use periods::{set_period, tenant_settings};
pub use steps::Step;

use super::Services;
use super::tenancy::Tenant;
use crate::entities::retention_run;
use crate::error::{AppError, AppResult};
use crate::policy::retention::{self as rules, Action, Effective, RuleId};
use crate::policy::{self, Actor};

pub use crate::entities::enums::RetentionOrigin as Origin;

/// How the scheduled sweep runs.
#[derive(Clone, Copy, Debug)]
pub struct SweepConfig {
    /// Seconds between two scheduled sweeps of a tenant (0: never).
    pub interval_secs: u64,
    /// Rows per batch (per transaction).
    pub batch_size: u64,
}

/// A real sweep (and what started it) or a dry run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Counts what would go; changes nothing and records nothing.
    DryRun,
    /// Deletes or anonymises, records the run and audits every batch.
    Sweep(Origin),
}

/// What to sweep and how.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub mode: Mode,
    /// One tenant, or every tenant.
    pub tenant: Option<Uuid>,
    pub batch_size: u64,
    /// Sweep as of this instant (the report looks 30 days ahead); `None`: now.
    pub as_of: Option<DateTime<Utc>>,
    /// Stop after this many batches in all (an interrupted sweep, on purpose).
    pub stop_after_batches: Option<u64>,
    /// Take the tenant's advisory lock on PostgreSQL (always, but in the test that shows that
    /// the batches alone never remove a row twice when two sweeps do run at once).
    pub lock: bool,
}

impl SweepOptions {
    /// A real sweep started by `origin`.
    pub fn sweep(origin: Origin, batch_size: u64) -> Self {
        SweepOptions::new(Mode::Sweep(origin), batch_size)
    }

    /// A dry run.
    pub fn dry_run(batch_size: u64) -> Self {
        SweepOptions::new(Mode::DryRun, batch_size)
    }

    fn new(mode: Mode, batch_size: u64) -> Self {
        SweepOptions {
            mode,
            tenant: None,
            batch_size: batch_size.max(1),
            as_of: None,
            stop_after_batches: None,
            lock: true,
        }
    }

    pub fn is_dry_run(&self) -> bool {
        self.mode == Mode::DryRun
    }
}

/// Rows of one table that went (or, in a dry run, would go) under one rule.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepCount {
    #[serde(serialize_with = "ser_rule")]
    pub rule: RuleId,
    pub table: &'static str,
    #[serde(serialize_with = "ser_action")]
    pub action: Action,
    pub rows: u64,
    pub cutoff: DateTime<Utc>,
}

fn ser_rule<S: serde::Serializer>(r: &RuleId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

fn ser_action<S: serde::Serializer>(a: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.as_str())
}

/// The outcome of sweeping one tenant.
#[derive(Clone, Debug)]
pub struct TenantSweep {
    pub tenant_id: Uuid,
    pub slug: String,
    /// The `retention_runs` row (none for a dry run or a skipped tenant).
    pub run_id: Option<Uuid>,
    pub dry_run: bool,
    pub as_of: DateTime<Utc>,
    /// Every table of every rule, in the order of the steps (zeros included).
    pub counts: Vec<StepCount>,
    /// Why the tenant was not swept (another instance is sweeping it).
    pub skipped: Option<&'static str>,
    /// Why the sweep stopped early; the next run resumes.
    pub error: Option<String>,
    pub batches: u64,
}

impl TenantSweep {
    /// Rows of `table` under `rule`.
    pub fn rows(&self, rule: RuleId, table: &str) -> u64 {
        self.counts.iter().filter(|c| c.rule == rule && c.table == table).map(|c| c.rows).sum()
    }

    /// Rows removed or anonymised (or that would be), prospects excluded.
    pub fn total(&self) -> u64 {
        self.counts.iter().filter(|c| c.action != Action::ReportOnly).map(|c| c.rows).sum()
    }

    fn add(&mut self, step: Step, table: &'static str, rows: u64, cutoff: DateTime<Utc>) {
        let action = if table == step.table() { step.action() } else { Action::Delete };
        match self.counts.iter_mut().find(|c| c.rule == step.rule() && c.table == table) {
            Some(c) => c.rows += rows,
            None => self.counts.push(StepCount { rule: step.rule(), table, action, rows, cutoff }),
        }
    }
}

/// Follows a sweep (the command's progress bar); every method has a silent default.
pub trait Progress: Send + Sync {
    /// A tenant's sweep starts with this many rows to go.
    fn tenant(&self, _slug: &str, _rows: u64) {}
    /// A step starts.
    fn step(&self, _rule: RuleId, _table: &str) {}
    /// A batch removed this many rows.
    fn advanced(&self, _rows: u64) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

/// When rows of `step` expire, as of `as_of`, under the tenant's rules.
fn cutoff(
    services: &Services,
    rules: &[Effective],
    step: Step,
    as_of: DateTime<Utc>,
) -> DateTime<Utc> {
    let days = rules.iter().find(|e| e.rule.id == step.rule()).map_or(0, |e| e.days);
    let mut c = as_of - Duration::days(days);
    if step == Step::LoginFailures {
        // A failure counts for the throttling window; its period starts when it leaves it.
        c -= Duration::seconds(services.login.window_secs);
    }
    c
}

/// Sweeps every tenant (or `opts.tenant`). Errors of one tenant are recorded in its outcome
/// and its run; the others are still swept.
#[tracing::instrument(skip_all, fields(retention.dry_run = opts.is_dry_run()))]
pub async fn sweep(
    services: &Services,
    opts: &SweepOptions,
    progress: &dyn Progress,
) -> AppResult<Vec<TenantSweep>> {
    let tenants = services.tenants.all().await?;
    let mut budget = opts.stop_after_batches;
    let mut out = Vec::new();
    for t in tenants.iter().filter(|t| opts.tenant.is_none_or(|id| id == t.id)) {
        out.push(sweep_tenant(services, t, opts, &mut budget, progress).await?);
    }
    Ok(out)
}

/// The scheduled sweep: every tenant whose last run started at least
/// `SweepConfig::interval_secs` ago (the run records are shared, so several instances agree).
#[tracing::instrument(skip_all)]
pub async fn run_scheduled(services: &Services) -> AppResult<Vec<TenantSweep>> {
    let cfg = services.retention;
    if cfg.interval_secs == 0 {
        return Ok(Vec::new());
    }
    let now = services.clock.now();
    let every = Duration::seconds(i64::try_from(cfg.interval_secs).unwrap_or(i64::MAX / 1000));
    let mut out = Vec::new();
    for t in services.tenants.all().await?.iter() {
        if runs::last_start(services, t.id).await?.is_some_and(|last| last > now - every) {
            continue;
        }
        let mut opts = SweepOptions::sweep(Origin::Job, cfg.batch_size);
        opts.tenant = Some(t.id);
        out.push(sweep_tenant(services, t, &opts, &mut None, &Silent).await?);
    }
    Ok(out)
}

/// Sweeps one tenant. A failure (the database gone away while counting, say) is logged and
/// reported in the outcome, and in its run record when it could be written, so that the other
/// tenants are still swept.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id))]
async fn sweep_tenant(
    services: &Services,
    tenant: &Tenant,
    opts: &SweepOptions,
    budget: &mut Option<u64>,
    progress: &dyn Progress,
) -> AppResult<TenantSweep> {
    let as_of = opts.as_of.unwrap_or_else(|| services.clock.now());
    let mut out = TenantSweep {
        tenant_id: tenant.id,
        slug: tenant.slug.clone(),
        run_id: None,
        dry_run: opts.is_dry_run(),
        as_of,
        counts: Vec::new(),
        skipped: None,
        error: None,
        batches: 0,
    };
    if let Err(e) = sweep_tenant_into(services, tenant, opts, budget, progress, &mut out).await {
        tracing::error!(error.chain = %crate::error::Chain(&e), "retention sweep of a tenant failed");
        out.error = Some("the sweep failed (see the server logs); the next run resumes".into());
        if let Some(id) = out.run_id {
            let counts = serde_json::to_value(&out.counts).unwrap_or_else(|_| json!([]));
            if let Err(e) = runs::finish(services, id, counts, out.error.clone()).await {
                tracing::error!(error.chain = %crate::error::Chain(&e), "retention run not closed");
            }
        }
    }
    Ok(out)
}

async fn sweep_tenant_into(
    services: &Services,
    tenant: &Tenant,
    opts: &SweepOptions,
    budget: &mut Option<u64>,
    progress: &dyn Progress,
    out: &mut TenantSweep,
) -> AppResult<()> {
    let rules = rules::effective_all(&tenant_settings(services, tenant.id).await?);
    let as_of = out.as_of;
    let lock = match opts.mode {
        Mode::Sweep(_) if opts.lock => runs::try_lock(services, tenant.id).await?,
        Mode::Sweep(_) => Some(runs::TenantLock::none()),
        Mode::DryRun => None,
    };
    if !opts.is_dry_run() && lock.is_none() {
        out.skipped = Some("another instance is sweeping this organisation");
        tracing::info!("retention sweep skipped: another instance holds the tenant's lock");
        return Ok(());
    }
    // What is due now, per step (and, for the dry run, the answer).
    let mut planned = Vec::new();
    for step in Step::ALL {
        let cut = cutoff(services, &rules, step, as_of);
        let counts = steps::count(&services.db, step, tenant.id, cut).await?;
        for (table, rows) in &counts {
            let rows =
                if opts.is_dry_run() || step.action() == Action::ReportOnly { *rows } else { 0 };
            out.add(step, table, rows, cut);
        }
        planned.push((step, cut, counts.first().map_or(0, |c| c.1)));
    }
    if let Mode::Sweep(origin) = opts.mode {
        out.run_id = Some(runs::start(services, tenant.id, origin, as_of).await?);
        let actor = Actor::anonymous(
            tenant.id,
            format!("retention:{}", out.run_id.map(|i| i.to_string()).unwrap_or_default()),
        );
        let due: u64 = planned
            .iter()
            .filter(|(s, _, _)| s.action() != Action::ReportOnly)
            .map(|(_, _, n)| n)
            .sum();
        progress.tenant(&tenant.slug, due);
        out.error = run_steps(services, &actor, &planned, opts, budget, progress, out).await.err();
    }
    if let Some(id) = out.run_id {
        let counts = serde_json::to_value(&out.counts).unwrap_or_else(|_| json!([]));
        runs::finish(services, id, counts, out.error.clone()).await?;
    }
    if let Some(lock) = lock {
        lock.release().await?;
    }
    tracing::info!(
        retention.rows = out.total(),
        retention.batches = out.batches,
        retention.stopped = out.error.is_some(),
        "retention sweep of a tenant done"
    );
    Ok(())
}

/// Runs the batches of every step with work to do; `Err` carries the generic reason the sweep
/// stopped (the cause is logged here, with the step, never sent further).
async fn run_steps(
    services: &Services,
    actor: &Actor,
    planned: &[(Step, DateTime<Utc>, u64)],
    opts: &SweepOptions,
    budget: &mut Option<u64>,
    progress: &dyn Progress,
    out: &mut TenantSweep,
) -> Result<(), String> {
    let run_id = out.run_id.unwrap_or_default();
    for &(step, cut, due) in planned {
        if due == 0 || step.action() == Action::ReportOnly {
            continue;
        }
        progress.step(step.rule(), step.table());
        loop {
            if *budget == Some(0) {
                return Err(format!(
                    "stopped before {}/{}: batch budget spent; the next run resumes",
                    step.rule().as_str(),
                    step.table()
                ));
            }
            let batch =
                match steps::run_batch(services, actor, run_id, step, cut, opts.batch_size).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(
                            retention.rule = step.rule().as_str(),
                            retention.table = step.table(),
                            error.chain = %crate::error::Chain(&e),
                            "retention batch failed"
                        );
                        return Err(format!(
                            "{}/{} failed (see the server logs); the next run resumes",
                            step.rule().as_str(),
                            step.table()
                        ));
                    }
                };
            if let Some(b) = budget.as_mut() {
                *b = b.saturating_sub(1);
            }
            out.batches += 1;
            for (table, rows) in &batch.counts {
                out.add(step, table, *rows, cut);
            }
            progress.advanced(batch.rows);
            if !batch.full {
                break;
            }
        }
    }
    Ok(())
}

/// What the privacy officer reads: the rules as the organisation applies them, the last runs,
/// and what will have expired 30 days from now.
#[derive(Clone, Debug)]
pub struct Report {
    pub rules: Vec<Effective>,
    pub runs: Vec<retention_run::Model>,
    pub due: TenantSweep,
}

/// The days the report looks ahead.
pub const REPORT_HORIZON_DAYS: i64 = 30;

/// The retention report of the actor's tenant (privacy officer).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display)))]
pub async fn report(services: &Services, actor: &Actor, last_runs: u64) -> AppResult<Report> {
    if !policy::may_manage_retention(actor) {
        return Err(AppError::Forbidden);
    }
    let tenant = services.tenants.by_id(actor.tenant_id).await?.ok_or(AppError::NotFound)?;
    let rules = rules::effective_all(&tenant_settings(services, tenant.id).await?);
    let runs = runs::latest(services, tenant.id, last_runs).await?;
    let mut opts = SweepOptions::dry_run(services.retention.batch_size);
    opts.tenant = Some(tenant.id);
    opts.as_of = Some(services.clock.now() + Duration::days(REPORT_HORIZON_DAYS));
    let due = sweep_tenant(services, &tenant, &opts, &mut None, &Silent).await?;
    if due.error.is_some() {
        return Err(AppError::internal("looking ahead in the retention report", "see above"));
    }
    Ok(Report { rules, runs, due })
}

/// One count of a recorded run, read back from its JSON.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct RecordedCount {
    pub rule: String,
    pub table: String,
    pub action: String,
    pub rows: u64,
    pub cutoff: Option<DateTime<Utc>>,
}

/// The counts of a recorded run (entries that do not parse are left out).
pub fn recorded_counts(run: &retention_run::Model) -> Vec<RecordedCount> {
    match &run.counts {
        serde_json::Value::Array(items) => {
            items.iter().filter_map(|v| serde_json::from_value(v.clone()).ok()).collect()
        }
        _ => Vec::new(),
    }
}
