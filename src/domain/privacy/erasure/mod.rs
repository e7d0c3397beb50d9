//! Erasure (GDPR art. 17, SPEC §6): the `Erase` step of an erasure request, driven by the
//! personal-data registry, with its report.
//!
//! [`erase`] is idempotent and resumable; it may stop anywhere (a failure, a crash) and is run
//! again by the request's step machine, with backoff:
//!
//! 1. [`prepare`]: the account is closed (no password, sessions revoked), unpaid orders are
//!    ended through the shop (seats freed), document blobs deleted, consents withdrawn, the
//!    address put on the marketing suppression list (a keyed hash);
//! 2. every registered table but the account's, in [`plan::order`] (a table owned through
//!    another before that one), each in its own transaction together with its report row, as
//!    its registry entry says ([`tables`]): deleted, anonymised, pseudonymised through the
//!    append-only tables' [`gate`], or kept under a legal basis until a date, detached; and
//!    references to the person as another person cleared. A table whose report row exists is
//!    done and skipped;
//! 3. the account row, in one transaction with the final [`scan`] of every text column of every
//!    table for the person's [`values`] (read from that row, which is why it comes last): a
//!    value found outside the rows the report lists as kept (and outside tables about no one,
//!    such as the catalogue, whose values are the organisation's own) rolls the transaction back, records
//!    the failed scan and fails the step, which is retried (and shows in the privacy officer's
//!    queue with the tables and columns, never the values). When the scan passes, the report is
//!    finished and the erasure written to the audit log.
//!
//! A new table is handled by its registry entry alone; [`rules`] holds the few decisions the
//! entry does not carry (columns an anonymisation keeps, rows a legal obligation covers and the
//! date their retention starts, columns that name outside objects).
//!
//! This module must never log or store the person's values: errors and the report name tables,
//! columns and counts.

mod gate;
mod plan;
mod prepare;
pub mod report;
mod rules;
pub mod scan;
mod sql;
mod tables;
pub mod values;

pub use report::{Report, reports_of};
pub use scan::{Hit, ScanResult};
pub use values::ValueKind;

use sea_orm::{ColumnTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::privacy::schema;
use crate::domain::tenancy::scoped;
use crate::entities::{data_subject_request as dsr, erasure_report, user};
use crate::error::{AppError, AppResult};
use crate::policy::registry;
use crate::policy::{Actor, Category, Column};
use plan::{ACCOUNT_TABLE, Person};
use tables::Context;
use values::Values;

/// Carries out the erasure of request `request_id` (of `actor`'s tenant): see the module
/// documentation. `actor` is who the audit log names (the privacy officer, or the system for
/// the background job).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, request.id = %request_id))]
pub async fn erase(services: &Services, actor: &Actor, request_id: Uuid) -> AppResult<()> {
    let now = services.clock.now();
    let request = scoped::<dsr::Entity>(actor.tenant_id)
        .filter(dsr::Column::Id.eq(request_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (tenant_id, person) = (request.tenant_id, request.subject_id);
    let rep = report::open(&services.db, tenant_id, request.id, now).await?;
    if rep.finished_at.is_some() {
        return Ok(());
    }
    let account = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.eq(person))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let schema = schema::column_info(&services.db).await?;
    let hashes = plan::hashes_of(services, tenant_id, person, account.email.as_deref())?;
    let p = Person { tenant_id, id: person, hashes, schema: &schema };

    prepare::close_account(services, &p, now).await?;
    prepare::end_unpaid_orders(services, &p, &rep).await?;
    prepare::delete_blobs(services, &p, &rep).await?;
    prepare::withdraw_consents(services, actor, &p, &rep, request.id, now).await?;
    prepare::suppress(&services.db, services, &p, &rep, now).await?;

    let cx = Context {
        actor,
        request: request.id,
        pseudonym: gate::pseudonym(services, tenant_id, request.id, person),
        now,
    };
    let order = plan::order();
    let done = report::done_tables(&services.db, &rep).await?;
    let mut tables_done = 0u32;
    for (position, t) in order.iter().enumerate() {
        if t.name == ACCOUNT_TABLE || done.iter().any(|d| d == t.name) {
            continue;
        }
        let txn = services.db.begin().await?;
        // Another worker may have done it since the list was read.
        if report::has_table(&txn, &rep, t.name).await? {
            txn.rollback().await?;
            continue;
        }
        let d = tables::erase_table(&txn, t, &p, &cx).await?;
        report::record_table(&txn, &rep, position, t.name, &d, now).await?;
        txn.commit().await?;
        tables_done += 1;
    }
    tracing::info!(erasure.tables = tables_done, "erasure tables done");
    finish(services, &p, &rep, order.len().saturating_sub(1), &cx).await
}

/// The account row and the final scan, in one transaction (see the module documentation).
async fn finish(
    services: &Services,
    p: &Person<'_>,
    rep: &erasure_report::Model,
    position: usize,
    cx: &Context<'_>,
) -> AppResult<()> {
    let txn = services.db.begin().await?;
    let account = scoped::<user::Entity>(p.tenant_id)
        .filter(user::Column::Id.eq(p.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut values = Values::of(&account);
    let shared = values.drop_shared(&txn, &account).await?;
    if !report::has_table(&txn, rep, ACCOUNT_TABLE).await? {
        let t = registry::table(ACCOUNT_TABLE)
            .ok_or_else(|| AppError::internal("erasing", "the account table is not registered"))?;
        let d = tables::erase_table(&txn, t, p, cx).await?;
        report::record_table(&txn, rep, position, ACCOUNT_TABLE, &d, cx.now).await?;
    }
    let kept = report::kept_rows(&txn, rep).await?;
    let result = scan::scan(&txn, p.tenant_id, &values, shared, p.schema, &kept).await?;
    if !result.passed {
        txn.rollback().await?;
        report::record_scan(&services.db, rep, &result, false, cx.now).await?;
        tracing::warn!(
            erasure.hits = result.hits.len(),
            "the final scan of an erasure found values outside the rows kept"
        );
        return Err(AppError::Conflict(format!(
            "the final scan found the person's values outside the rows kept: {}",
            result.leftovers()
        )));
    }
    report::record_scan(&txn, rep, &result, true, cx.now).await?;
    let kept_in: std::collections::BTreeSet<&str> =
        result.hits.iter().filter(|h| h.kept_rows > 0).map(|h| h.table.as_str()).collect();
    audit::record(
        &txn,
        cx.actor,
        cx.now,
        AuditRecord {
            action: "dsr.erased",
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(p.id),
            purpose: Column::PrivacyOfficer.purpose(),
            details: Some(json!({
                "requestId": cx.request,
                "scan": { "tables": result.tables, "columns": result.columns, "keptIn": kept_in },
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
