use sea_orm::entity::prelude::*;

/// One session bought in an order, priced from the catalogue when the order was made.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub position: i32,
    pub session_id: Uuid,
    pub course_id: Uuid,
    pub description: String,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i32,
    pub discount_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub enrollment_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
