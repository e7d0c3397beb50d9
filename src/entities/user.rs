use sea_orm::entity::prelude::*;

use super::enums::{AccountStatus, Civility};

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub civility: Option<Civility>,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub birth_date: Option<Date>,
    pub locale: String,
    pub status: AccountStatus,
    pub last_contact_at: Option<DateTimeUtc>,
    pub accepted_policy_version: Option<String>,
    /// The name an instructor appears under publicly (catalogue); never set for learners.
    pub display_name: Option<String>,
    pub accepted_policy_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

super::redacted_debug!(Model, "User", id, tenant_id, status);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
