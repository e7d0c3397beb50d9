//! The outbox: every e-mail Pupitre sends is first a row of the `outbox` table, written in the
//! same transaction as the change it reports, so a message is queued if and only if its cause
//! was committed: payment and refund receipts, the receipts of data-subject requests and the
//! newsletter's mail, each with its own [`MailKind`].
//!
//! A row holds the tenant, the recipient's user id, the message kind, a JSON payload of ids
//! (never the rendered personal data: the sender looks names and addresses up when it sends)
//! and a status ([`OutboxStatus`]) that starts as `queued`; the worker of `domain::mail` delivers
//! it (at most once, with retries) and moves it to `sent`, `failed`, `dead` or `dropped`.
//!
//! This module must never put personal data (names, e-mail or postal addresses) in a payload
//! or a log line.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

pub use crate::entities::enums::{MailKind, OutboxStatus};
use crate::entities::outbox;
use crate::error::AppResult;

/// Queues an e-mail of `kind` for `recipient` in the caller's transaction (`conn`); the
/// payload carries ids only. `domain::mail::deliver` sends it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, outbox.kind = %kind))]
pub async fn queue_mail<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    recipient: Option<Uuid>,
    kind: MailKind,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    outbox::Entity::insert(queued(tenant_id, recipient, kind, &payload, now))
        .on_conflict(OnConflict::column(outbox::Column::Id).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A new queued message, for [`queue_mail`] and for callers that insert many at once in their
/// own transaction (a campaign's batch).
pub fn queued(
    tenant_id: Uuid,
    recipient: Option<Uuid>,
    kind: MailKind,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        recipient_id: Set(recipient),
        kind: Set(kind),
        payload: Set(payload.to_string()),
        status: Set(OutboxStatus::Queued),
        attempts: Set(0),
        created_at: Set(now),
        sent_at: Set(None),
        next_attempt_at: Set(None),
        claimed_at: Set(None),
        last_error: Set(None),
    }
}
