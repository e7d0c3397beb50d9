//! Public facts about the tenant: its name, its data-protection officer, its privacy policy
//! and the versions published before; the privacy officer publishes a new version, and a
//! signed-in person accepts the current one.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::context::{request, services};
use super::pagination::{offset_cursor, offset_page};
use crate::domain::accounts;
use crate::domain::policy_versions::{self, NewVersion};
use crate::domain::{tenant_settings, types};
use crate::entities::privacy_policy;
use crate::error::IntoGql;

/// A published privacy-policy version.
#[derive(SimpleObject)]
pub struct PrivacyPolicy {
    pub version: String,
    pub url: String,
    /// When it took (or takes) effect.
    pub published_at: DateTime<Utc>,
}

impl From<privacy_policy::Model> for PrivacyPolicy {
    fn from(p: privacy_policy::Model) -> Self {
        PrivacyPolicy { version: p.version, url: p.url, published_at: p.published_at }
    }
}

#[derive(SimpleObject)]
pub struct PrivacyPolicyConnectionFields {
    pub total_count: u64,
}

pub type PrivacyPolicyConnection =
    Connection<String, PrivacyPolicy, PrivacyPolicyConnectionFields, EmptyFields>;

/// The organisation behind this API, as its privacy policy presents it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TenantInfo {
    #[graphql(skip)]
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The data-protection officer's published contact.
    pub dpo_name: String,
    pub dpo_email: String,
    /// The version a new account must accept.
    pub privacy_policy: Option<PrivacyPolicy>,
}

#[ComplexObject]
impl TenantInfo {
    /// Every version in force now or before, newest first (what people were shown when).
    /// `first` ≤ 50.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn privacy_policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PrivacyPolicyConnection> {
        let s = services(ctx).gql()?;
        let (first, offset) = offset_page(first, after.as_deref(), "policy", 50).gql()?;
        let (rows, total) = policy_versions::history(s, self.id, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            PrivacyPolicyConnectionFields { total_count: total },
        );
        conn.edges.extend(rows.into_iter().enumerate().map(|(i, p)| {
            Edge::new(offset_cursor("policy", offset + i as u64), PrivacyPolicy::from(p))
        }));
        Ok(conn)
    }
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
            id: t.id,
            slug: t.slug.clone(),
            name: t.name.clone(),
            dpo_name: t.dpo_name.clone(),
            dpo_email: t.dpo_email.clone(),
            privacy_policy: policy.map(PrivacyPolicy::from),
        })
    }
}

/// A new privacy-policy version.
#[derive(InputObject)]
pub struct PublishPrivacyPolicyInput {
    /// Its label, once per organisation (letters, digits, `.`, `_`, `-`; e.g. `2027-01`).
    pub version: String,
    /// Where its text is published (https).
    pub url: String,
    /// When it takes effect (now when omitted; never in the past). From then on, people who
    /// accepted an earlier version are asked to accept it (`User.mustAcceptPolicy`).
    pub takes_effect_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct PublishPrivacyPolicyPayload {
    pub privacy_policy: PrivacyPolicy,
}

#[derive(InputObject)]
pub struct AcceptPrivacyPolicyInput {
    /// The version read and accepted: must be the current one.
    pub version: String,
}

#[derive(SimpleObject)]
pub struct AcceptPrivacyPolicyPayload {
    pub accepted_version: String,
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Publishes a new privacy-policy version (the privacy officer; audited).
    async fn publish_privacy_policy(
        &self,
        ctx: &Context<'_>,
        input: PublishPrivacyPolicyInput,
    ) -> async_graphql::Result<PublishPrivacyPolicyPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let new = NewVersion::parse(&input.version, &input.url, input.takes_effect_at).gql()?;
        let published = policy_versions::publish(s, &actor, new).await.gql()?;
        Ok(PublishPrivacyPolicyPayload { privacy_policy: published.into() })
    }

    /// Accepts the current privacy-policy version (recorded with the version and the time;
    /// earlier acceptances are kept).
    async fn accept_privacy_policy(
        &self,
        ctx: &Context<'_>,
        input: AcceptPrivacyPolicyInput,
    ) -> async_graphql::Result<AcceptPrivacyPolicyPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        policy_versions::accept(s, &actor, &input.version).await.gql()?;
        Ok(AcceptPrivacyPolicyPayload { accepted_version: input.version })
    }
}

