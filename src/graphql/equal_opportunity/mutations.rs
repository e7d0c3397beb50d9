//! The applicant's mutations (create, update, add documents, submit, withdraw, delete) and the
//! reviewers' (start a review, approve, reject), with their inputs and payloads. Each makes one
//! domain call.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};

use crate::domain::equal_opportunity::{self as eo, IncomingFile, Situation};
use crate::domain::types;
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::context::signed_in;
use crate::graphql::pagination::parse_id;

use super::nodes::{ApplicationNode, DocumentNode, node};
use super::{DocumentKindGql, IncomeBracketGql};

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
