//! The platform operator's commands on tenants (`pupitre tenant …`): create (idempotent), list,
//! update. The operator works from the shell of the installation and has no GraphQL access to
//! tenants' personal data; what they change is written to the platform's own log
//! (`platform_log`, one row per change, in the change's transaction), which names organisations
//! only and outlives a tenant.
//!
//! - [`export`]: the whole tenant as a ZIP (`tenant export`);
//! - [`offboard`]: export, then destruction of every row and blob (`tenant offboard`);
//! - [`tables`]: which tables hold a tenant's rows, found from the registry and the schema.

pub mod export;
pub mod offboard;
pub mod tables;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use super::Services;
use super::tenancy::{self, NewTenant, Tenant};
use super::types::{Email, Slug};
use crate::entities::{platform_log, tenant};
use crate::error::{AppError, AppResult};

/// Writes one row of the platform's log.
pub async fn log<C: ConnectionTrait>(
    conn: &C,
    at: DateTime<Utc>,
    command: &str,
    tenant_slug: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    platform_log::Entity::insert(platform_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(at),
        command: Set(command.to_owned()),
        tenant_slug: Set(tenant_slug.to_owned()),
        details: Set(details),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A host name as a tenant's storefront uses it: lower case, no scheme, port or path.
pub fn host(field: &str, raw: &str) -> AppResult<String> {
    let h = raw.trim().to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(h)
    } else {
        Err(AppError::bad_input(field, "must be a host name such as formation.example.org"))
    }
}

/// What `tenant create` did.
pub enum Created {
    New(Tenant),
    /// A tenant with this slug and these values already existed: nothing was changed.
    Unchanged(Tenant),
}

/// Creates a tenant with its first privacy-policy version; run again with the same values it
/// changes nothing (`Unchanged`); with other values for an existing slug it is a `CONFLICT`
/// that points at `tenant update`.
pub async fn create_tenant(
    services: &Services,
    new: NewTenant,
    policy_version: &str,
    policy_url: &str,
) -> AppResult<Created> {
    if let Some(t) = services.tenants.by_slug(new.slug.as_str()).await? {
        let same = t.name == new.name
            && t.dpo_name == new.dpo_name
            && t.dpo_email == new.dpo_email.as_str()
            && t.host == new.host;
        return if same {
            Ok(Created::Unchanged((*t).clone()))
        } else {
            Err(AppError::Conflict(format!(
                "tenant `{}` exists with other values: change them with `pupitre tenant update`",
                t.slug
            )))
        };
    }
    if let Some(h) = &new.host {
        refuse_taken_host(&services.db, h, None).await?;
    }
    Ok(Created::New(tenancy::create(services, new, policy_version, policy_url).await?))
}

/// `CONFLICT` when another tenant than `except` answers on `host`.
async fn refuse_taken_host<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    except: Option<Uuid>,
) -> AppResult<()> {
    let taken = tenant::Entity::find()
        .filter(tenant::Column::Host.eq(host))
        .one(conn)
        .await?
        .filter(|t| Some(t.id) != except);
    match taken {
        Some(t) => {
            Err(AppError::Conflict(format!("host `{host}` is already used by tenant `{}`", t.slug)))
        }
        None => Ok(()),
    }
}

/// Every tenant of the installation, by slug.
pub async fn list_tenants(services: &Services) -> AppResult<Vec<tenant::Model>> {
    Ok(tenant::Entity::find().order_by_asc(tenant::Column::Slug).all(&services.db).await?)
}

/// Changes to a tenant's identity; `None` leaves a value as it is. (No `Debug`: it may hold the
/// DPO's name.)
#[derive(Default)]
pub struct TenantUpdate {
    pub name: Option<String>,
    pub dpo_name: Option<String>,
    pub dpo_email: Option<Email>,
    /// `Some(None)` removes the host.
    pub host: Option<Option<String>>,
}

/// Applies `update` to the tenant `slug` and logs what changed, in one transaction; `false`
/// when nothing differs. The log says whether the DPO contact changed, never what it is.
pub async fn update_tenant(
    services: &Services,
    slug: &Slug,
    update: TenantUpdate,
) -> AppResult<bool> {
    let now = services.clock.now();
    let slug = slug.as_str().to_owned();
    let changed = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                // Read inside the transaction: what is logged is what changed.
                let current = tenant::Entity::find()
                    .filter(tenant::Column::Slug.eq(slug.as_str()))
                    .one(txn)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if let Some(Some(h)) = &update.host {
                    refuse_taken_host(txn, h, Some(current.id)).await?;
                }
                let mut next = current.clone();
                if let Some(n) = update.name {
                    next.name = n;
                }
                if let Some(n) = update.dpo_name {
                    next.dpo_name = n;
                }
                if let Some(e) = update.dpo_email {
                    next.dpo_email = e.into_inner();
                }
                if let Some(h) = update.host {
                    next.host = h;
                }
                if next == current {
                    return Ok(false);
                }
                let details = serde_json::json!({
                    "name": (next.name != current.name).then_some(&next.name),
                    "host": (next.host != current.host).then_some(&next.host),
                    "dpo_changed": next.dpo_name != current.dpo_name
                        || next.dpo_email != current.dpo_email,
                });
                let mut active: tenant::ActiveModel = current.into();
                active.name = Set(next.name.clone());
                active.dpo_name = Set(next.dpo_name.clone());
                active.dpo_email = Set(next.dpo_email.clone());
                active.host = Set(next.host.clone());
                tenant::Entity::update(active).exec(txn).await?;
                log(txn, now, "tenant.update", &next.slug, details).await?;
                Ok(true)
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("this host is already used by another tenant")
        })?;
    services.tenants.invalidate().await;
    Ok(changed)
}
