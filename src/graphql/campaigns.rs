//! Newsletter campaigns for the marketing role (`policy::may_run_campaigns`): `campaigns`
//! (with each one's audience count, an aggregate), `createCampaign`, `sendCampaign`; and
//! `marketingAudience` (`policy::may_list_audience`), the consenting subscribers' address and
//! topics, each subscriber decided by `policy` in the domain.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::pagination::parse_id;
use crate::domain::campaigns;
use crate::entities::enums::CampaignStatus;
use crate::entities::newsletter_campaign;
use crate::error::IntoGql;

gql_enum!(
    /// Where a campaign stands.
    CampaignStatusGql as "CampaignStatus" <=> CampaignStatus {
        Draft,
        Sending,
        Sent,
    }
);

/// A newsletter campaign: its topic and its text in French and English. Nothing about its
/// recipients but counts.
pub struct CampaignNode(pub newsletter_campaign::Model);

#[Object(name = "Campaign")]
impl CampaignNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    async fn subject_fr(&self) -> &str {
        &self.0.subject_fr
    }
    async fn body_fr(&self) -> &str {
        &self.0.body_fr
    }
    async fn subject_en(&self) -> &str {
        &self.0.subject_en
    }
    async fn body_en(&self) -> &str {
        &self.0.body_en
    }
    async fn status(&self) -> CampaignStatusGql {
        self.0.status.into()
    }
    /// How many subscribers it would reach now (consent for its topic current, not
    /// suppressed, not restricted): the preview of a draft.
    async fn audience_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let s = services(ctx).gql()?;
        campaigns::audience_count(s, self.0.tenant_id, &self.0.topic).await.gql()
    }
    /// How many messages were queued when it was sent (each is checked again when sent).
    async fn queued_count(&self) -> i64 {
        self.0.queued_count
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When every message was queued.
    async fn queued_at(&self) -> Option<DateTime<Utc>> {
        self.0.queued_at
    }
}

/// One subscriber of the newsletter's audience (consent current).
pub struct AudienceMemberNode(pub campaigns::AudienceMember);

#[Object(name = "AudienceMember")]
impl AudienceMemberNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn topics(&self) -> Option<&[String]> {
        self.0.topics.as_deref()
    }
}

#[derive(InputObject)]
pub struct CreateCampaignInput {
    /// The topic key its subscribers consented to (lower-case letters, digits, `-`, `_`).
    pub topic: String,
    /// One line, 1 to 200 characters.
    pub subject_fr: String,
    /// Plain text; a blank line separates paragraphs.
    pub body_fr: String,
    pub subject_en: String,
    pub body_en: String,
}

#[derive(InputObject)]
pub struct SendCampaignInput {
    pub campaign_id: ID,
}

#[derive(SimpleObject)]
pub struct CampaignPayload {
    pub campaign: CampaignNode,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// The tenant's campaigns, newest first (marketing).
    async fn campaigns(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CampaignNode>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let rows = campaigns::list(s, &actor).await.gql()?;
        Ok(rows.into_iter().map(CampaignNode).collect())
    }

    /// The newsletter's consenting subscribers (on `topic`, or all), `first` (at most 500)
    /// after the subscriber `after`: marketing and the privacy officer.
    async fn marketing_audience(
        &self,
        ctx: &Context<'_>,
        topic: Option<String>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> async_graphql::Result<Vec<AudienceMemberNode>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let topic = match topic {
            Some(t) => Some(crate::domain::newsletter::parse_topic("topic", &t).gql()?),
            None => None,
        };
        let after = match after {
            Some(a) => Some(parse_id("after", &a).gql()?),
            None => None,
        };
        let first = u64::try_from(first.unwrap_or(100)).unwrap_or(1);
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let rows = campaigns::audience(s, &actor, topic.as_deref(), after, first).await.gql()?;
        Ok(rows.into_iter().map(AudienceMemberNode).collect())
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Writes a draft campaign (marketing).
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        input: CreateCampaignInput,
    ) -> async_graphql::Result<CampaignPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let parsed = campaigns::NewCampaign::parse(
            "input",
            &input.topic,
            &input.subject_fr,
            &input.body_fr,
            &input.subject_en,
            &input.body_en,
        )
        .gql()?;
        let c = campaigns::create(s, &actor, parsed).await.gql()?;
        Ok(CampaignPayload { campaign: CampaignNode(c) })
    }

    /// Sends a draft campaign once (marketing): one message per subscriber whose consent for
    /// its topic is current, checked again when each is sent.
    async fn send_campaign(
        &self,
        ctx: &Context<'_>,
        input: SendCampaignInput,
    ) -> async_graphql::Result<CampaignPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let id = parse_id("input.campaignId", &input.campaign_id).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let c = campaigns::send(s, &actor, id).await.gql()?;
        Ok(CampaignPayload { campaign: CampaignNode(c) })
    }
}
