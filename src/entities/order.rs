use sea_orm::entity::prelude::*;

use super::enums::OrderStatus;

/// A purchase of one or more sessions. Amounts are integer minor units, tax included.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The account that pays (`None` once that account has been erased).
    pub buyer_id: Option<Uuid>,
    /// The learner enrolled by the order: the buyer, or a ward of the buyer.
    pub learner_id: Option<Uuid>,
    pub status: OrderStatus,
    pub currency: String,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub refunded_cents: i64,
    pub idempotency_key: String,
    /// SHA-256 of the normalised request: the same key with another request is a conflict.
    pub request_hash: String,
    pub billing_name: String,
    /// JSON of the billing postal address.
    pub billing_address: String,
    pub payment_intent_id: Option<String>,
    /// Lets the buyer's browser confirm the PaymentIntent; shown to the buyer only.
    pub client_secret: Option<String>,
    pub last_payment_error: Option<String>,
    pub hold_expires_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    /// When the order was cancelled or fully refunded.
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}
super::redacted_debug!(
    Model,
    "Order",
    id,
    tenant_id,
    status,
    currency,
    total_cents,
    payment_intent_id
);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
