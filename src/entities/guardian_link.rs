use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "guardian_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub guardian_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub minor_id: Uuid,
    pub tenant_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
