use sea_orm::entity::prelude::*;

use super::enums::RefundStatus;

/// A refund asked by billing staff: `pending` while Stripe is asked, then `succeeded` or `failed`.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub stripe_refund_id: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}
super::redacted_debug!(Model, "Refund", id, tenant_id, order_id, amount_cents, status);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
