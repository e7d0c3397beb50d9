//! The erasure report of a request (`DataSubjectRequest.erasureReport`, a `details` field of
//! the request: the subject, their guardian and the privacy officer; once the account is
//! erased, the privacy officer alone): per table, what was erased, anonymised, pseudonymised
//! or kept (under which legal basis, until when), the effects beyond the tables, and the final
//! scan. Table and column names and counts only; the ids of kept rows are not shown. Batched
//! across a list of requests.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::context::loaders;
use super::loaders::Batch;
use crate::domain::privacy::erasure::{self, Hit, Report, ScanResult, ValueKind};
use crate::entities::enums::ErasureOutcome;
use crate::entities::erasure_report_table;
use crate::error::{AppError, IntoGql};
use crate::policy::registry::LegalBasis;

gql_enum!(ErasureOutcomeGql as "ErasureOutcome" <=> ErasureOutcome {
    /// Deleted (with their blobs and keys, for documents).
    Erased,
    /// Kept as tombstones with every personal column cleared.
    Anonymised,
    /// Append-only entries whose reference to the person now names a pseudonym.
    Pseudonymised,
    /// Kept under a legal obligation until `keptUntil`, detached from the account.
    Kept,
    /// The table held nothing about the person.
    NothingHeld,
});

gql_enum!(ErasureValueKindGql as "ErasureValueKind" <=> ValueKind { Email, Phone, Name, Address, BirthDate });

/// The erasure report of a request, batched for a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestErasureReport(pub Uuid);

impl Loader<RequestErasureReport> for Batch {
    type Value = Report;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RequestErasureReport],
    ) -> Result<HashMap<RequestErasureReport, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            erasure::reports_of(&self.services, self.tenant_id, &ids).await.map_err(Arc::new)?;
        Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
    }
}

/// The report of request `id`, if its erasure has started.
pub async fn report_of(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<ErasureReportNode>> {
    let lo = loaders(ctx).gql()?;
    Ok(lo.load(RequestErasureReport(id)).await.gql()?.map(ErasureReportNode))
}

/// What an erasure did: per table, beyond the tables, and the final scan.
pub struct ErasureReportNode(Report);

#[Object(name = "ErasureReport")]
impl ErasureReportNode {
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.report.started_at
    }
    /// When the last table was done and the final scan passed; null while it is carried out.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.report.finished_at
    }
    /// Unpaid orders cancelled (their seats freed).
    async fn orders_cancelled(&self) -> i32 {
        self.0.report.orders_cancelled
    }
    /// Supporting-document files deleted from the document store.
    async fn documents_deleted(&self) -> i32 {
        self.0.report.documents_deleted
    }
    /// Consents given that were withdrawn.
    async fn consents_withdrawn(&self) -> i32 {
        self.0.report.consents_withdrawn
    }
    /// The address is on the marketing suppression list (as a keyed hash, never the address).
    async fn suppressed(&self) -> bool {
        self.0.report.suppressed
    }
    /// Every registered table, in the order they were processed.
    async fn tables(&self) -> Vec<ErasureTableNode> {
        self.0.tables.iter().cloned().map(ErasureTableNode).collect()
    }
    /// The final scan of every text column for the person's values (the last one run).
    async fn scan(&self) -> Option<ErasureScanNode> {
        self.0.scan.clone().map(ErasureScanNode)
    }
}

/// What the erasure did to one table.
pub struct ErasureTableNode(erasure_report_table::Model);

#[Object(name = "ErasureReportTable")]
impl ErasureTableNode {
    async fn table(&self) -> &str {
        &self.0.table_name
    }
    async fn outcome(&self) -> ErasureOutcomeGql {
        self.0.outcome.into()
    }
    /// Rows about the person the outcome applies to.
    async fn rows(&self) -> i64 {
        self.0.row_count
    }
    /// Rows of a kept table that no legal obligation covers: deleted.
    async fn released_rows(&self) -> i64 {
        self.0.released_count
    }
    /// References to the person set to null (kept rows detached, acts as another person).
    async fn references_cleared(&self) -> i64 {
        self.0.references_cleared
    }
    /// References left where the column cannot be null: they point to the anonymised account.
    async fn references_kept(&self) -> i64 {
        self.0.references_kept
    }
    /// Why kept rows are kept.
    async fn legal_basis(&self) -> Option<&'static str> {
        self.0.legal_basis.as_deref().and_then(LegalBasis::parse).map(LegalBasis::describe)
    }
    /// The last day a kept row is kept (null: as long as the organisation sends marketing).
    async fn kept_until(&self) -> Option<DateTime<Utc>> {
        self.0.kept_until
    }
}

/// The final scan.
pub struct ErasureScanNode(ScanResult);

#[Object(name = "ErasureScan")]
impl ErasureScanNode {
    /// Whether no value was found outside the rows kept.
    async fn passed(&self) -> bool {
        self.0.passed
    }
    /// The kinds of value searched.
    async fn value_kinds(&self) -> Vec<ErasureValueKindGql> {
        self.0.value_kinds.iter().copied().map(Into::into).collect()
    }
    /// The kinds not searched because another account holds the same value as its own.
    async fn shared_value_kinds(&self) -> Vec<ErasureValueKindGql> {
        self.0.shared_kinds.iter().copied().map(Into::into).collect()
    }
    async fn tables_scanned(&self) -> u32 {
        self.0.tables
    }
    async fn columns_scanned(&self) -> u32 {
        self.0.columns
    }
    /// Every column where a value was found.
    async fn hits(&self) -> Vec<ErasureScanHitNode> {
        self.0.hits.iter().cloned().map(ErasureScanHitNode).collect()
    }
}

/// The rows of one column that hold one of the person's values.
pub struct ErasureScanHitNode(Hit);

#[Object(name = "ErasureScanHit")]
impl ErasureScanHitNode {
    async fn table(&self) -> &str {
        &self.0.table
    }
    async fn column(&self) -> &str {
        &self.0.column
    }
    async fn rows(&self) -> u64 {
        self.0.rows
    }
    /// Of those, rows the report lists as kept under a legal obligation.
    async fn kept_rows(&self) -> u64 {
        self.0.kept_rows
    }
    /// The table holds nobody's data (the catalogue, the organisation's published contact):
    /// the value is the organisation's own too, not a leftover.
    async fn organisation_record(&self) -> bool {
        self.0.organisation
    }
}
