use sea_orm::entity::prelude::*;

use super::enums::{MailKind, OutboxStatus};

/// An e-mail to send (receipts, confirmations), queued in the transaction that caused it.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub recipient_id: Option<Uuid>,
    pub kind: MailKind,
    /// JSON with what the message needs (ids, never the rendered personal data).
    pub payload: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// When a queued or failed message is due (null: at once).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// When a worker claimed it (the start of its last attempt).
    pub claimed_at: Option<DateTimeUtc>,
    /// The class of the last failure (an SMTP reply code or the kind of error, never an
    /// address or a server's text).
    pub last_error: Option<String>,
}
super::redacted_debug!(Model, "Outbox", id, tenant_id, kind, status);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
