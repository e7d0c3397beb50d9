//! The `DataSubjectRequest` node with its steps and post-mortem directive, the batch loaders
//! behind them, and `User.dataSubjectRequests`. Every field but the id carries its guard; the
//! node never decides access itself.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    DirectiveOutcomeGql, RequestChannelGql, RequestKindGql, RequestStatusGql, StepStatusGql,
};
use crate::domain::privacy::requests::{self, RequestKind, RequestRecord, StepStatus};
use crate::entities::{data_subject_request, data_subject_request_step, post_mortem_directive};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::consent::PurposeGql;
use crate::graphql::context::{loaders, services};
use crate::graphql::guard::{Need, Subject};
use crate::graphql::loaders::{Batch, UserById};
use crate::graphql::nodes::UserNode;
use crate::policy::{self, DataField};

/// The steps of a request, batched for a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestSteps(pub Uuid);

/// The requests about a person, batched for a list of people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestsAbout(pub Uuid);

impl Loader<RequestsAbout> for Batch {
    type Value = Vec<data_subject_request::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RequestsAbout],
    ) -> Result<HashMap<RequestsAbout, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            requests::about_people(&self.services, self.tenant_id, &ids).await.map_err(Arc::new)?;
        Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
    }
}

/// The post-mortem directive a request recorded, batched for a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestDirective(pub Uuid);

impl Loader<RequestSteps> for Batch {
    type Value = Vec<data_subject_request_step::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RequestSteps],
    ) -> Result<HashMap<RequestSteps, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            requests::steps_of(&self.services, self.tenant_id, &ids).await.map_err(Arc::new)?;
        Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
    }
}

impl Loader<RequestDirective> for Batch {
    type Value = post_mortem_directive::Model;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RequestDirective],
    ) -> Result<HashMap<RequestDirective, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found = requests::directives_of(&self.services, self.tenant_id, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
    }
}

/// One step of carrying out a request.
pub struct StepNode(data_subject_request_step::Model);

#[Object(name = "DataSubjectRequestStep")]
impl StepNode {
    /// `export`, `erase`, `restrict_account`, `withdraw_marketing_consents`,
    /// `withdraw_consents` or `close`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn status(&self) -> StepStatusGql {
        self.0.status.into()
    }
    /// Failed attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// What went wrong last time.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When a pending or failed step is tried next.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        matches!(self.0.status, StepStatus::Pending | StepStatus::Failed)
            .then_some(self.0.next_attempt_at)
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

/// A post-mortem directive: what should become of the person's data after their death.
pub struct DirectiveNode(post_mortem_directive::Model);

