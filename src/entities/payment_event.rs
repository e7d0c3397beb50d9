use sea_orm::entity::prelude::*;

use super::enums::PaymentEventOutcome;

/// A Stripe webhook event, stored when processed: its id is the exactly-once guard.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: Option<Uuid>,
    pub event_type: String,
    pub payment_intent_id: Option<String>,
    pub order_id: Option<Uuid>,
    /// What processing did.
    pub outcome: PaymentEventOutcome,
    /// When Stripe created the event.
    pub created_at: DateTimeUtc,
    pub processed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
