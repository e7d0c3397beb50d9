use sea_orm::entity::prelude::*;

use super::enums::RetentionOrigin;

/// One retention sweep of one tenant: what it removed per rule and table (counts only, never
/// personal data), and what stopped it if it did not finish. Dry runs change nothing, so they
/// are not recorded.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub origin: RetentionOrigin,
    pub started_at: DateTimeUtc,
    /// `None` while the run is going on, or when it was cut short by a crash.
    pub finished_at: Option<DateTimeUtc>,
    /// `[{rule, table, action, rows, cutoff}]`.
    pub counts: Json,
    /// Why the run stopped early (a step name and a generic reason; causes go to the logs).
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
