use sea_orm::entity::prelude::*;

pub use super::enums::NewsletterStatus;

/// A newsletter subscription (account not required), with its double opt-in and its proof of
/// consent. The address is found by `email_hash` (the suppression list's keyed hash).
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletter_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub email: String,
    pub email_hash: String,
    /// JSON array of topic keys.
    pub topics: String,
    pub locale: String,
    pub status: NewsletterStatus,
    /// SHA-256 of the single-use confirmation token (null once used).
    pub confirm_token_hash: Option<String>,
    pub confirm_expires_at: Option<DateTimeUtc>,
    /// Proof of consent: when it was confirmed, where it was given, under which policy version
    /// and for which topics (JSON array).
    pub consented_at: Option<DateTimeUtc>,
    pub consent_source: Option<String>,
    pub consent_policy_version: Option<String>,
    pub consent_topics: Option<String>,
    pub unsubscribed_at: Option<DateTimeUtc>,
    pub last_interaction_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Soft bounces reported for the address (reset by nothing: past the limit it is
    /// suppressed).
    pub soft_bounces: i32,
}
super::redacted_debug!(Model, "NewsletterSubscription", id, tenant_id, user_id, status);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