/// An organisation's settings (admins and the privacy officer).
#[derive(SimpleObject)]
pub struct TenantSettings {
    pub name: String,
    /// The storefront host requests are recognised by (set by the platform operator).
    pub host: Option<String>,
    /// The data-protection officer's published contact.
    pub dpo_name: String,
    pub dpo_email: String,
    /// The language of new accounts that do not say theirs.
    pub default_locale: String,
    /// How long an unpaid order holds its seats.
    pub order_hold_minutes: i32,
    /// Supporting documents: largest file, and files per application, in effect.
    pub upload_max_file_bytes: i32,
    pub upload_max_files: i32,
    /// Browser origins allowed to call the API (CORS), besides the installation's.
    pub cors_origins: Vec<String>,
}

impl From<tenant_settings::View> for TenantSettings {
    fn from(v: tenant_settings::View) -> Self {
        TenantSettings {
            name: v.name,
            host: v.host,
            dpo_name: v.dpo_name,
            dpo_email: v.dpo_email,
            default_locale: v.default_locale,
            order_hold_minutes: i32::try_from(v.order_hold_minutes).unwrap_or(i32::MAX),
            upload_max_file_bytes: i32::try_from(v.upload_max_file_bytes).unwrap_or(i32::MAX),
            upload_max_files: i32::try_from(v.upload_max_files).unwrap_or(i32::MAX),
            cors_origins: v.cors_origins,
        }
    }
}

/// Changes to the settings; an absent field is left as it is. Admins: `name`,
/// `defaultLocale`, `orderHoldMinutes`, `uploadMaxFileBytes`, `uploadMaxFiles`, `corsOrigins`;
/// the privacy officer: `dpoName`, `dpoEmail`.
#[derive(InputObject)]
pub struct UpdateTenantSettingsInput {
    pub name: Option<String>,
    pub default_locale: Option<String>,
    /// 5 to 1440.
    pub order_hold_minutes: Option<i32>,
    /// 1024 up to the installation's limit.
    pub upload_max_file_bytes: Option<i32>,
    /// 1 up to the installation's limit.
    pub upload_max_files: Option<i32>,
    /// Replaces the list of storefront origins (`https://shop.example.org`); at most 20.
    pub cors_origins: Option<Vec<String>>,
    pub dpo_name: Option<String>,
    pub dpo_email: Option<String>,
}

impl UpdateTenantSettingsInput {
    fn parse(self) -> crate::error::AppResult<tenant_settings::Patch> {
        let text = |f: &str, v: &str| types::text(f, v, 1, 200, false);
        Ok(tenant_settings::Patch {
            name: self.name.map(|n| text("input.name", &n)).transpose()?,
            default_locale: self
                .default_locale
                .map(|l| types::Locale::parse("input.defaultLocale", &l))
                .transpose()?,
            order_hold_minutes: self.order_hold_minutes.map(i64::from),
            // A negative number is below every minimum: refused with its field.
            upload_max_file_bytes: self
                .upload_max_file_bytes
                .map(|n| usize::try_from(n).unwrap_or(0)),
            upload_max_files: self.upload_max_files.map(|n| usize::try_from(n).unwrap_or(0)),
            cors_origins: self
                .cors_origins
                .map(|list| {
                    list.iter()
                        .enumerate()
                        .map(|(i, o)| types::Origin::parse(&format!("input.corsOrigins.{i}"), o))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?,
            dpo_name: self.dpo_name.map(|n| text("input.dpoName", &n)).transpose()?,
            dpo_email: self
                .dpo_email
                .map(|e| types::Email::parse("input.dpoEmail", &e))
                .transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct UpdateTenantSettingsPayload {
    pub settings: TenantSettings,
}

#[derive(Default)]
pub struct TenantSettingsQuery;

#[Object]
impl TenantSettingsQuery {
    /// This organisation's settings (admins and the privacy officer).
    async fn tenant_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantSettings> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        Ok(tenant_settings::read(s, &actor).await.gql()?.into())
    }
}

#[derive(Default)]
pub struct TenantSettingsMutation;

#[Object]
impl TenantSettingsMutation {
    /// Changes this organisation's settings (audited; see the input for who changes what).
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> async_graphql::Result<UpdateTenantSettingsPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let patch = input.parse().gql()?;
        let v = tenant_settings::update(s, &actor, patch).await.gql()?;
        Ok(UpdateTenantSettingsPayload { settings: v.into() })
    }
}
