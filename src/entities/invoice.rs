use sea_orm::entity::prelude::*;

use super::enums::InvoiceSeries;

/// An invoice (series `F`) or credit note (series `AV`): numbered without gaps per tenant and
/// series, with an immutable snapshot of what was sold to whom.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub buyer_id: Option<Uuid>,
    pub series: InvoiceSeries,
    pub seq: i64,
    pub number: String,
    pub refund_id: Option<Uuid>,
    pub credits_invoice_id: Option<Uuid>,
    pub currency: String,
    pub total_cents: i64,
    pub tax_cents: i64,
    /// JSON: buyer name, billing address, lines, tax and totals as issued.
    pub snapshot: String,
    pub issued_at: DateTimeUtc,
}
super::redacted_debug!(Model, "Invoice", id, tenant_id, order_id, number);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
