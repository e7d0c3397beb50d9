use sea_orm::entity::prelude::*;

use super::enums::Purpose;

/// One append-only consent event (the table refuses UPDATE and DELETE).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject_user_id: Option<Uuid>,
    pub subject_visitor_id: Option<String>,
    pub purpose: Purpose,
    pub granted: bool,
    pub recorded_at: DateTimeUtc,
    pub source: String,
    pub policy_version: Option<String>,
    pub recorded_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
