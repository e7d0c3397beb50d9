//! Key rotation: every document key wrapped under an older master key is wrapped again under
//! the current one (see [`vault`](super::vault)), checked to open before it is saved; so are the
//! keys sealing each tenant's Stripe keys (`payment_accounts`, the same envelope). Run from the
//! command line; safe to re-run.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{DocumentConfig, vault};
use crate::entities::{eo_document, payment_account};
use crate::error::{AppError, AppResult};

/// Re-wraps every document key not under the current master key (key rotation), checking
/// that each document still opens with its new wrapped key before saving it. Returns how many
/// were moved. Safe to re-run (documents already under the current key are skipped).
#[tracing::instrument(skip_all)]
pub async fn rotate_keys(
    db: &sea_orm::DatabaseConnection,
    docs: &DocumentConfig,
) -> AppResult<u64> {
    let current = docs.keys.current_kid().to_owned();
    let stale = eo_document::Entity::find()
        .filter(eo_document::Column::KeyId.ne(current.as_str()))
        .all(db)
        .await?;
    let mut moved = 0;
    for d in stale {
        let (kid, wrapped) = vault::rewrap(&docs.keys, d.id, &d.key_id, &d.wrapped_key)
            .map_err(|e| AppError::internal("re-wrapping a document key", e))?;
        let blob = docs
            .store
            .get(&d.storage_key)
            .await
            .map_err(|e| AppError::internal("reading a document to rotate its key", e))?;
        vault::open(&docs.keys, d.id, &kid, &wrapped, &blob)
            .map_err(|e| AppError::internal("checking a re-wrapped document key", e))?;
        let res = eo_document::Entity::update_many()
            .col_expr(eo_document::Column::KeyId, Expr::value(kid))
            .col_expr(eo_document::Column::WrappedKey, Expr::value(wrapped))
            .filter(eo_document::Column::Id.eq(d.id))
            .filter(eo_document::Column::KeyId.eq(d.key_id.as_str()))
            .exec(db)
            .await?;
        moved += res.rows_affected;
    }
    let stale = payment_account::Entity::find()
        .filter(payment_account::Column::KeyId.ne(current.as_str()))
        .all(db)
        .await?;
    for a in stale {
        let (kid, wrapped) = vault::rewrap(&docs.keys, a.tenant_id, &a.key_id, &a.wrapped_key)
            .map_err(|e| AppError::internal("re-wrapping a tenant's Stripe keys", e))?;
        vault::open(&docs.keys, a.tenant_id, &kid, &wrapped, &a.sealed)
            .map_err(|e| AppError::internal("checking re-wrapped Stripe keys", e))?;
        let res = payment_account::Entity::update_many()
            .col_expr(payment_account::Column::KeyId, Expr::value(kid))
            .col_expr(payment_account::Column::WrappedKey, Expr::value(wrapped))
            .filter(payment_account::Column::TenantId.eq(a.tenant_id))
            .filter(payment_account::Column::KeyId.eq(a.key_id.as_str()))
            .exec(db)
            .await?;
        moved += res.rows_affected;
    }
    Ok(moved)
}
