//! Scheduled work: moving courses whose next session started on in the catalogue order,
//! expiring unpaid orders, completing refunds left pending, carrying on
//! data-subject requests, deleting expired exports, the retention sweep. Every job is idempotent and safe to run on
//! several instances at once (each change is a guarded UPDATE or a batch of rows that still
//! match); the retention sweep also takes a per-tenant advisory lock on PostgreSQL (see
//! `domain::retention`) and runs once per `PUPITRE_RETENTION_INTERVAL_SECS` per tenant, as its
//! run records say.

use std::time::Duration;

use crate::domain::{Services, campaigns, catalog, mail, newsletter, privacy, retention, shop};

/// Unpaid orders expired per round, at most.
const EXPIRY_BATCH: u64 = 200;
/// Data-subject requests carried on per round, at most.
const REQUEST_BATCH: u64 = 100;
/// Expired exports deleted per round, at most.
const EXPORT_EXPIRY_BATCH: u64 = 100;
/// Courses whose next session has started, recomputed per statement.
const NEXT_START_BATCH: u64 = 500;
/// Expired newsletter subscriptions deleted per round, at most.
const NEWSLETTER_SWEEP_BATCH: u64 = 500;

/// Runs the periodic jobs every `every` until the returned handle is aborted.
pub fn spawn(services: Services, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run_once(&services).await;
        }
    })
}

/// One round of every job; failures are logged and retried next round.
pub async fn run_once(services: &Services) {
    // SQLite's planner statistics (see `db::optimize`).
    if let Err(e) = crate::db::optimize(&services.db).await {
        tracing::error!(error = %e, "database optimize failed");
    }
    // Courses whose next session has started move on to the following one.
    match catalog::next_start::advance(services, NEXT_START_BATCH).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(courses.moved = n, "catalogue order moved on"),
        Err(e) => {
            tracing::error!(error.chain = %crate::error::Chain(&e), "catalogue order failed")
        }
    }
    match shop::expire_orders(services, EXPIRY_BATCH).await {
        Ok(r) if r != shop::ExpiryReport::default() => {
            tracing::info!(
                orders.cancelled = r.cancelled,
                orders.paid = r.paid,
                orders.deferred = r.deferred,
                "order expiry"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "order expiry failed"),
    }
    // Refunds left pending for a minute: Stripe was unreachable, or the process stopped.
    match shop::refund::retry_pending_refunds(services, chrono::Duration::seconds(60)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(refunds.completed = n, "pending refunds completed"),
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "pending refunds failed"),
    }
    // Data-subject requests: steps due (new, or failed and past their backoff).
    match privacy::requests::advance(services, REQUEST_BATCH).await {
        Ok(r) if r != privacy::requests::AdvanceReport::default() => {
            tracing::info!(steps.done = r.done, steps.failed = r.failed, "data-subject requests")
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error.chain = %crate::error::Chain(&e), "data-subject requests failed")
        }
    }
    // The retention sweep, for the tenants whose last sweep is older than its interval.
    match retention::run_scheduled(services).await {
        Ok(runs) => {
            for r in runs.iter().filter(|r| r.total() > 0 || r.error.is_some()) {
                tracing::info!(
                    tenant.id = %r.tenant_id,
                    retention.rows = r.total(),
                    retention.stopped = r.error.is_some(),
                    "retention sweep"
                );
            }
        }
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "retention sweep failed"),
    }
    // Exports 7 days old: file and row (until the retention sweep calls it instead).
    match privacy::export::delete_expired(services, EXPORT_EXPIRY_BATCH).await {
        Ok(r) if r != privacy::export::ExpiryReport::default() => {
            tracing::info!(
                exports.deleted = r.deleted,
                exports.orphans = r.orphans,
                "export expiry"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "export expiry failed"),
    }
    // Campaigns whose queueing was interrupted, finished from their cursor.
    match campaigns::resume(services).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(campaigns.resumed = n, "campaign queueing resumed"),
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "campaign resume failed"),
    }
    // The outbox: due e-mails sent (or logged, without an SMTP server).
    match mail::deliver(services).await {
        Ok(r) if r != mail::DeliveryReport::default() => tracing::info!(
            mail.sent = r.sent,
            mail.logged = r.logged,
            mail.failed = r.failed,
            mail.dead = r.dead,
            mail.dropped = r.dropped,
            "mail delivery"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error.chain = %crate::error::Chain(&e), "mail delivery failed"),
    }
    // Newsletter subscriptions 3 years after the last interaction, unconfirmed ones once their
    // link expired.
    match newsletter::sweep(services, NEWSLETTER_SWEEP_BATCH).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(newsletter.deleted = n, "newsletter sweep"),
        Err(e) => {
            tracing::error!(error.chain = %crate::error::Chain(&e), "newsletter sweep failed")
        }
    }
}
