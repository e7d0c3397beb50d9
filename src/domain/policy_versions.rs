//! Privacy-policy versions (SPEC §2, issue 14): the privacy officer publishes a new version
//! (its version label, the URL of its text, when it takes effect: now or later); the current
//! version is the latest whose date has come. A new account accepts the current version
//! (`register`); a person who accepted an older one is asked to accept the new one
//! (`User.mustAcceptPolicy`) and does so with `acceptPrivacyPolicy`. Every acceptance is kept
//! (`policy_acceptances`: version and time, with the account), and the published versions stay
//! listed (`tenant { privacyPolicies }`), so the organisation can show which text a person was
//! shown when.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::Services;
use super::audit::{self, AuditRecord};
use super::tenancy::scoped;
use super::types::{self, HttpsUrl};
use crate::entities::{policy_acceptance, privacy_policy, user};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Column};

/// A version to publish, checked.
pub struct NewVersion {
    pub version: String,
    pub url: HttpsUrl,
    /// When it takes effect; `None`: now.
    pub takes_effect: Option<DateTime<Utc>>,
}

impl NewVersion {
    /// Checks what a client sent; errors name `input.<field>`.
    pub fn parse(version: &str, url: &str, takes_effect: Option<DateTime<Utc>>) -> AppResult<Self> {
        let version = types::text("input.version", version, 1, 32, false)?;
        if !version.chars().all(|c| c.is_alphanumeric() || "._-".contains(c)) {
            return Err(AppError::bad_input(
                "input.version",
                "may hold letters, digits, '.', '_' and '-' only (for example 2027-01 or v3)",
            ));
        }
        Ok(NewVersion { version, url: HttpsUrl::parse("input.url", url)?, takes_effect })
    }
}

/// Publishes a version of the actor's tenant (the privacy officer only). A date in the past is
/// refused (it would rewrite what people were shown); a version label is published once.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn publish(
    services: &Services,
    actor: &Actor,
    new: NewVersion,
) -> AppResult<privacy_policy::Model> {
    if !policy::may_publish_privacy_policy(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let at = new.takes_effect.unwrap_or(now);
    if at < now {
        return Err(AppError::bad_input("input.takesEffectAt", "cannot be in the past"));
    }
    let model = privacy_policy::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        version: new.version,
        url: new.url.into_inner(),
        published_at: at,
    };
    let row = model.clone();
    let actor = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let taken = scoped::<privacy_policy::Entity>(actor.tenant_id)
                    .filter(privacy_policy::Column::Version.eq(row.version.as_str()))
                    .count(txn)
                    .await?;
                if taken > 0 {
                    return Err(AppError::Conflict(format!(
                        "version {} is already published: choose another label",
                        row.version
                    )));
                }
                privacy_policy::Entity::insert(privacy_policy::ActiveModel::from(row.clone()))
                    .exec_without_returning(txn)
                    .await?;
                audit::record(
                    txn,
                    &actor,
                    now,
                    AuditRecord {
                        action: "privacy_policy.published",
                        category: None,
                        subject_id: None,
                        purpose: "informing people of the processing (GDPR art. 13)",
                        details: Some(serde_json::json!({
                            "version": row.version,
                            "takes_effect": row.published_at,
                        })),
                    },
                )
                .await
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict("this version is already published"))?;
    Ok(model)
}

/// The versions in force or past (newest first), a page at a time, with their total.
pub async fn history(
    services: &Services,
    tenant_id: Uuid,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<privacy_policy::Model>, u64)> {
    let q = scoped::<privacy_policy::Entity>(tenant_id)
        .filter(privacy_policy::Column::PublishedAt.lte(services.clock.now()));
    let total = q.clone().count(&services.db).await?;
    let rows = q
        .order_by_desc(privacy_policy::Column::PublishedAt)
        .order_by_desc(privacy_policy::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(&services.db)
        .await?;
    Ok((rows, total))
}

/// The current version of each of `tenants` (for the request's loader: one query).
pub async fn current_of(
    services: &Services,
    tenants: &[Uuid],
) -> AppResult<HashMap<Uuid, privacy_policy::Model>> {
    let rows = privacy_policy::Entity::find()
        .filter(privacy_policy::Column::TenantId.is_in(tenants.iter().copied()))
        .filter(privacy_policy::Column::PublishedAt.lte(services.clock.now()))
        .order_by_asc(privacy_policy::Column::PublishedAt)
        .all(&services.db)
        .await?;
    // In date order: the last one of each tenant stays.
    Ok(rows.into_iter().map(|p| (p.tenant_id, p)).collect())
}

/// Whether a person who accepted `accepted` must accept `current`.
pub fn must_accept(current: Option<&privacy_policy::Model>, accepted: Option<&str>) -> bool {
    current.is_some_and(|c| accepted != Some(c.version.as_str()))
}

/// Records that `user_id` accepted `version` at `at`: the account's latest, and the history.
pub async fn record_acceptance<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    version: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    policy_acceptance::Entity::insert(policy_acceptance::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        version: Set(version.to_owned()),
        accepted_at: Set(at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The signed-in actor accepts `version`, which must be the current one. Accepting the version
/// already accepted changes nothing.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn accept(services: &Services, actor: &Actor, version: &str) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let current = current_of(services, &[actor.tenant_id])
        .await?
        .remove(&actor.tenant_id)
        .ok_or_else(|| {
            AppError::Conflict("this organisation has not published a privacy policy yet".into())
        })?;
    if current.version != version {
        return Err(AppError::bad_input(
            "input.version",
            format!("must be the current privacy-policy version ({})", current.version),
        ));
    }
    let now = services.clock.now();
    let actor = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let account = scoped::<user::Entity>(actor.tenant_id)
                    .filter(user::Column::Id.eq(user_id))
                    .one(txn)
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                if account.accepted_policy_version.as_deref() == Some(current.version.as_str()) {
                    return Ok(());
                }
                let mut m: user::ActiveModel = account.into();
                m.accepted_policy_version = Set(Some(current.version.clone()));
                m.accepted_policy_at = Set(Some(now));
                m.updated_at = Set(now);
                m.update(txn).await?;
                record_acceptance(txn, actor.tenant_id, user_id, &current.version, now).await?;
                audit::record(
                    txn,
                    &actor,
                    now,
                    AuditRecord {
                        action: "account.policy_accepted",
                        category: None,
                        subject_id: Some(user_id),
                        purpose: Column::Subject.purpose(),
                        details: Some(serde_json::json!({ "version": current.version })),
                    },
                )
                .await
            })
        })
        .await?;
    Ok(())
}
