use sea_orm::entity::prelude::*;

/// The report of one erasure: its effects beyond the tables and the final scan (counts, table
/// and column names: nothing personal). Its tables are `erasure_report_table` rows.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The erasure request this reports on.
    pub request_id: Uuid,
    pub started_at: DateTimeUtc,
    /// When the last table was done and the scan passed.
    pub finished_at: Option<DateTimeUtc>,
    /// Unpaid orders cancelled (their seats freed) through the shop's own path.
    pub orders_cancelled: i32,
    /// Supporting-document blobs deleted from the document store.
    pub documents_deleted: i32,
    /// Consents given that were withdrawn in the ledger.
    pub consents_withdrawn: i32,
    /// The address's keyed hash is on the marketing suppression list.
    pub suppressed: bool,
    pub scanned_at: Option<DateTimeUtc>,
    /// Whether the last scan found nothing outside the rows kept.
    pub scan_passed: Option<bool>,
    /// The last scan, as JSON (see `domain::privacy::erasure::scan::ScanResult`).
    pub scan: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
