//! Consent: the current state per purpose and `setConsent` (users, guardians, anonymous
//! visitors).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::pagination::parse_id;
use crate::domain::accounts;
use crate::domain::consent::{self, ConsentState, ConsentSubject, Purpose};
use crate::error::{AppError, IntoGql};

gql_enum!(
    /// What a consent is for.
    PurposeGql as "ConsentPurpose" <=> Purpose {
        MarketingEmail,
        MarketingPhone,
        AnalyticsCookies,
        AdvertisingCookies,
        ClassRecording,
    }
);

/// The current state of one consent purpose.
pub struct ConsentStateGql(pub ConsentState);

#[Object(name = "ConsentState")]
impl ConsentStateGql {
    async fn purpose(&self) -> PurposeGql {
        self.0.purpose.into()
    }
    /// Given now (a lapsed cookie consent counts as not given).
    async fn granted(&self) -> bool {
        self.0.granted
    }
    async fn recorded_at(&self) -> Option<DateTime<Utc>> {
        self.0.recorded_at
    }
    /// When a cookie consent lapses (13 months after it was given).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn policy_version(&self) -> Option<&str> {
        self.0.policy_version.as_deref()
    }
}

/// Grant or withdraw one consent: for yourself, a ward (`userId`) or, anonymously, for a
/// visitor (`visitorId`, the random id your storefront keeps in its cookie).
#[derive(InputObject)]
pub struct SetConsentInput {
    pub purpose: PurposeGql,
    pub granted: bool,
    pub user_id: Option<ID>,
    pub visitor_id: Option<String>,
    /// Where the choice was made, e.g. `cookie-banner` or `account-settings`.
    pub source: Option<String>,
}

#[derive(SimpleObject)]
pub struct SetConsentPayload {
    pub consent: ConsentStateGql,
}

#[derive(Default)]
pub struct ConsentQuery;

#[Object]
impl ConsentQuery {
    /// The current consents of an anonymous visitor.
    #[graphql(cache_control(no_cache))]
    async fn visitor_consents(
        &self,
        ctx: &Context<'_>,
        visitor_id: String,
    ) -> async_graphql::Result<Vec<ConsentStateGql>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let v = consent::parse_visitor_id("visitorId", &visitor_id).gql()?;
        let states = consent::current(s, rc.tenant.id, &ConsentSubject::Visitor(v)).await.gql()?;
        Ok(states.into_iter().map(ConsentStateGql).collect())
    }
}

#[derive(Default)]
pub struct ConsentMutation;

#[Object]
impl ConsentMutation {
    /// Appends a grant or withdrawal to the consent ledger; it takes effect on the next request.
    async fn set_consent(
        &self,
        ctx: &Context<'_>,
        input: SetConsentInput,
    ) -> async_graphql::Result<SetConsentPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let source = input.source.as_deref().unwrap_or("api").trim().to_owned();
        if source.is_empty() || source.len() > 64 || source.chars().any(char::is_control) {
            return Err(AppError::bad_input("input.source", "must be 1 to 64 characters")).gql();
        }
        let actor = rc.actor(s).await.gql()?;
        let subject = match (&input.user_id, &input.visitor_id) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input(
                    "input.visitorId",
                    "give either userId or visitorId, not both",
                ))
                .gql();
            }
            (Some(id), None) => ConsentSubject::User(parse_id("input.userId", id).gql()?),
            (None, Some(v)) => {
                ConsentSubject::Visitor(consent::parse_visitor_id("input.visitorId", v).gql()?)
            }
            (None, None) => {
                ConsentSubject::User(actor.user_id.ok_or(AppError::Unauthenticated).gql()?)
            }
        };
        let relations = rc.relations(s, &actor).await.gql()?;
        let version = accounts::current_policy(s, rc.tenant.id).await.gql()?.map(|p| p.version);
        let state = consent::record(
            s,
            &actor,
            relations,
            subject,
            input.purpose.into(),
            input.granted,
            &source,
            version,
        )
        .await
        .gql()?;
        Ok(SetConsentPayload { consent: ConsentStateGql(state) })
    }
}
