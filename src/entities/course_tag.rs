use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "course_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub course_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag: String,
    pub tenant_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
