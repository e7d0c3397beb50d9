//! Business rules, one module per area. Services own transactions and take the [`Actor`]
//! explicitly; they never know about GraphQL or HTTP.
//!
//! [`Actor`]: crate::policy::Actor

pub mod accounts;
pub mod audit;
pub mod batch;
pub mod campaigns;
pub mod catalog;
pub mod consent;
pub mod equal_opportunity;
pub mod in_order;
pub mod learning;
pub mod mail;
pub mod narrowing;
pub mod newsletter;
pub mod outbox;
pub mod payments;
pub mod platform;
pub mod policy_versions;
pub mod privacy;
pub mod prospects;
pub mod retention;
pub mod shop;
pub mod tenancy;
pub mod tenant_settings;
pub mod types;
pub mod visibility;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::db::StatementCounter;

/// A sub-key for one purpose (HMAC of the label under the master secret), so a key never
/// serves two purposes.
fn derive_key(secret: &[u8], label: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(label);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => secret.to_vec(),
    }
}

/// The time source; tests inject a fixed or moving clock.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

/// Everything the domain needs, built once at start-up and shared by every request.
#[derive(Clone)]
pub struct Services {
    pub(crate) db: DatabaseConnection,
    pub clock: Clock,
    pub tenants: tenancy::TenantDirectory,
    pub tokens: accounts::tokens::TokenService,
    pub login: accounts::LoginPolicy,
    pub statements: StatementCounter,
    /// Keys the hashes of log-in throttling keys, so the table never holds e-mail addresses.
    pub(crate) throttle_secret: Arc<Vec<u8>>,
    /// Keys the hashes of the marketing suppression list, so it never holds an address.
    pub(crate) suppression_secret: Arc<Vec<u8>>,
    /// Keys the pseudonyms an erasure gives a person in the append-only tables.
    pub(crate) pseudonym_secret: Arc<Vec<u8>>,
    /// Signs the short-lived download links of data exports.
    pub(crate) export_link_secret: Arc<Vec<u8>>,
    /// Makes the newsletter's confirmation and unsubscribe tokens.
    pub(crate) newsletter_secret: Arc<Vec<u8>>,
    /// E-mail delivery: settings and templates.
    pub mail: mail::Mailer,
    pub payments: payments::Payments,
    pub shop: ShopConfig,
    /// Document encryption keys, store and upload limits.
    pub documents: equal_opportunity::DocumentConfig,
    /// The retention sweep's schedule and batch size.
    pub retention: retention::SweepConfig,
}

/// Shop settings.
#[derive(Clone, Copy, Debug)]
pub struct ShopConfig {
    /// How long an unpaid order holds its seats.
    pub hold_secs: i64,
}

impl Services {
    pub fn new(
        db: DatabaseConnection,
        statements: StatementCounter,
        settings: &Settings,
        clock: Clock,
        gateway: payments::StripeGateway,
        documents: equal_opportunity::DocumentConfig,
        mail: mail::Mailer,
    ) -> Self {
        Services {
            mail,
            newsletter_secret: Arc::new(derive_key(
                settings.jwt_secret.expose().as_bytes(),
                b"pupitre/newsletter-token/v1",
            )),
            documents,
            payments: payments::Payments {
                accounts: Arc::new(payments::accounts::Accounts::new(
                    gateway,
                    settings.stripe_webhook_secret.clone(),
                    settings.stripe_tenant.clone(),
                    settings.stripe_api_base.clone(),
                    std::time::Duration::from_millis(settings.stripe_timeout_ms),
                )),
                tolerance_secs: settings.stripe_webhook_tolerance_secs,
                stats: payments::StripeStats::default(),
            },
            shop: ShopConfig { hold_secs: settings.order_hold_secs },
            retention: retention::SweepConfig {
                interval_secs: settings.retention_interval_secs,
                batch_size: settings.retention_batch_size,
            },
            tenants: tenancy::TenantDirectory::new(db.clone()),
            tokens: accounts::tokens::TokenService::new(settings),
            login: accounts::LoginPolicy {
                max_failures: settings.login_max_failures,
                window_secs: settings.login_window_secs,
                refresh_ttl_secs: settings.refresh_token_ttl_secs,
            },
            throttle_secret: Arc::new(derive_key(
                settings.jwt_secret.expose().as_bytes(),
                b"pupitre/login-throttle/v1",
            )),
            suppression_secret: Arc::new(derive_key(
                settings.jwt_secret.expose().as_bytes(),
                b"pupitre/marketing-suppression/v1",
            )),
            pseudonym_secret: Arc::new(derive_key(
                settings.jwt_secret.expose().as_bytes(),
                b"pupitre/erasure-pseudonym/v1",
            )),
            export_link_secret: Arc::new(derive_key(
                settings.jwt_secret.expose().as_bytes(),
                b"pupitre/export-link/v1",
            )),
            db,
            clock,
            statements,
        }
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ready(&self) -> bool {
        crate::db::ping(&self.db).await
    }
}
