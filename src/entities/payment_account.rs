use sea_orm::entity::prelude::*;

/// A tenant's own Stripe account (see `domain::payments::accounts`): the secret key and the
/// webhook signing secret sealed under the master key; never in `Debug`.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub publishable_key: String,
    pub secret_key_last4: String,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub sealed: Vec<u8>,
    pub updated_at: DateTimeUtc,
}

super::redacted_debug!(Model, "PaymentAccount", tenant_id, updated_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
