use sea_orm::entity::prelude::*;

use super::enums::DocumentKind;

/// A supporting document's metadata and wrapped data key; the content is encrypted in the
/// document store under `storage_key`.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "eo_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub application_id: Uuid,
    pub kind: DocumentKind,
    pub original_name: String,
    /// Decided from the content's magic bytes.
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub last_contact_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}
super::redacted_debug!(Model, "EoDocument", id, tenant_id, application_id, mime_type, size_bytes);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
