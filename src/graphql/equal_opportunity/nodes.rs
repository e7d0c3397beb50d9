//! The `Application` (status, course, declared situation, decision) and its
//! `SupportingDocument`s. Each field names its data category in its guard; the node never
//! decides access itself.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::equal_opportunity::{self as eo, ApplicationRecord};
use crate::entities::eo_document;
use crate::error::{AppResult, IntoGql};
use crate::graphql::context::{loaders, signed_in};
use crate::graphql::guard::{Need, Subject};
use crate::graphql::loaders::{ApplicationDocuments, CourseById, SessionById};
use crate::graphql::nodes::{CourseNode, SessionNode, UserNode};
use crate::policy::DataField;

use super::{ApplicationStatusGql, DocumentKindGql, IncomeBracketGql};

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
    pub(super) fn new(rec: ApplicationRecord) -> Self {
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

/// One application the viewer may see, by id.
pub(super) async fn node(ctx: &Context<'_>, id: Uuid) -> AppResult<ApplicationNode> {
    let (s, actor, relations) = signed_in(ctx).await?;
    Ok(ApplicationNode::new(eo::visible(s, &actor, relations, id).await?))
}
