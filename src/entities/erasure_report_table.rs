use sea_orm::entity::prelude::*;

pub use super::enums::ErasureOutcome;

/// What an erasure did to one registered table, written with that table's change.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_report_tables")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub report_id: Uuid,
    /// The order the tables were processed in.
    pub position: i32,
    pub table_name: String,
    pub outcome: ErasureOutcome,
    /// Rows about the person that were deleted, anonymised, pseudonymised or kept.
    pub row_count: i64,
    /// Rows of a kept table about the person that no legal obligation covers: deleted.
    pub released_count: i64,
    /// References to the person set to null: the owner references of kept rows (detached) and
    /// references to the person as another person (a staff member who acted).
    pub references_cleared: i64,
    /// References left in columns that cannot be null: they point to the anonymised account.
    pub references_kept: i64,
    /// For kept rows: the legal basis (`policy::registry::LegalBasis`, as its key).
    pub legal_basis: Option<String>,
    /// For kept rows: the last day any of them is kept (none for an open-ended keep).
    pub kept_until: Option<DateTimeUtc>,
    /// For kept rows: their ids, as a JSON array of strings.
    pub kept_ids: Option<String>,
    pub done_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
