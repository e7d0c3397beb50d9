//! Data-subject requests API: a person (or their guardian) makes a request after typing their
//! password again; the privacy officer registers letters and e-mails, works through the queue
//! (oldest due first, overdue flagged), starts, extends, completes or refuses requests, and
//! lifts restrictions.
//!
//! Every field of a request but its id is `data_subject_requests` data of its subject, guarded:
//! its status and dates (`status`) for the subject, their guardian, support and the privacy
//! officer; everything else (`details`: kind, text, identity check, outcome, steps, directive)
//! for the subject, their guardian and the privacy officer only. Anyone else signed in who
//! holds a request's id gets `FORBIDDEN` on each field.
//!
//! Completing an access or portability request builds its export (`export`, with a
//! short-lived `downloadLink`); an erasure carries its report (`erasureReport`).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::consent::PurposeGql;
use super::context::{loaders, services, signed_in};
use super::guard::{Need, Subject};
use super::loaders::{Batch, UserById};
use super::nodes::UserNode;
use super::pagination::{offset_cursor, offset_page, parse_id};
use crate::domain::privacy::requests::{
    self, DirectiveInput, DirectiveOutcome, NewRequest, QueueFilter, RequestChannel, RequestKind,
    RequestRecord, RequestStatus, StepStatus, making::Registration,
};
use crate::domain::types;
use crate::entities::{data_subject_request, data_subject_request_step, post_mortem_directive};
use crate::error::{AppError, AppResult, IntoGql};
use crate::policy::{self, DataField};