#[Object(name = "PostMortemDirective")]
impl DirectiveNode {
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }
    async fn outcome(&self) -> DirectiveOutcomeGql {
        self.0.outcome.into()
    }
    async fn trusted_person_name(&self) -> Option<&str> {
        self.0.trusted_person_name.as_deref()
    }
    async fn trusted_person_contact(&self) -> Option<&str> {
        self.0.trusted_person_contact.as_deref()
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A data-subject request. Its status and dates are readable by support; the rest only by the
/// subject, their guardian and the privacy officer.
pub struct DataSubjectRequestNode {
    rec: RequestRecord,
    subject: Subject,
}

impl DataSubjectRequestNode {
    pub(crate) fn new(rec: RequestRecord, acting: Option<crate::policy::Actor>) -> Self {
        let subject = Subject { facts: rec.facts(), acting, applicant_known: true };
        DataSubjectRequestNode { rec, subject }
    }

    async fn steps_loaded(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<data_subject_request_step::Model>> {
        Ok(loaders(ctx)?.load(RequestSteps(self.rec.request.id)).await?.unwrap_or_default())
    }
}

async fn user_link(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<UserNode>> {
    match id {
        Some(id) => Ok(loaders(ctx).gql()?.load(UserById(id)).await.gql()?.map(UserNode::new)),
        None => Ok(None),
    }
}

#[Object(name = "DataSubjectRequest")]
impl DataSubjectRequestNode {
    async fn id(&self) -> ID {
        ID(self.rec.request.id.to_string())
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn status(&self) -> Option<RequestStatusGql> {
        Some(self.rec.request.status.into())
    }
    /// The person the request is about; their own fields follow the need-to-know policy.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn subject(&self) -> Option<UserNode> {
        Some(UserNode::new(self.rec.subject.clone()))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn received_at(&self) -> Option<DateTime<Utc>> {
        Some(self.rec.request.received_at)
    }
    /// Received + one calendar month.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        Some(self.rec.request.due_at)
    }
    /// The one extension (at most two further months), if any.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn extended_until(&self) -> Option<DateTime<Utc>> {
        self.rec.request.extended_until
    }
    /// Still open after its (extended) due date.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn overdue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(Some(self.rec.overdue(services(ctx).gql()?.clock.now())))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestStatus)")]
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.rec.request.completed_at
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn kind(&self) -> Option<RequestKindGql> {
        Some(self.rec.request.kind.into())
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn channel(&self) -> Option<RequestChannelGql> {
        Some(self.rec.request.channel.into())
    }
    /// The subject's own words (what to rectify, the directive's instructions, …).
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn details(&self) -> Option<&str> {
        self.rec.request.details.as_deref()
    }
    /// For a consent withdrawal: the purposes withdrawn.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn purposes(&self) -> Option<Vec<PurposeGql>> {
        Some(self.rec.purposes().into_iter().map(Into::into).collect())
    }
    /// How identity was checked: "password re-authentication", or the privacy officer's note
    /// of the proof seen.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn identity_check(&self) -> Option<&str> {
        Some(&self.rec.request.identity_check)
    }
    /// Who made the request through the API (the subject or their guardian); null when the
    /// privacy officer registered it.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn requested_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserNode>> {
        user_link(ctx, self.rec.request.requested_by).await
    }
    /// The privacy officer handling it.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn handled_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserNode>> {
        user_link(ctx, self.rec.request.handled_by).await
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn extension_reason(&self) -> Option<&str> {
        self.rec.request.extension_reason.as_deref()
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn outcome(&self) -> Option<&str> {
        self.rec.request.outcome.as_deref()
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn refusal_reason(&self) -> Option<&str> {
        self.rec.request.refusal_reason.as_deref()
    }
    /// How carrying it out goes, step by step (empty until it is completed).
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn steps(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<StepNode>>> {
        Ok(Some(self.steps_loaded(ctx).await.gql()?.into_iter().map(StepNode).collect()))
    }
    /// The steps that failed and wait for their next attempt.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn failed_steps(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<StepNode>>> {
        let steps = self.steps_loaded(ctx).await.gql()?;
        Ok(Some(
            steps.into_iter().filter(|s| s.status == StepStatus::Failed).map(StepNode).collect(),
        ))
    }
    /// The export of an access or portability request, once built and until it expires (7
    /// days); null otherwise.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn export(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::export::DataExportNode>> {
        crate::graphql::export::export_of(ctx, self.rec.request.id, &self.subject).await
    }
    /// The post-mortem directive this request recorded.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn post_mortem_directive(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DirectiveNode>> {
        if self.rec.request.kind != RequestKind::PostMortemDirective {
            return Ok(None);
        }
        let lo = loaders(ctx).gql()?;
        Ok(lo.load(RequestDirective(self.rec.request.id)).await.gql()?.map(DirectiveNode))
    }
    /// For an erasure: per table, what was erased, anonymised, pseudonymised or kept (under
    /// which legal basis, until when), and the final scan; null until the erasure starts.
    #[graphql(guard = "Need::read(&self.subject, DataField::RequestDetails)")]
    async fn erasure_report(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::erasure::ErasureReportNode>> {
        if self.rec.request.kind != RequestKind::Erasure {
            return Ok(None);
        }
        crate::graphql::erasure::report_of(ctx, self.rec.request.id).await
    }
}

/// A person's requests, for `User.dataSubjectRequests` (whose guard has passed): theirs, and for
/// oneself one's wards' too (`policy::requests::listed_request_subjects`). Batched across a list
/// of people.
pub async fn requests_of(
    ctx: &Context<'_>,
    subject: &Subject,
    person: Uuid,
) -> async_graphql::Result<Vec<DataSubjectRequestNode>> {
    let lo = loaders(ctx).gql()?;
    let (actor, relations) = subject.viewer(ctx).await.gql()?;
    let people = policy::requests::listed_request_subjects(&actor, relations.as_ref(), person);
    let mut rows = Vec::new();
    for p in people {
        rows.extend(lo.load(RequestsAbout(p)).await.gql()?.unwrap_or_default());
    }
    rows.sort_by_key(|r| std::cmp::Reverse((r.received_at, r.id)));
    let mut nodes = Vec::with_capacity(rows.len());
    for request in rows {
        let Some(owner) = lo.load(UserById(request.subject_id)).await.gql()? else { continue };
        let rec = RequestRecord { request, subject: owner };
        nodes.push(DataSubjectRequestNode::new(rec, subject.acting.clone()));
    }
    Ok(nodes)
}
