//! Public facts about the tenant: its name, its data-protection officer, its privacy policy.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use crate::domain::accounts;
use crate::error::IntoGql;

/// A published privacy-policy version.
#[derive(SimpleObject)]
pub struct PrivacyPolicy {
    pub version: String,
    pub url: String,
    pub published_at: DateTime<Utc>,
}

/// The organisation behind this API, as its privacy policy presents it.
#[derive(SimpleObject)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    /// The data-protection officer's published contact.
    pub dpo_name: String,
    pub dpo_email: String,
    /// The version a new account must accept.
    pub privacy_policy: Option<PrivacyPolicy>,
}

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The organisation this request is for.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantInfo> {
        let s = services(ctx).gql()?;
        let t = &request(ctx).gql()?.tenant;
        let policy = accounts::current_policy(s, t.id).await.gql()?;
        Ok(TenantInfo {
            slug: t.slug.clone(),
            name: t.name.clone(),
            dpo_name: t.dpo_name.clone(),
            dpo_email: t.dpo_email.clone(),
            privacy_policy: policy.map(|p| PrivacyPolicy {
                version: p.version,
                url: p.url,
                published_at: p.published_at,
            }),
        })
    }
}
