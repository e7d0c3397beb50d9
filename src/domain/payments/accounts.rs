//! Whose Stripe account takes a tenant's payments (issue 14, item 6).
//!
//! Each organisation is the controller and the merchant: its learners pay into its own Stripe
//! account. A tenant's admin gives Pupitre the account's secret key and the signing secret of
//! the webhook endpoint `/webhooks/stripe/<tenant slug>` ([`configure`]); both are sealed with
//! the master-key envelope of the document vault (a data key per row, wrapped under the current
//! master key, the tenant id bound as associated data) in `payment_accounts`, and never shown
//! again (the last four characters of the secret key are).
//!
//! The installation's own keys (`PUPITRE_STRIPE_SECRET_KEY`, `PUPITRE_STRIPE_WEBHOOK_SECRET`)
//! serve one organisation only: the tenant named by `PUPITRE_STRIPE_TENANT`, or, when that is
//! not set, the installation's only tenant (a single-organisation installation, the demo). Any
//! other tenant without keys of its own answers `UNAVAILABLE` at checkout: its payments never
//! land in another organisation's account. ([`account_for`])
//!
//! Chosen over Stripe Connect (`Stripe-Account` header on the platform's key): Connect makes the
//! operator a Stripe platform with its own obligations and onboarding; per-tenant keys keep
//! each organisation's Stripe relationship its own and need nothing from the operator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::StripeGateway;
use crate::config::Secret;
use crate::domain::Services;
use crate::domain::equal_opportunity::vault;
use crate::entities::payment_account;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// The Stripe account a tenant's payments go to.
pub struct Account {
    pub gateway: Arc<StripeGateway>,
    pub webhook_secret: Secret,
    /// Whether these are the installation's keys (else the tenant's own).
    pub installation: bool,
}

/// A tenant's account as built, with the version of its row it was built from.
type Built = (DateTime<Utc>, Arc<Account>);

/// The installation's keys and what building a tenant's gateway needs; the tenants' gateways,
/// built once per key version.
pub struct Accounts {
    installation: Arc<Account>,
    /// `PUPITRE_STRIPE_TENANT`: the tenant the installation's keys serve.
    installation_tenant: Option<String>,
    api_base: Option<String>,
    timeout: Duration,
    built: Mutex<HashMap<Uuid, Built>>,
}

