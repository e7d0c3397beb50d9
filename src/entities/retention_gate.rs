use sea_orm::entity::prelude::*;

/// The permission to delete expired rows of an append-only table (`audit_log`,
/// `consent_records`): inserted and removed by the retention sweep inside one batch
/// transaction, so it is never visible to anyone else. The delete triggers allow a DELETE of a
/// row of `target_table` and `tenant_id` older than `cutoff` only while such a row exists.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_gate")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The table the batch sweeps (a schema name, not a vocabulary: every batch opens the gate,
    /// as its first write, and only `audit_log` and `consent_records` consult it).
    pub target_table: String,
    pub cutoff: DateTimeUtc,
    pub opened_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