gql_enum!(RequestKindGql as "DataSubjectRequestKind" <=> RequestKind { Access, Portability, Rectification, Erasure, Restriction, Objection, ConsentWithdrawal, PostMortemDirective });
gql_enum!(RequestStatusGql as "DataSubjectRequestStatus" <=> RequestStatus { Received, InProgress, Done, Refused });
gql_enum!(RequestChannelGql as "DataSubjectRequestChannel" <=> RequestChannel { Api, Post, Email });
gql_enum!(StepStatusGql as "DataSubjectRequestStepStatus" <=> StepStatus {
    Pending,
    Running,
    Done,
    Failed,
    /// Planned by a version that could not carry the step out yet; the background job takes it
    /// like a pending step. No step is planned in this state any more.
    AwaitingImplementation,
});
gql_enum!(DirectiveOutcomeGql as "PostMortemOutcome" <=> DirectiveOutcome { Delete, Keep, HandOver });

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
    pub(super) fn new(rec: RequestRecord, acting: Option<crate::policy::Actor>) -> Self {
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
    ) -> async_graphql::Result<Option<super::export::DataExportNode>> {
        super::export::export_of(ctx, self.rec.request.id, &self.subject).await
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
    ) -> async_graphql::Result<Option<super::erasure::ErasureReportNode>> {
        if self.rec.request.kind != RequestKind::Erasure {
            return Ok(None);
        }
        super::erasure::report_of(ctx, self.rec.request.id).await
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

async fn node(ctx: &Context<'_>, id: Uuid) -> AppResult<DataSubjectRequestNode> {
    let (s, actor, _) = signed_in(ctx).await?;
    Ok(DataSubjectRequestNode::new(requests::visible(s, &actor, id).await?, None))
}

#[derive(SimpleObject)]
pub struct DataSubjectRequestConnectionFields {
    pub total_count: u64,
}

pub type DataSubjectRequestConnection =
    Connection<String, DataSubjectRequestNode, DataSubjectRequestConnectionFields, EmptyFields>;

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// The privacy officer's queue: every request of the organisation, the one due soonest
    /// (extension included) first, filtered by status, kind or overdue. `first` ≤ 50. Others
    /// get `FORBIDDEN` (a person reads their own in `me { dataSubjectRequests }`).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn data_subject_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<RequestStatusGql>,
        kind: Option<RequestKindGql>,
        overdue: Option<bool>,
    ) -> async_graphql::Result<DataSubjectRequestConnection> {
        let (s, actor, _) = signed_in(ctx).await.gql()?;
        let (first, offset) = offset_page(first, after.as_deref(), "dsr", 50).gql()?;
        let filter =
            QueueFilter { status: status.map(Into::into), kind: kind.map(Into::into), overdue };
        let (rows, total) = requests::queue(s, &actor, filter, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            DataSubjectRequestConnectionFields { total_count: total },
        );
        for (i, r) in rows.into_iter().enumerate() {
            conn.edges.push(Edge::new(
                offset_cursor("dsr", offset + i as u64),
                DataSubjectRequestNode::new(r, None),
            ));
        }
        Ok(conn)
    }

    /// One request, or `null` when it does not exist; its fields follow the need-to-know
    /// policy.
    async fn data_subject_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<DataSubjectRequestNode>> {
        let id = parse_id("id", &id).gql()?;
        match node(ctx, id).await {
            Ok(n) => Ok(Some(n)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}

/// What a post-mortem directive asks for beyond its instructions (`details`).
#[derive(InputObject)]
pub struct PostMortemDirectiveInput {
    pub outcome: DirectiveOutcomeGql,
    /// The trusted person to carry it out or receive the data (required with `HAND_OVER`).
    pub trusted_person_name: Option<String>,
    /// How to reach them (an e-mail address, a postal address, a phone number).
    pub trusted_person_contact: Option<String>,
}

#[derive(InputObject)]
pub struct RequestDataSubjectRightInput {
    pub kind: RequestKindGql,
    /// A ward's id, when a guardian asks for them; oneself otherwise.
    pub subject_id: Option<ID>,
    /// Your own words, at most 5000 characters: required for a rectification (what is wrong
    /// and what it should be) and a post-mortem directive (its instructions).
    pub details: Option<String>,
    /// For a consent withdrawal: the purposes.
    #[graphql(default)]
    pub purposes: Vec<PurposeGql>,
    /// For a post-mortem directive.
    pub directive: Option<PostMortemDirectiveInput>,
    /// Your current password: it confirms that the request is yours.
    pub password: String,
}

#[derive(InputObject)]
pub struct RegisterDataSubjectRequestInput {
    pub subject_id: ID,
    pub kind: RequestKindGql,
    /// `POST` or `EMAIL`.
    pub channel: RequestChannelGql,
    /// When the letter or e-mail arrived (default: now; at most 92 days ago); the due date runs
    /// from it.
    pub received_at: Option<DateTime<Utc>>,
    /// The proof of identity seen, in words ("identity card seen, copy not kept"): never the
    /// document itself.
    pub identity_check: String,
    pub details: Option<String>,
    #[graphql(default)]
    pub purposes: Vec<PurposeGql>,
    pub directive: Option<PostMortemDirectiveInput>,
}

#[derive(InputObject)]
pub struct DataSubjectRequestIdInput {
    pub request_id: ID,
}

#[derive(InputObject)]
pub struct ExtendDataSubjectRequestInput {
    pub request_id: ID,
    /// 1 or 2: added to the original due date.
    pub months: i32,
    /// Why (the subject is told).
    pub reason: String,
}

#[derive(InputObject)]
pub struct CompleteDataSubjectRequestInput {
    pub request_id: ID,
    /// What was done, as the subject will read it.
    pub outcome: String,
}

#[derive(InputObject)]
pub struct RefuseDataSubjectRequestInput {
    pub request_id: ID,
    /// Why, as the subject will read it (with their right to complain to the CNIL).
    pub reason: String,
}

#[derive(InputObject)]
pub struct LiftRestrictionInput {
    pub user_id: ID,
}

#[derive(SimpleObject)]
pub struct DataSubjectRequestPayload {
    pub request: DataSubjectRequestNode,
}

#[derive(SimpleObject)]
pub struct LiftRestrictionPayload {
    pub user: UserNode,
}

fn optional_text(field: &str, raw: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(types::text(field, t, 1, max, true)?)),
        None => Ok(None),
    }
}

fn parse_request(
    kind: RequestKindGql,
    details: Option<&str>,
    purposes: &[PurposeGql],
    directive: Option<&PostMortemDirectiveInput>,
) -> AppResult<NewRequest> {
    let details = optional_text("input.details", details, 5000)?;
    let directive = match directive {
        Some(d) => Some(DirectiveInput {
            outcome: d.outcome.into(),
            trusted_person_name: match d.trusted_person_name.as_deref() {
                Some(n) => {
                    Some(types::text("input.directive.trustedPersonName", n, 1, 200, false)?)
                }
                None => None,
            },
            trusted_person_contact: match d.trusted_person_contact.as_deref() {
                Some(c) => {
                    Some(types::text("input.directive.trustedPersonContact", c, 3, 500, true)?)
                }
                None => None,
            },
        }),
        None => None,
    };
    let mut parsed: Vec<crate::domain::consent::Purpose> = Vec::new();
    for p in purposes {
        let p = (*p).into();
        if !parsed.contains(&p) {
            parsed.push(p);
        }
    }
    let new = NewRequest { kind: kind.into(), details, purposes: parsed, directive };
    new.check()?;
    Ok(new)
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