impl Accounts {
    pub fn new(
        gateway: StripeGateway,
        webhook_secret: Secret,
        installation_tenant: Option<String>,
        api_base: Option<String>,
        timeout: Duration,
    ) -> Self {
        Accounts {
            installation: Arc::new(Account {
                gateway: Arc::new(gateway),
                webhook_secret,
                installation: true,
            }),
            installation_tenant,
            api_base,
            timeout,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The installation's gateway (tests and the metrics read it).
    pub fn installation(&self) -> &Arc<Account> {
        &self.installation
    }
}

fn not_set_up() -> AppError {
    AppError::Unavailable {
        then: "nothing was kept: this organisation has not set up its payments yet",
        source: "no Stripe account for this tenant".into(),
    }
}

/// The sealed part of a row.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    secret_key: String,
    webhook_secret: String,
}

/// The account of `tenant_id`: its own keys, else the installation's when they serve it, else
/// `UNAVAILABLE`.
pub async fn account_for(services: &Services, tenant_id: Uuid) -> AppResult<Arc<Account>> {
    let accounts = &services.payments.accounts;
    let Some(row) = payment_account::Entity::find_by_id(tenant_id).one(&services.db).await? else {
        return installation_for(services, tenant_id).await;
    };
    if let Ok(built) = accounts.built.lock()
        && let Some((at, account)) = built.get(&tenant_id)
        && *at == row.updated_at
    {
        return Ok(Arc::clone(account));
    }
    let plain = Zeroizing::new(
        vault::open(
            &services.documents.keys,
            tenant_id,
            &row.key_id,
            &row.wrapped_key,
            &row.sealed,
        )
        .map_err(|e| AppError::internal("opening a tenant's Stripe keys", e))?,
    );
    let keys: Sealed = serde_json::from_slice(&plain)
        .map_err(|e| AppError::internal("reading a tenant's Stripe keys", e))?;
    let gateway =
        StripeGateway::new(&keys.secret_key, accounts.api_base.as_deref(), accounts.timeout)
            .map_err(|e| AppError::internal("building a tenant's Stripe client", e))?;
    let account = Arc::new(Account {
        gateway: Arc::new(gateway),
        webhook_secret: Secret::new(keys.webhook_secret),
        installation: false,
    });
    if let Ok(mut built) = accounts.built.lock() {
        built.insert(tenant_id, (row.updated_at, Arc::clone(&account)));
    }
    Ok(account)
}

/// The tenant the installation's keys serve: `PUPITRE_STRIPE_TENANT`, else the only tenant.
pub async fn installation_tenant(services: &Services) -> AppResult<Option<Uuid>> {
    Ok(match &services.payments.accounts.installation_tenant {
        Some(slug) => services.tenants.by_slug(slug).await?.map(|t| t.id),
        None => {
            let all = services.tenants.all().await?;
            if all.len() == 1 { all.first().map(|t| t.id) } else { None }
        }
    })
}

/// The installation's account, if it serves `tenant_id`.
async fn installation_for(services: &Services, tenant_id: Uuid) -> AppResult<Arc<Account>> {
    if installation_tenant(services).await? == Some(tenant_id) {
        Ok(Arc::clone(&services.payments.accounts.installation))
    } else {
        Err(not_set_up())
    }
}

/// A tenant's account as its admin sees it.
#[derive(Clone, Debug)]
pub struct AccountInfo {
    /// Whether the tenant has keys of its own (else the installation's serve it, or nothing).
    pub own_keys: bool,
    /// Whether checkout works for this tenant.
    pub ready: bool,
    pub publishable_key: Option<String>,
    pub secret_key_last4: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What the admin gives.
pub struct NewKeys {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
}

impl NewKeys {
    /// Checks the keys' shapes (a restricted key `rk_…` is accepted; a publishable key where the
    /// secret key goes is refused); errors name `input.<field>`.
    pub fn parse(secret_key: &str, publishable_key: &str, webhook_secret: &str) -> AppResult<Self> {
        let shaped = |field: &str, v: &str, prefixes: &[&str]| -> AppResult<String> {
            let v = v.trim();
            let ok = prefixes.iter().any(|p| v.starts_with(p))
                && (20..=255).contains(&v.len())
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(v.to_owned())
            } else {
                Err(AppError::bad_input(
                    field,
                    format!("must be a Stripe key starting with {}", prefixes.join(" or ")),
                ))
            }
        };
        Ok(NewKeys {
            secret_key: shaped(
                "input.secretKey",
                secret_key,
                &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
            )?,
            publishable_key: shaped(
                "input.publishableKey",
                publishable_key,
                &["pk_live_", "pk_test_"],
            )?,
            webhook_secret: shaped("input.webhookSecret", webhook_secret, &["whsec_"])?,
        })
    }
}

/// What the actor's tenant has (admins only).
pub async fn info(services: &Services, actor: &Actor) -> AppResult<AccountInfo> {
    if !policy::may_configure_payments(actor) {
        return Err(AppError::Forbidden);
    }
    let row = payment_account::Entity::find_by_id(actor.tenant_id).one(&services.db).await?;
    Ok(match row {
        Some(r) => AccountInfo {
            own_keys: true,
            ready: true,
            publishable_key: Some(r.publishable_key),
            secret_key_last4: Some(r.secret_key_last4),
            updated_at: Some(r.updated_at),
        },
        None => AccountInfo {
            own_keys: false,
            ready: installation_for(services, actor.tenant_id).await.is_ok(),
            publishable_key: None,
            secret_key_last4: None,
            updated_at: None,
        },
    })
}

/// Stores the actor's tenant's keys (admins only; audited, without the keys), replacing any
/// earlier ones: the next checkout and webhook use them.
pub async fn configure(
    services: &Services,
    actor: &Actor,
    keys: NewKeys,
) -> AppResult<AccountInfo> {
    if !policy::may_configure_payments(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let last4: String =
        keys.secret_key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let plain = Zeroizing::new(
        serde_json::to_vec(&Sealed {
            secret_key: keys.secret_key,
            webhook_secret: keys.webhook_secret,
        })
        .map_err(|e| AppError::internal("sealing a tenant's Stripe keys", e))?,
    );
    let sealed = vault::seal(&services.documents.keys, actor.tenant_id, &plain)
        .map_err(|e| AppError::internal("sealing a tenant's Stripe keys", e))?;
    let row = payment_account::ActiveModel {
        tenant_id: Set(actor.tenant_id),
        publishable_key: Set(keys.publishable_key),
        secret_key_last4: Set(last4),
        key_id: Set(sealed.key_id),
        wrapped_key: Set(sealed.wrapped_key),
        sealed: Set(sealed.blob),
        updated_at: Set(now),
    };
    let actor2 = actor.clone();
    use sea_orm::TransactionTrait as _;
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                payment_account::Entity::insert(row)
                    .on_conflict(
                        OnConflict::column(payment_account::Column::TenantId)
                            .update_columns([
                                payment_account::Column::PublishableKey,
                                payment_account::Column::SecretKeyLast4,
                                payment_account::Column::KeyId,
                                payment_account::Column::WrappedKey,
                                payment_account::Column::Sealed,
                                payment_account::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?;
                crate::domain::audit::record(
                    txn,
                    &actor2,
                    now,
                    crate::domain::audit::AuditRecord {
                        action: "payments.account_configured",
                        category: None,
                        subject_id: None,
                        purpose: "taking the organisation's payments",
                        details: None,
                    },
                )
                .await
            })
        })
        .await?;
    info(services, actor).await
}
