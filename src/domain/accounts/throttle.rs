//! Throttling of attempts that could be guessed at: log-in (per e-mail and per client),
//! registration (per client) and the current-password check.
//!
//! Keys are keyed hashes ([`throttle_key`]), so the `login_failure` table never holds an e-mail
//! address or a client address.

use chrono::Duration;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::tokens;
use crate::domain::Services;
use crate::entities::login_failure;
use crate::error::{AppError, AppResult};

/// Keyed hash for throttling keys: never the e-mail itself.
pub(crate) fn throttle_key(
    services: &Services,
    tenant_id: Uuid,
    kind: &str,
    value: &str,
) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(&services.throttle_secret) {
        Ok(m) => m,
        Err(_) => return tokens::hash_refresh_token(&format!("{tenant_id}:{kind}:{value}")),
    };
    mac.update(format!("{tenant_id}:{kind}:{value}").as_bytes());
    tokens::hex(&mac.finalize().into_bytes())
}

/// Records one attempt under each key, then refuses with `RATE_LIMITED` when a key holds more
/// than its limit within the window, this attempt included. Recording *before* counting closes
/// the race where parallel attempts all pass a count taken before any of them was recorded.
/// Returns the ids of the rows written, so a successful attempt can take them back.
pub(crate) async fn throttle(
    services: &Services,
    tenant_id: Uuid,
    keys: &[(String, u64)],
) -> AppResult<Vec<Uuid>> {
    let now = services.clock.now();
    let window = Duration::seconds(services.login.window_secs);
    let mut ids = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        let id = Uuid::now_v7();
        login_failure::Entity::insert(login_failure::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            key_hash: Set(key.clone()),
            at: Set(now),
        })
        .exec_without_returning(&services.db)
        .await?;
        ids.push(id);
    }
    for (key, limit) in keys {
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::TenantId.eq(tenant_id))
            .filter(login_failure::Column::KeyHash.eq(key.as_str()))
            .filter(login_failure::Column::At.gt(now - window))
            .order_by_asc(login_failure::Column::At)
            .limit(*limit + 1)
            .all(&services.db)
            .await?;
        if recent.len() as u64 > *limit {
            let oldest = recent.first().map(|f| f.at).unwrap_or(now);
            let retry = (oldest + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited { retry_after_secs: retry as u64 });
        }
    }
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::TenantId.eq(tenant_id))
        .filter(login_failure::Column::At.lt(now - window))
        .exec(&services.db)
        .await?;
    Ok(ids)
}

/// Takes back a successful attempt: its own rows, and every recorded failure of `clear_key`.
pub(super) async fn forgive(
    services: &Services,
    tenant_id: Uuid,
    ids: Vec<Uuid>,
    clear_key: &str,
) -> AppResult<()> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::TenantId.eq(tenant_id))
        .filter(
            sea_orm::Condition::any()
                .add(login_failure::Column::Id.is_in(ids))
                .add(login_failure::Column::KeyHash.eq(clear_key)),
        )
        .exec(&services.db)
        .await?;
    Ok(())
}
