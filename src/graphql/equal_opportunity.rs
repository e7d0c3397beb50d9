//! Equal-opportunity API: applications with their declared situation and documents, the
//! reviewers' queue and decisions. Uploads follow the GraphQL multipart request spec.
//!
//! Lists show one's own (and wards') applications, or the queue to reviewers and the privacy
//! officer. Every field but the id is the applicant's `financial_situation` data (status,
//! course, situation, decision) or `supporting_documents` data (documents), each guarded: billing,
//! support, instructors, marketing, admins and other learners who hold an id get `FORBIDDEN`.
//! The reviewer's note is for reviewers (and the privacy officer) only.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::context::{loaders, signed_in};
use super::guard::{Need, Subject};
use super::loaders::{ApplicationDocuments, CourseById, SessionById};
use super::nodes::{CourseNode, SessionNode, UserNode};
use super::pagination::{offset_cursor, offset_page, parse_id};
use crate::domain::equal_opportunity::{
    self as eo, ApplicationFilter, ApplicationRecord, ApplicationStatus, DocumentKind,
    IncomeBracket, IncomingFile, Situation,
};
use crate::domain::types;
use crate::domain::visibility;
use crate::entities::eo_document;
use crate::error::{AppError, AppResult, IntoGql};
use crate::policy::DataField;

gql_enum!(ApplicationStatusGql as "ApplicationStatus" <=> ApplicationStatus { Draft, Submitted, UnderReview, Approved, Rejected, Withdrawn });
gql_enum!(
    /// Yearly taxable income of the household, in euros.
    IncomeBracketGql as "IncomeBracket" <=> IncomeBracket {
        #[graphql(name = "BELOW_10K")]
        Below10k,
        #[graphql(name = "FROM_10K_TO_20K")]
        From10kTo20k,
        #[graphql(name = "FROM_20K_TO_30K")]
        From20kTo30k,
        #[graphql(name = "ABOVE_30K")]
        Above30k,
    }
);
gql_enum!(DocumentKindGql as "DocumentKind" <=> DocumentKind { TaxNotice, ScholarshipNotice, IdentityDocument, Other });

/// What the applicant declared.
#[derive(SimpleObject)]
pub struct SituationGql {
    pub income_bracket: Option<IncomeBracketGql>,
    pub scholarship_holder: bool,
    pub text: Option<String>,
}

