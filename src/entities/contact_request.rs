use sea_orm::entity::prelude::*;

pub use super::enums::ContactRequestStatus;

/// A prospect's request for information (contact form), with their contact choices. Found by
/// `email_hash` (the suppression list's keyed hash of the address) for access and erasure.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The account of a signed-in requester.
    pub user_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub email_hash: String,
    pub phone: Option<String>,
    pub course_id: Option<Uuid>,
    pub message: String,
    pub locale: String,
    /// May be contacted about other offers by e-mail.
    pub contact_consent: bool,
    /// May be contacted about other offers by phone.
    pub phone_consent: bool,
    pub consent_policy_version: Option<String>,
    pub status: ContactRequestStatus,
    pub created_at: DateTimeUtc,
    /// The last exchange with the person: the 3-year retention runs from here.
    pub last_contact_at: DateTimeUtc,
}
super::redacted_debug!(Model, "ContactRequest", id, tenant_id, user_id, status);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
