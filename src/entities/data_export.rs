use sea_orm::entity::prelude::*;

/// An access or portability export: the encrypted ZIP in the document store under
/// `storage_key`, its data key wrapped under the master key, and when it goes.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject_id: Uuid,
    pub request_id: Uuid,
    pub storage_key: String,
    /// Size of the ZIP as downloaded (plaintext), in bytes.
    pub size_bytes: i64,
    /// The master key that wraps `wrapped_key`.
    pub key_id: String,
    /// The vault's wrapped key of `sealed_key` (see `domain::privacy::export::sealing`).
    pub wrapped_key: Vec<u8>,
    /// The export's data key, sealed by the vault under `wrapped_key`.
    pub sealed_key: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}
super::redacted_debug!(Model, "DataExport", id, tenant_id, request_id, size_bytes, expires_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
