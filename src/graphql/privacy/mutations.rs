//! The request mutations: a person exercising a right (after typing their password again),
//! and the privacy officer registering, starting, extending, completing and refusing requests
//! and lifting restrictions. Each parses its input, makes one domain call and wraps the result.

use async_graphql::{Context, Object, SimpleObject};

use super::inputs::{
    CompleteDataSubjectRequestInput, DataSubjectRequestIdInput, ExtendDataSubjectRequestInput,
    LiftRestrictionInput, RefuseDataSubjectRequestInput, RegisterDataSubjectRequestInput,
    RequestDataSubjectRightInput, parse_request,
};
use super::nodes::DataSubjectRequestNode;
use crate::domain::privacy::requests::{self, making::Registration};
use crate::domain::types;
use crate::error::{AppError, IntoGql};
use crate::graphql::context::signed_in;
use crate::graphql::nodes::UserNode;
use crate::graphql::pagination::parse_id;

#[derive(SimpleObject)]
pub struct DataSubjectRequestPayload {
    pub request: DataSubjectRequestNode,
}

#[derive(SimpleObject)]
pub struct LiftRestrictionPayload {
    pub user: UserNode,
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Exercises a data-protection right for yourself, or for your ward with `subjectId`. Your
    /// current password confirms it is you: a wrong one is `FORBIDDEN` (throttled like
    /// log-ins) and records nothing. The request is due one month after it is received; you get
    /// a receipt, and `me { dataSubjectRequests }` shows how it goes. One open request per
    /// person and kind (`CONFLICT`).
    #[graphql(complexity = "crate::graphql::limits::PASSWORD_HASH_COST + child_complexity")]
    async fn request_data_subject_right(
        &self,
        ctx: &Context<'_>,
        input: RequestDataSubjectRightInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let subject =
            input.subject_id.as_ref().map(|i| parse_id("input.subjectId", i)).transpose().gql()?;
        let new = parse_request(
            input.kind,
            input.details.as_deref(),
            &input.purposes,
            input.directive.as_ref(),
        )
        .gql()?;
        let rec = requests::make(s, &actor, relations, subject, new, input.password).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: registers a request received by post or e-mail, with a note of the
    /// proof of identity seen.
    async fn register_data_subject_request(
        &self,
        ctx: &Context<'_>,
        input: RegisterDataSubjectRequestInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let subject = parse_id("input.subjectId", &input.subject_id).gql()?;
        let identity_check =
            types::text("input.identityCheck", &input.identity_check, 3, 500, true).gql()?;
        let new = parse_request(
            input.kind,
            input.details.as_deref(),
            &input.purposes,
            input.directive.as_ref(),
        )
        .gql()?;
        let reg = Registration {
            subject,
            channel: input.channel.into(),
            received_at: input.received_at,
            identity_check,
        };
        let rec = requests::register(s, &actor, relations, reg, new).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: takes a received request (it becomes `IN_PROGRESS`).
    async fn start_data_subject_request(
        &self,
        ctx: &Context<'_>,
        input: DataSubjectRequestIdInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.requestId", &input.request_id).gql()?;
        let rec = requests::start(s, &actor, relations, id).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: extends the due date once, by 1 or 2 months, with a reason the subject
    /// is told (GDPR art. 12(3)); before the due date only.
    async fn extend_data_subject_request(
        &self,
        ctx: &Context<'_>,
        input: ExtendDataSubjectRequestInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.requestId", &input.request_id).gql()?;
        if !(1..=2).contains(&input.months) {
            return Err(AppError::bad_input(
                "input.months",
                "an extension is one or two months (GDPR art. 12(3))",
            ))
            .gql();
        }
        let reason = types::text("input.reason", &input.reason, 1, 2000, true).gql()?;
        let rec = requests::extend(s, &actor, relations, id, input.months, reason).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: completes a request in progress with its outcome. It is carried out
    /// step by step (restriction: the account is restricted; objection: marketing consents are
    /// withdrawn; consent withdrawal: the purposes named); a failed step is retried with
    /// backoff and shows in `failedSteps`, and the request becomes `DONE` with its last step.
    /// Calling it again retries failed steps at once.
    async fn complete_data_subject_request(
        &self,
        ctx: &Context<'_>,
        input: CompleteDataSubjectRequestInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.requestId", &input.request_id).gql()?;
        let outcome = types::text("input.outcome", &input.outcome, 1, 5000, true).gql()?;
        let rec = requests::complete(s, &actor, relations, id, outcome).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: refuses an open request that nothing was carried out for yet, with a
    /// reason the subject reads.
    async fn refuse_data_subject_request(
        &self,
        ctx: &Context<'_>,
        input: RefuseDataSubjectRequestInput,
    ) -> async_graphql::Result<DataSubjectRequestPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.requestId", &input.request_id).gql()?;
        let reason = types::text("input.reason", &input.reason, 1, 2000, true).gql()?;
        let rec = requests::refuse(s, &actor, relations, id, reason).await.gql()?;
        Ok(DataSubjectRequestPayload { request: DataSubjectRequestNode::new(rec, None) })
    }

    /// Privacy officer: lifts a restriction; the account is active again and the person is
    /// told (GDPR art. 18(3)).
    async fn lift_restriction(
        &self,
        ctx: &Context<'_>,
        input: LiftRestrictionInput,
    ) -> async_graphql::Result<LiftRestrictionPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.userId", &input.user_id).gql()?;
        let rec = requests::lift_restriction(s, &actor, relations, id).await.gql()?;
        Ok(LiftRestrictionPayload { user: UserNode::new(rec) })
    }
}