/// The decision, as the applicant reads it.
#[derive(SimpleObject)]
pub struct DecisionGql {
    pub status: ApplicationStatusGql,
    /// Of an approval, 1–100.
    pub discount_percent: Option<i32>,
    /// Of a rejection.
    pub reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A supporting document's metadata; the content is downloaded from `downloadUrl` with the same
/// bearer token (each staff download is audited).
pub struct DocumentNode(pub eo_document::Model);

#[Object(name = "SupportingDocument")]
impl DocumentNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> Option<DocumentKindGql> {
        Some(self.0.kind.into())
    }
    async fn original_name(&self) -> &str {
        &self.0.original_name
    }
    /// Decided from the content, not from the name or the declared type.
    async fn mime_type(&self) -> &str {
        &self.0.mime_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn download_url(&self) -> String {
        format!("/documents/{}", self.0.id)
    }
}

/// An equal-opportunity application.
pub struct ApplicationNode {
    rec: ApplicationRecord,
    subject: Subject,
}

impl ApplicationNode {
    fn new(rec: ApplicationRecord) -> Self {
        let subject = Subject::settled(rec.facts());
        ApplicationNode { rec, subject }
    }
}

#[Object(name = "Application")]
impl ApplicationNode {
    async fn id(&self) -> ID {
        ID(self.rec.application.id.to_string())
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn status(&self) -> Option<ApplicationStatusGql> {
        Some(self.rec.application.status.into())
    }
    /// The applicant (that they applied is itself financial-situation data); each of their
    /// fields then follows the need-to-know policy.
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn applicant(&self) -> Option<UserNode> {
        Some(UserNode::applicant(self.rec.applicant.clone(), self.subject.facts.is_applicant))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CourseNode>> {
        Ok(loaders(ctx)
            .gql()?
            .load(CourseById(self.rec.application.course_id))
            .await
            .gql()?
            .map(CourseNode))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SessionNode>> {
        match self.rec.application.session_id {
            Some(s) => Ok(loaders(ctx).gql()?.load(SessionById(s)).await.gql()?.map(SessionNode)),
            None => Ok(None),
        }
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn situation(&self) -> Option<SituationGql> {
        let a = &self.rec.application;
        Some(SituationGql {
            income_bracket: a.income_bracket.map(Into::into),
            scholarship_holder: a.scholarship_holder,
            text: a.situation.clone(),
        })
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::Documents)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<DocumentNode>>> {
        let docs = loaders(ctx)
            .gql()?
            .load(ApplicationDocuments(self.rec.application.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(Some(docs.into_iter().map(DocumentNode).collect()))
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn decision(&self) -> Option<DecisionGql> {
        let a = &self.rec.application;
        let status = a.status;
        status.decided().then(|| DecisionGql {
            status: status.into(),
            discount_percent: a.discount_percent,
            reason: a.decision_reason.clone(),
            decided_at: a.decided_at,
        })
    }
    /// The reviewer's own note: reviewers and the privacy officer only (and, like every field
    /// of the application, never for a restricted or erased applicant's reviewers).
    #[graphql(guard = "Need::read(&self.subject, DataField::ReviewerNote)")]
    async fn reviewer_note(&self) -> Option<String> {
        self.rec.application.reviewer_note.clone()
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.rec.application.submitted_at
    }
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        Some(self.rec.application.created_at)
    }
    /// The clock of the 3-year retention of this application and its documents.
    #[graphql(guard = "Need::read(&self.subject, DataField::FinancialSituation)")]
    async fn last_contact_at(&self) -> Option<DateTime<Utc>> {
        Some(self.rec.application.last_contact_at)
    }
}

async fn node(ctx: &Context<'_>, id: Uuid) -> AppResult<ApplicationNode> {
    let (s, actor, relations) = signed_in(ctx).await?;
    Ok(ApplicationNode::new(eo::visible(s, &actor, relations, id).await?))
}

#[derive(SimpleObject)]
pub struct ApplicationConnectionFields {
    pub total_count: u64,
}

pub type ApplicationConnection =
    Connection<String, ApplicationNode, ApplicationConnectionFields, EmptyFields>;

#[derive(InputObject, Default)]
pub struct ApplicationFilterInput {
    pub status: Option<ApplicationStatusGql>,
    pub course_id: Option<ID>,
}

#[derive(Default)]
pub struct EqualOpportunityQuery;

#[Object]
impl EqualOpportunityQuery {
    /// For reviewers and the privacy officer, the queue: every submitted application, oldest
    /// submission first. For others, their own and their wards' applications. `first` ≤ 50.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ApplicationFilterInput>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let (first, offset) = offset_page(first, after.as_deref(), "application", 50).gql()?;
        let f = filter.unwrap_or_default();
        let filter = ApplicationFilter {
            status: f.status.map(Into::into),
            course: f
                .course_id
                .as_ref()
                .map(|c| parse_id("filter.courseId", c))
                .transpose()
                .gql()?,
        };
        let (rows, total) =
            visibility::applications(s, &actor, relations, &filter, offset, first).await.gql()?;
        let has_next = offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            offset > 0,
            has_next,
            ApplicationConnectionFields { total_count: total },
        );
        conn.edges.extend(rows.into_iter().enumerate().map(|(i, rec)| {
            Edge::new(offset_cursor("application", offset + i as u64), ApplicationNode::new(rec))
        }));
        Ok(conn)
    }

    /// One application, or `null` when the viewer may not see it.
    async fn application(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ApplicationNode>> {
        let id = parse_id("id", &id).gql()?;
        match node(ctx, id).await {
            Ok(n) => Ok(Some(n)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}

#[derive(InputObject)]
pub struct SituationInput {
    pub income_bracket: Option<IncomeBracketGql>,
    #[graphql(default)]
    pub scholarship_holder: bool,
    /// Free text, at most 2000 characters.
    pub text: Option<String>,
}

fn parse_situation(field: &str, s: Option<SituationInput>) -> AppResult<Situation> {
    let Some(s) = s else { return Ok(Situation::default()) };
    let text = match s.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(types::text(&format!("{field}.text"), t, 1, 2000, true)?),
        None => None,
    };
    Ok(Situation {
        income_bracket: s.income_bracket.map(Into::into),
        scholarship_holder: s.scholarship_holder,
        text,
    })
}

#[derive(InputObject)]
pub struct CreateApplicationInput {
    pub course_id: ID,
    pub session_id: Option<ID>,
    /// A ward's id, when a guardian applies for them.
    pub learner_id: Option<ID>,
    pub situation: Option<SituationInput>,
}

#[derive(InputObject)]
pub struct UpdateApplicationInput {
    pub application_id: ID,
    pub situation: SituationInput,
}

#[derive(InputObject)]
pub struct AddDocumentsInput {
    pub application_id: ID,
    pub kind: DocumentKindGql,
    /// Multipart uploads: PDF, JPEG or PNG (decided from the content), within the size and
    /// count limits.
    pub files: Vec<Upload>,
}

#[derive(InputObject)]
pub struct ApplicationIdInput {
    pub application_id: ID,
}

#[derive(InputObject)]
pub struct ApproveApplicationInput {
    pub application_id: ID,
    /// 1–100.
    pub discount_percent: i32,
    /// For reviewers only; the applicant never sees it.
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct RejectApplicationInput {
    pub application_id: ID,
    /// Shown to the applicant.
    pub reason: String,
    /// For reviewers only.
    pub note: Option<String>,
}

#[derive(SimpleObject)]
pub struct ApplicationPayload {
    pub application: ApplicationNode,
}

#[derive(SimpleObject)]
pub struct AddDocumentsPayload {
    pub application: ApplicationNode,
    pub documents: Vec<DocumentNode>,
}

#[derive(SimpleObject)]
pub struct DeleteApplicationPayload {
    pub deleted_id: ID,
}

fn note(field: &str, n: Option<String>) -> AppResult<Option<String>> {
    match n.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(types::text(field, t, 1, 2000, true)?)),
        None => Ok(None),
    }
}

#[derive(Default)]
pub struct EqualOpportunityMutation;

#[Object]
impl EqualOpportunityMutation {
    /// Opens a draft application for a course (and optionally a session), for oneself or a
    /// ward. One open application per applicant and course (`CONFLICT`).
    async fn create_application(
        &self,
        ctx: &Context<'_>,
        input: CreateApplicationInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let course = parse_id("input.courseId", &input.course_id).gql()?;
        let session =
            input.session_id.as_ref().map(|i| parse_id("input.sessionId", i)).transpose().gql()?;
        let learner =
            input.learner_id.as_ref().map(|i| parse_id("input.learnerId", i)).transpose().gql()?;
        let situation = parse_situation("input.situation", input.situation).gql()?;
        let a =
            eo::create(s, &actor, relations, course, session, learner, situation).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, a.id).await.gql()? })
    }

    /// Changes the declared situation of a draft.
    async fn update_application(
        &self,
        ctx: &Context<'_>,
        input: UpdateApplicationInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        let situation = parse_situation("input.situation", Some(input.situation)).gql()?;
        eo::update_situation(s, &actor, relations, id, situation).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }

    /// Attaches supporting documents (GraphQL multipart request). A file that is empty, too
    /// large or not a PDF, JPEG or PNG by its content refuses the whole upload with
    /// `BAD_USER_INPUT` at `input.files.<index>`; nothing is stored.
    #[graphql(complexity = "crate::graphql::limits::UPLOAD_COST + child_complexity")]
    async fn add_documents(
        &self,
        ctx: &Context<'_>,
        input: AddDocumentsInput,
    ) -> async_graphql::Result<AddDocumentsPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        // Counted before any content is read (the same file may be listed many times).
        if input.files.len() > s.documents.max_files {
            return Err(AppError::bad_input(
                "input.files",
                format!("an application holds at most {} files", s.documents.max_files),
            ))
            .gql();
        }
        let mut files = Vec::with_capacity(input.files.len());
        for (i, f) in input.files.iter().enumerate() {
            let v = f
                .value(ctx)
                .map_err(|_| {
                    AppError::bad_input(format!("input.files.{i}"), "the file part is missing")
                })
                .gql()?;
            files.push(IncomingFile { name: v.filename, content: v.content.to_vec() });
        }
        let docs =
            eo::add_documents(s, &actor, relations, id, input.kind.into(), files).await.gql()?;
        Ok(AddDocumentsPayload {
            application: node(ctx, id).await.gql()?,
            documents: docs.into_iter().map(DocumentNode).collect(),
        })
    }

    /// Submits a draft for review (a declared income bracket and at least one document).
    async fn submit_application(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        eo::submit(s, &actor, relations, id).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }

    /// Withdraws an application before its decision.
    async fn withdraw_application(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        eo::withdraw(s, &actor, relations, id).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }

    /// Deletes an application with its documents (their keys and encrypted content).
    async fn delete_application(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<DeleteApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        eo::delete(s, &actor, relations, id).await.gql()?;
        Ok(DeleteApplicationPayload { deleted_id: input.application_id })
    }

    /// A reviewer takes a submitted application (it becomes `UNDER_REVIEW`).
    async fn start_review(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        eo::start_review(s, &actor, relations, id).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }

    /// Approves with a discount (1–100 %), applied to the applicant's unpaid and future orders
    /// for the course.
    #[graphql(complexity = "crate::graphql::limits::STRIPE_CALL_COST + child_complexity")]
    async fn approve_application(
        &self,
        ctx: &Context<'_>,
        input: ApproveApplicationInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        let note = note("input.note", input.note).gql()?;
        eo::approve(s, &actor, relations, id, input.discount_percent, note).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }

    /// Rejects with a reason the applicant reads.
    async fn reject_application(
        &self,
        ctx: &Context<'_>,
        input: RejectApplicationInput,
    ) -> async_graphql::Result<ApplicationPayload> {
        let (s, actor, relations) = signed_in(ctx).await.gql()?;
        let id = parse_id("input.applicationId", &input.application_id).gql()?;
        let reason = types::text("input.reason", &input.reason, 1, 2000, true).gql()?;
        let note = note("input.note", input.note).gql()?;
        eo::reject(s, &actor, relations, id, reason, note).await.gql()?;
        Ok(ApplicationPayload { application: node(ctx, id).await.gql()? })
    }
}
