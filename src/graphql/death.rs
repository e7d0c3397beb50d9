//! `recordDeath`: the privacy officer records a person's death; their post-mortem directive is
//! carried out by a data-subject request of the matching kind (`domain::privacy::requests::death`).

use async_graphql::{Context, ID, InputObject, Object};
use chrono::NaiveDate;

use super::context::signed_in;
use super::pagination::parse_id;
use super::privacy::{DataSubjectRequestNode, DataSubjectRequestPayload, RequestChannelGql};
use crate::domain::privacy::requests::{self, DeathNotice};
use crate::error::IntoGql;

#[derive(InputObject)]
pub struct RecordDeathInput {
    pub subject_id: ID,
    pub died_on: NaiveDate,
    /// The evidence seen, in words ("death certificate sent by the family, seen, not kept"):
    /// never the document itself. 1 to 500 characters.
    pub evidence: String,
    /// How the notice arrived: `POST` or `EMAIL`.
    pub channel: RequestChannelGql,
}

#[derive(Default)]
pub struct DeathMutation;

#[Object]
impl DeathMutation {
    /// Privacy officer: records a person's death (once). The account is restricted, its
    /// password cleared and its sessions ended; the person's post-mortem directive is carried
    /// out by the request returned: `ERASURE` for "delete", `ACCESS` for "hand over" (the
    /// export for the trusted person), `RESTRICTION` for "keep" or no directive.
    async fn record_death(
        &self,
        ctx: &Context<'_>,
        input: RecordDeathInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let subject = parse_id("input.subjectId", &input.subject_id).gql()?;
        let notice = DeathNotice {
            subject,
            died_on: input.died_on,
            evidence: input.evidence,
            channel: input.channel.into(),
        };
        let rec = requests::record_death(s, &actor, relations, notice).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }
}
