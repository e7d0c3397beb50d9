use sea_orm::entity::prelude::*;

pub use super::enums::{RequestChannel, RequestKind, RequestStatus};

/// A data-subject request.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_subject_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Whom the request is about.
    pub subject_id: Uuid,
    /// Who made it through the API: the subject or their guardian; null when the privacy
    /// officer registered a letter or an e-mail.
    pub requested_by: Option<Uuid>,
    pub channel: RequestChannel,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub received_at: DateTimeUtc,
    /// Received + one calendar month.
    pub due_at: DateTimeUtc,
    /// The one extension (at most two further months), with its reason.
    pub extended_until: Option<DateTimeUtc>,
    pub extension_reason: Option<String>,
    /// How identity was checked: "password re-authentication", or the privacy officer's note
    /// of the proof seen. Never a document.
    pub identity_check: String,
    /// The subject's own text (what to rectify, the post-mortem instructions, …).
    pub details: Option<String>,
    /// For a consent withdrawal: the purposes, as a JSON array of their names.
    pub purposes: Option<String>,
    pub outcome: Option<String>,
    pub refusal_reason: Option<String>,
    pub handled_by: Option<Uuid>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}
super::redacted_debug!(Model, "DataSubjectRequest", id, tenant_id, kind, status, channel);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
