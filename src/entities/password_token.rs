use sea_orm::entity::prelude::*;

/// A one-time set-password token (see `domain::accounts::set_password`): its SHA-256 only.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "password_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

super::redacted_debug!(Model, "PasswordToken", id, tenant_id, user_id, expires_at, used_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
