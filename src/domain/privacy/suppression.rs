//! The marketing suppression list: addresses that must never receive marketing again, because
//! their owner objected (GDPR art. 21(2) and (3)) or was erased (art. 17). It has to outlive
//! both: after an erasure, nothing else remembers that the address ever asked not to be mailed,
//! and a newsletter import or an audience could bring it back.
//!
//! So the list keeps only a keyed hash (HMAC-SHA-256, the way log-in throttling keys its
//! hashes, under its own derived key) of the tenant and the normalised address: an entry is
//! found by hashing an address one already has, never read back as an address. The newsletter
//! (not written yet) and any audience ask [`is_suppressed`] before they mail anyone.
//!
//! This module must never store, return or log an address.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::enums::SuppressionReason;
use crate::entities::{marketing_suppression as ms, user};
use crate::error::AppResult;

/// The normalised form of an address (trimmed, lower case), as hashed.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The keyed hash the list holds for `email` in `tenant_id` (hex).
pub fn email_hash(services: &Services, tenant_id: Uuid, email: &str) -> String {
    use hmac::{Hmac, Mac};
    let message = format!("{tenant_id}:{}", normalise(email));
    match Hmac::<sha2::Sha256>::new_from_slice(&services.suppression_secret) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            hex(&mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is never reached.
        Err(_) => crate::domain::accounts::tokens::hash_refresh_token(&message),
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::domain::accounts::tokens::hex(bytes)
}

/// Puts `email` on the list (once: a second call keeps the first entry and its reason), in the
/// caller's transaction. Returns whether it added an entry.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, suppression.reason = %reason))]
pub async fn suppress<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    tenant_id: Uuid,
    email: &str,
    reason: SuppressionReason,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = ms::Entity::insert(ms::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        email_hash: Set(email_hash(services, tenant_id, email)),
        reason: Set(reason),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([ms::Column::TenantId, ms::Column::EmailHash]).do_nothing().to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(res > 0)
}

/// Puts the address of account `person` on the list, if the account still has one.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, user.id = %person))]
pub async fn suppress_person<C: ConnectionTrait>(
    conn: &C,
    services: &Services,
    tenant_id: Uuid,
    person: Uuid,
    reason: SuppressionReason,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let email = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.eq(person))
        .one(conn)
        .await?
        .and_then(|u| u.email);
    match email {
        Some(e) => {
            suppress(conn, services, tenant_id, &e, reason, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Whether `email` must never receive marketing from `tenant_id` (for the newsletter and any
/// audience). Compared by keyed hash; the address is not kept.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn is_suppressed(services: &Services, tenant_id: Uuid, email: &str) -> AppResult<bool> {
    Ok(scoped::<ms::Entity>(tenant_id)
        .filter(ms::Column::EmailHash.eq(email_hash(services, tenant_id, email)))
        .one(&services.db)
        .await?
        .is_some())
}
