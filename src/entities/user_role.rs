use sea_orm::entity::prelude::*;

use super::enums::StoredRole;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: StoredRole,
    pub tenant_id: Uuid,
    pub granted_at: DateTimeUtc,
    pub granted_by: Option<Uuid>,
    /// `None` while the grant waits for its holder's acceptance; only accepted roles count.
    pub accepted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
