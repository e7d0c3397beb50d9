use sea_orm::entity::prelude::*;

pub use super::enums::SuppressionReason;

/// An address that must never receive marketing again, known only by a keyed hash of the
/// tenant and the normalised address (never the address itself).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "marketing_suppressions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email_hash: String,
    pub reason: SuppressionReason,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
