//! Equal-opportunity ("égalité des chances") applications: a learner (or their guardian)
//! declares a situation for a course, attaches supporting documents and submits; reviewers
//! decide; an approved application discounts the applicant's orders for that course.
//!
//! This is the most sensitive data Pupitre holds. Every read and write asks the policy for the
//! `financial_situation` or `supporting_documents` category of the applicant; documents are
//! sniffed by content, encrypted under their own key (see [`vault`]) before they leave memory,
//! and a deleted application takes its keys (the rows) and its blobs with it.
//!
//! This module must never log a declared situation, a file name or document content.

pub mod vault;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::Services;
use super::accounts::{self, UserRecord};
use super::audit::{self, AuditRecord};
use super::catalog::{self, CourseStatus};
use super::tenancy::scoped;
use crate::entities::{eo_application, eo_document};
use crate::error::{AppError, AppResult};
use crate::policy::{
    self, Actor, Category, Column, DataField, Decision, Op, Relations, SubjectFacts,
};
use vault::{DocumentStore, MasterKeys};

/// Application states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    UnderReview,
    Approved,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 6] = [
        ApplicationStatus::Draft,
        ApplicationStatus::Submitted,
        ApplicationStatus::UnderReview,
        ApplicationStatus::Approved,
        ApplicationStatus::Rejected,
        ApplicationStatus::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Draft => "draft",
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::UnderReview => "under_review",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn decided(self) -> bool {
        matches!(self, ApplicationStatus::Approved | ApplicationStatus::Rejected)
    }
    /// Whether reviewers see an application in this status: submitted to them and not taken
    /// back (a draft is the applicant's own; a withdrawn application leaves the queue).
    pub fn in_review(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Submitted
                | ApplicationStatus::UnderReview
                | ApplicationStatus::Approved
                | ApplicationStatus::Rejected
        )
    }
    /// The statuses of [`ApplicationStatus::in_review`], as stored.
    pub fn in_review_names() -> Vec<&'static str> {
        Self::ALL.into_iter().filter(|s| s.in_review()).map(Self::as_str).collect()
    }
}

/// Household income brackets (yearly taxable income of the household).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncomeBracket {
    Below10k,
    From10kTo20k,
    From20kTo30k,
    Above30k,
}

impl IncomeBracket {
    pub const ALL: [IncomeBracket; 4] = [
        IncomeBracket::Below10k,
        IncomeBracket::From10kTo20k,
        IncomeBracket::From20kTo30k,
        IncomeBracket::Above30k,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IncomeBracket::Below10k => "below_10k",
            IncomeBracket::From10kTo20k => "10k_20k",
            IncomeBracket::From20kTo30k => "20k_30k",
            IncomeBracket::Above30k => "above_30k",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What a supporting document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    TaxNotice,
    ScholarshipNotice,
    IdentityDocument,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 4] = [
        DocumentKind::TaxNotice,
        DocumentKind::ScholarshipNotice,
        DocumentKind::IdentityDocument,
        DocumentKind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::TaxNotice => "tax_notice",
            DocumentKind::ScholarshipNotice => "scholarship_notice",
            DocumentKind::IdentityDocument => "identity_document",
            DocumentKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Upload limits and where documents go.
#[derive(Clone)]
pub struct DocumentConfig {
    pub keys: std::sync::Arc<MasterKeys>,
    pub store: DocumentStore,
    pub max_file_bytes: usize,
    pub max_files: usize,
}

/// An application with what the policy needs about its applicant.
#[derive(Clone, Debug)]
pub struct ApplicationRecord {
    pub application: eo_application::Model,
    pub applicant: UserRecord,
}

impl ApplicationRecord {
    /// The applicant as the policy's subject of this application's data.
    pub fn facts(&self) -> SubjectFacts {
        let status = ApplicationStatus::parse(&self.application.status);
        SubjectFacts {
            is_applicant: status.is_some_and(ApplicationStatus::in_review),
            decided: status.is_some_and(ApplicationStatus::decided),
            ..self.applicant.facts()
        }
    }
}

fn require(decision: Decision) -> AppResult<Option<Column>> {
    match decision {
        Decision::Deny => Err(AppError::Forbidden),
        Decision::Allow { audit } => Ok(audit),
    }
}

/// Loads an application by id for a signed-in actor of its tenant: a draft only for its
/// applicant (or their guardian), a submitted one for anyone who has its id. This only reaches
/// the record: every field of it is then guarded by the policy (so billing or support holding
/// an id get `FORBIDDEN` on the situation and documents, and nothing else), and every action
/// asks the policy again. Lists never show others' applications (see [`list`]).
pub async fn visible(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<ApplicationRecord> {
    if actor.user_id.is_none() {
        return Err(AppError::Unauthenticated);
    }
    let a = scoped::<eo_application::Entity>(actor.tenant_id)
        .filter(eo_application::Column::Id.eq(id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let applicant = accounts::find_record(services, actor.tenant_id, a.applicant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rec = ApplicationRecord { application: a, applicant };
    let draft = rec.application.status == ApplicationStatus::Draft.as_str();
    if draft && !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::NotFound);
    }
    Ok(rec)
}

/// Moves the retention clock of an application's documents with the application's.
async fn touch_documents<C: sea_orm::ConnectionTrait>(
    conn: &C,
    application: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    eo_document::Entity::update_many()
        .col_expr(eo_document::Column::LastContactAt, Expr::value(now))
        .filter(eo_document::Column::ApplicationId.eq(application))
        .exec(conn)
        .await?;
    Ok(())
}

/// What an applicant declares (its `Debug` prints nothing of it).
#[derive(Clone, Default)]
pub struct Situation {
    pub income_bracket: Option<IncomeBracket>,
    pub scholarship_holder: bool,
    pub text: Option<String>,
}

impl std::fmt::Debug for Situation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Situation(<redacted>)")
    }
}

/// Opens a draft for `course` (and optionally one of its sessions), for the actor or their ward.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn create(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    course_id: Uuid,
    session_id: Option<Uuid>,
    applicant: Option<Uuid>,
    situation: Situation,
) -> AppResult<eo_application::Model> {
    let me = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let applicant = applicant.unwrap_or(me);
    let record = accounts::find_record(services, actor.tenant_id, applicant)
        .await?
        .ok_or_else(|| AppError::bad_input("input.learnerId", "no such learner"))?;
    let facts = SubjectFacts { is_applicant: true, ..record.facts() };
    if !policy::acts_for(actor, relations, applicant) {
        return Err(AppError::Forbidden);
    }
    require(policy::decide(actor, relations, &facts, DataField::FinancialSituation, Op::Write))?;
    let course = catalog::course(services, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::bad_input("input.courseId", "no such course"))?;
    if course.status != CourseStatus::Published.as_str() {
        return Err(AppError::bad_input("input.courseId", "this course is not on sale"));
    }
    if let Some(sid) = session_id {
        let s = catalog::session_by_id(services, actor.tenant_id, sid).await?;
        if s.is_none_or(|s| s.course_id != course_id) {
            return Err(AppError::bad_input("input.sessionId", "no such session of this course"));
        }
    }
    let now = services.clock.now();
    let model = eo_application::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        applicant_id: applicant,
        created_by: me,
        course_id,
        session_id,
        status: ApplicationStatus::Draft.as_str().into(),
        income_bracket: situation.income_bracket.map(|b| b.as_str().to_owned()),
        scholarship_holder: situation.scholarship_holder,
        situation: situation.text,
        discount_percent: None,
        decision_reason: None,
        reviewer_note: None,
        decided_by: None,
        submitted_at: None,
        decided_at: None,
        last_contact_at: now,
        created_at: now,
        updated_at: now,
    };
    eo_application::Entity::insert(eo_application::ActiveModel::from(model.clone()))
        .exec_without_returning(&services.db)
        .await
        .map_err(|e| {
            AppError::from(e)
                .unique_as_conflict("an open application for this course already exists")
        })?;
    Ok(model)
}

fn status_of(rec: &ApplicationRecord) -> AppResult<ApplicationStatus> {
    ApplicationStatus::parse(&rec.application.status)
        .ok_or_else(|| AppError::internal("reading an application", "unknown status"))
}

/// Changes the declared situation of a draft (applicant or guardian).
pub async fn update_situation(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    situation: Situation,
) -> AppResult<eo_application::Model> {
    let rec = visible(services, actor, relations, id).await?;
    require(policy::decide(
        actor,
        relations,
        &rec.facts(),
        DataField::FinancialSituation,
        Op::Write,
    ))?;
    if !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::Forbidden);
    }
    if status_of(&rec)? != ApplicationStatus::Draft {
        return Err(AppError::Conflict("only a draft can be changed".into()));
    }
    let now = services.clock.now();
    let res = eo_application::Entity::update_many()
        .col_expr(
            eo_application::Column::IncomeBracket,
            Expr::value(situation.income_bracket.map(|b| b.as_str().to_owned())),
        )
        .col_expr(
            eo_application::Column::ScholarshipHolder,
            Expr::value(situation.scholarship_holder),
        )
        .col_expr(eo_application::Column::Situation, Expr::value(situation.text))
        .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.eq(ApplicationStatus::Draft.as_str()))
        .exec(&services.db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("only a draft can be changed".into()));
    }
    touch_documents(&services.db, id, now).await?;
    reload(services, actor.tenant_id, id).await
}

async fn reload(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<eo_application::Model> {
    scoped::<eo_application::Entity>(tenant_id)
        .filter(eo_application::Column::Id.eq(id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// One uploaded file as received (in memory: plaintext never touches the disk).
pub struct IncomingFile {
    pub name: String,
    pub content: Vec<u8>,
}

/// Attaches documents to a draft or submitted application. Every file is checked first (count,
/// size, type by magic bytes: PDF, JPEG, PNG); one bad file refuses them all with
/// `BAD_USER_INPUT` naming `input.files.<index>`, and nothing is stored.
pub async fn add_documents(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    kind: DocumentKind,
    files: Vec<IncomingFile>,
) -> AppResult<Vec<eo_document::Model>> {
    let cfg = &services.documents;
    let rec = visible(services, actor, relations, id).await?;
    if !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::Forbidden);
    }
    require(policy::decide(actor, relations, &rec.facts(), DataField::Documents, Op::Write))?;
    if !matches!(status_of(&rec)?, ApplicationStatus::Draft | ApplicationStatus::Submitted) {
        return Err(AppError::Conflict("documents can be added until the review starts".into()));
    }
    if files.is_empty() {
        return Err(AppError::bad_input("input.files", "attach at least one file"));
    }
    let existing = scoped::<eo_document::Entity>(actor.tenant_id)
        .filter(eo_document::Column::ApplicationId.eq(id))
        .count(&services.db)
        .await? as usize;
    if existing + files.len() > cfg.max_files {
        return Err(AppError::bad_input(
            "input.files",
            format!("an application holds at most {} files ({existing} already)", cfg.max_files),
        ));
    }
    let mut checked = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let field = format!("input.files.{i}");
        if f.content.is_empty() {
            return Err(AppError::bad_input(field, "the file is empty"));
        }
        if f.content.len() > cfg.max_file_bytes {
            return Err(AppError::bad_input(
                field,
                format!("the file is larger than {} bytes", cfg.max_file_bytes),
            ));
        }
        let Some(kind_of_content) = vault::sniff(&f.content) else {
            return Err(AppError::bad_input(
                field,
                "only PDF, JPEG and PNG files are accepted (decided from the content)",
            ));
        };
        let name: String = f.name.chars().filter(|c| !c.is_control()).take(200).collect();
        checked.push((name, kind_of_content, f.content));
    }
    let now = services.clock.now();
    let mut rows = Vec::with_capacity(checked.len());
    let mut stored: Vec<String> = Vec::new();
    for (name, sniffed, content) in checked {
        let doc_id = Uuid::now_v7();
        let sealed = vault::seal(&cfg.keys, doc_id, &content)
            .map_err(|e| AppError::internal("encrypting a document", e))?;
        let key = vault::storage_key(actor.tenant_id, doc_id);
        if let Err(e) = cfg.store.put(&key, sealed.blob).await {
            discard(cfg, &stored).await;
            return Err(AppError::internal("storing a document", e));
        }
        stored.push(key.clone());
        rows.push(eo_document::Model {
            id: doc_id,
            tenant_id: actor.tenant_id,
            application_id: id,
            kind: kind.as_str().into(),
            original_name: if name.is_empty() { "document".into() } else { name },
            mime_type: sniffed.mime().into(),
            size_bytes: content.len() as i64,
            sha256: vault::sha256_hex(&content),
            storage_key: key,
            key_id: sealed.key_id,
            wrapped_key: sealed.wrapped_key,
            last_contact_at: now,
            created_at: now,
        });
    }
    let written = async {
        let txn = services.db.begin().await?;
        // First a guarded write: it locks the application (the write lock on SQLite) and checks
        // that the review has not started meanwhile; then the cap is counted again under it.
        let open =
            eo_application::Entity::update_many()
                .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
                .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
                .filter(eo_application::Column::Id.eq(id))
                .filter(eo_application::Column::Status.is_in([
                    ApplicationStatus::Draft.as_str(),
                    ApplicationStatus::Submitted.as_str(),
                ]))
                .exec(&txn)
                .await?;
        if open.rows_affected != 1 {
            return Err(AppError::Conflict(
                "documents can be added until the review starts".into(),
            ));
        }
        let now_held = scoped::<eo_document::Entity>(actor.tenant_id)
            .filter(eo_document::Column::ApplicationId.eq(id))
            .count(&txn)
            .await? as usize;
        if now_held + rows.len() > cfg.max_files {
            return Err(AppError::bad_input(
                "input.files",
                format!(
                    "an application holds at most {} files ({now_held} already)",
                    cfg.max_files
                ),
            ));
        }
        touch_documents(&txn, id, now).await?;
        eo_document::Entity::insert_many(rows.iter().cloned().map(eo_document::ActiveModel::from))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(e) = written {
        discard(cfg, &stored).await;
        return Err(e);
    }
    Ok(rows)
}

/// Deletes blobs whose rows were never written (or are gone); failures are logged.
async fn discard(cfg: &DocumentConfig, keys: &[String]) {
    for k in keys {
        if let Err(e) = cfg.store.delete(k).await {
            tracing::error!(error = %e, "could not delete a document blob; its key is gone, so it cannot be read");
        }
    }
}

/// Moves an application from one of `from` to `to` (applicant or guardian), touching its
/// last-contact date.
async fn applicant_moves(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    from: &[ApplicationStatus],
    to: ApplicationStatus,
) -> AppResult<eo_application::Model> {
    let rec = visible(services, actor, relations, id).await?;
    if !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::Forbidden);
    }
    if status_of(&rec)?.decided() {
        return Err(AppError::Conflict(format!(
            "the application is {}: it can no longer change",
            rec.application.status
        )));
    }
    require(policy::decide(
        actor,
        relations,
        &rec.facts(),
        DataField::FinancialSituation,
        Op::Write,
    ))?;
    if to == ApplicationStatus::Submitted {
        if rec.application.income_bracket.is_none() {
            return Err(AppError::bad_input(
                "input.situation.incomeBracket",
                "declare the household income bracket before submitting",
            ));
        }
        let docs = scoped::<eo_document::Entity>(actor.tenant_id)
            .filter(eo_document::Column::ApplicationId.eq(id))
            .count(&services.db)
            .await?;
        if docs == 0 {
            return Err(AppError::bad_input(
                "input.applicationId",
                "attach at least one supporting document before submitting",
            ));
        }
    }
    let now = services.clock.now();
    let mut q = eo_application::Entity::update_many()
        .col_expr(eo_application::Column::Status, Expr::value(to.as_str()))
        .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.is_in(from.iter().map(|s| s.as_str())));
    if to == ApplicationStatus::Submitted {
        q = q.col_expr(eo_application::Column::SubmittedAt, Expr::value(now));
    }
    if q.exec(&services.db).await?.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "an application that is {} cannot become {}",
            rec.application.status,
            to.as_str()
        )));
    }
    touch_documents(&services.db, id, now).await?;
    reload(services, actor.tenant_id, id).await
}

pub async fn submit(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<eo_application::Model> {
    applicant_moves(
        services,
        actor,
        relations,
        id,
        &[ApplicationStatus::Draft],
        ApplicationStatus::Submitted,
    )
    .await
}

/// Withdraws an application before its decision.
pub async fn withdraw(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<eo_application::Model> {
    let from =
        [ApplicationStatus::Draft, ApplicationStatus::Submitted, ApplicationStatus::UnderReview];
    applicant_moves(services, actor, relations, id, &from, ApplicationStatus::Withdrawn).await
}

/// Deletes an application and its documents: the rows (with the wrapped keys, so the content
/// is unreadable from that moment) in one transaction, then the blobs. The applicant or their
/// guardian (not while it is under review), or the privacy officer.
pub async fn delete(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<()> {
    let rec = visible(services, actor, relations, id).await?;
    let own = policy::acts_for(actor, relations, rec.application.applicant_id);
    let officer = policy::may_erase_applications(actor);
    if !own && !officer {
        return Err(AppError::Forbidden);
    }
    if own && !officer && status_of(&rec)? == ApplicationStatus::UnderReview {
        return Err(AppError::Conflict(
            "withdraw the application before deleting it: it is under review".into(),
        ));
    }
    destroy(services, actor, &rec.application).await
}

/// Removes an application, its document rows and blobs (also for the retention sweep, whose
/// system actor records the purpose `retention`).
pub async fn destroy(
    services: &Services,
    actor: &Actor,
    a: &eo_application::Model,
) -> AppResult<()> {
    let relations = accounts::relations(services, actor).await?;
    let applicant = accounts::find_record(services, a.tenant_id, a.applicant_id).await?;
    let purpose = match applicant {
        Some(r) => policy::granting_column(
            actor,
            &relations,
            &SubjectFacts { is_applicant: true, ..r.facts() },
            DataField::Documents,
            Op::Write,
        )
        .or_else(|| policy::may_erase_applications(actor).then_some(Column::PrivacyOfficer))
        .map_or("retention", Column::purpose),
        None => "retention",
    };
    let docs = scoped::<eo_document::Entity>(a.tenant_id)
        .filter(eo_document::Column::ApplicationId.eq(a.id))
        .all(&services.db)
        .await?;
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    eo_document::Entity::delete_many()
        .filter(eo_document::Column::ApplicationId.eq(a.id))
        .exec(&txn)
        .await?;
    eo_application::Entity::delete_many()
        .filter(eo_application::Column::Id.eq(a.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: "application.deleted",
            category: Some(Category::SupportingDocuments),
            subject_id: Some(a.applicant_id),
            purpose,
            details: Some(json!({ "applicationId": a.id, "documents": docs.len() })),
        },
    )
    .await?;
    txn.commit().await?;
    let keys: Vec<String> = docs.into_iter().map(|d| d.storage_key).collect();
    discard(&services.documents, &keys).await;
    Ok(())
}

/// The review queue and the applicant's view: filters of [`list`].
#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    pub status: Option<ApplicationStatus>,
    pub course: Option<Uuid>,
}

/// Applications the actor may see: for reviewers and the privacy officer every submitted one
/// (never drafts), for others their own and their wards'. Oldest submission first for the
/// queue, newest first otherwise. Returns a page and the total.
pub async fn list(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    f: &ApplicationFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<eo_application::Model>, u64)> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    let mut q = scoped::<eo_application::Entity>(actor.tenant_id);
    let queue = policy::sees_all_applications(actor);
    if queue && policy::sees_withdrawn_applications(actor) {
        q = q.filter(eo_application::Column::Status.ne(ApplicationStatus::Draft.as_str()));
    } else if queue {
        q = q.filter(eo_application::Column::Status.is_in(ApplicationStatus::in_review_names()));
    } else {
        q = q.filter(
            eo_application::Column::ApplicantId.is_in(policy::people_acted_for(actor, relations)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(eo_application::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = f.course {
        q = q.filter(eo_application::Column::CourseId.eq(c));
    }
    let total = q.clone().count(&services.db).await?;
    let q = if queue {
        q.order_by_asc(eo_application::Column::SubmittedAt).order_by_asc(eo_application::Column::Id)
    } else {
        q.order_by_desc(eo_application::Column::CreatedAt).order_by_desc(eo_application::Column::Id)
    };
    Ok((q.offset(offset).limit(limit).all(&services.db).await?, total))
}

/// Which of `people` have an application in review ([`ApplicationStatus::in_review`]): the
/// people a reviewer may look at.
pub async fn in_review_applicants(
    services: &Services,
    tenant_id: Uuid,
    people: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, bool>> {
    let found: std::collections::HashSet<Uuid> = scoped::<eo_application::Entity>(tenant_id)
        .filter(eo_application::Column::ApplicantId.is_in(people.iter().copied()))
        .filter(eo_application::Column::Status.is_in(ApplicationStatus::in_review_names()))
        .select_only()
        .column(eo_application::Column::ApplicantId)
        .into_tuple::<Uuid>()
        .all(&services.db)
        .await?
        .into_iter()
        .collect();
    Ok(people.iter().map(|p| (*p, found.contains(p))).collect())
}

/// Documents of several applications (metadata only), oldest first.
pub async fn documents_of(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<eo_document::Model>>> {
    let rows = scoped::<eo_document::Entity>(tenant_id)
        .filter(eo_document::Column::ApplicationId.is_in(ids.iter().copied()))
        .order_by_asc(eo_document::Column::CreatedAt)
        .all(&services.db)
        .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<eo_document::Model>> =
        std::collections::HashMap::new();
    for r in rows {
        out.entry(r.application_id).or_default().push(r);
    }
    Ok(out)
}

/// A reviewer opens a submitted application (submitted → under review).
pub async fn start_review(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<eo_application::Model> {
    decide_move(
        services,
        actor,
        relations,
        id,
        &[ApplicationStatus::Submitted],
        ApplicationStatus::UnderReview,
        None,
        None,
        None,
    )
    .await
}

/// Approves with a discount of `percent` (1–100).
pub async fn approve(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    percent: i32,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    if !(1..=100).contains(&percent) {
        return Err(AppError::bad_input("input.discountPercent", "must be between 1 and 100"));
    }
    let from = [ApplicationStatus::Submitted, ApplicationStatus::UnderReview];
    let a = decide_move(
        services,
        actor,
        relations,
        id,
        &from,
        ApplicationStatus::Approved,
        Some(percent),
        None,
        note,
    )
    .await?;
    // Orders the applicant has not paid yet for this course get the discount too.
    crate::domain::shop::apply_approved_discount(services, &a).await?;
    Ok(a)
}

/// Rejects with a reason the applicant will read.
pub async fn reject(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    reason: String,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    let from = [ApplicationStatus::Submitted, ApplicationStatus::UnderReview];
    decide_move(
        services,
        actor,
        relations,
        id,
        &from,
        ApplicationStatus::Rejected,
        None,
        Some(reason),
        note,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one guarded transition shared by start, approve and reject"
)]
async fn decide_move(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    from: &[ApplicationStatus],
    to: ApplicationStatus,
    percent: Option<i32>,
    reason: Option<String>,
    note: Option<String>,
) -> AppResult<eo_application::Model> {
    let rec = visible(services, actor, relations, id).await?;
    if !policy::may_review(actor)
        || !policy::decide(
            actor,
            relations,
            &rec.facts(),
            DataField::FinancialSituation,
            Op::Decide,
        )
        .allowed()
    {
        return Err(AppError::Forbidden);
    }
    if !policy::may_decide_application(
        actor,
        relations,
        rec.application.applicant_id,
        rec.application.created_by,
    ) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let txn = services.db.begin().await?;
    let mut q = eo_application::Entity::update_many()
        .col_expr(eo_application::Column::Status, Expr::value(to.as_str()))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.is_in(from.iter().map(|s| s.as_str())));
    if to.decided() {
        q = q
            .col_expr(eo_application::Column::DiscountPercent, Expr::value(percent))
            .col_expr(eo_application::Column::DecisionReason, Expr::value(reason))
            .col_expr(eo_application::Column::ReviewerNote, Expr::value(note))
            .col_expr(eo_application::Column::DecidedBy, Expr::value(actor.user_id))
            .col_expr(eo_application::Column::DecidedAt, Expr::value(now))
            .col_expr(eo_application::Column::LastContactAt, Expr::value(now));
    }
    if q.exec(&txn).await?.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "an application that is {} cannot become {}",
            rec.application.status,
            to.as_str()
        )));
    }
    if to.decided() {
        touch_documents(&txn, id, now).await?;
    }
    audit::record(
        &txn,
        actor,
        now,
        AuditRecord {
            action: match to {
                ApplicationStatus::Approved => "application.approved",
                ApplicationStatus::Rejected => "application.rejected",
                _ => "application.review_started",
            },
            category: Some(Category::FinancialSituation),
            subject_id: Some(rec.application.applicant_id),
            purpose: Column::Reviewer.purpose(),
            details: Some(json!({ "applicationId": id, "discountPercent": percent })),
        },
    )
    .await?;
    txn.commit().await?;
    reload(services, actor.tenant_id, id).await
}

/// A document's content for someone the policy lets read it (applicant, guardian, reviewer,
/// privacy officer); `NOT_FOUND` for anyone else. Staff downloads are audited first (fail
/// closed). A stored blob that fails its integrity check is `DATA_CORRUPTED`, never garbage.
pub async fn download(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    document_id: Uuid,
) -> AppResult<(eo_document::Model, Vec<u8>)> {
    let doc = scoped::<eo_document::Entity>(actor.tenant_id)
        .filter(eo_document::Column::Id.eq(document_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let rec = visible(services, actor, relations, doc.application_id).await?;
    let audit_as =
        match policy::decide(actor, relations, &rec.facts(), DataField::Documents, Op::Read) {
            Decision::Deny => return Err(AppError::NotFound),
            Decision::Allow { audit } => audit,
        };
    if let Some(column) = audit_as {
        audit::record(
            &services.db,
            actor,
            services.clock.now(),
            AuditRecord {
                action: "document.downloaded",
                category: Some(Category::SupportingDocuments),
                subject_id: Some(rec.application.applicant_id),
                purpose: column.purpose(),
                details: Some(json!({ "applicationId": rec.application.id, "documentId": doc.id })),
            },
        )
        .await?;
    }
    let cfg = &services.documents;
    let blob = cfg.store.get(&doc.storage_key).await.map_err(|e| match e {
        vault::VaultError::Missing => AppError::Corrupted("the stored document is missing"),
        other => AppError::internal("reading a document", other),
    })?;
    let plain = vault::open(&cfg.keys, doc.id, &doc.key_id, &doc.wrapped_key, &blob).map_err(|e| match e {
        vault::VaultError::Tampered => {
            tracing::error!(document.id = %doc.id, error = %e, "a stored document failed its integrity check");
            AppError::Corrupted("the stored document failed its integrity check")
        }
        other => AppError::internal("decrypting a document", other),
    })?;
    Ok((doc, plain))
}

/// The approved discount (percent) of `applicant` for each of `courses`.
pub async fn approved_discounts<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    applicant: Uuid,
    courses: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, i32>> {
    let rows = scoped::<eo_application::Entity>(tenant_id)
        .filter(eo_application::Column::ApplicantId.eq(applicant))
        .filter(eo_application::Column::CourseId.is_in(courses.iter().copied()))
        .filter(eo_application::Column::Status.eq(ApplicationStatus::Approved.as_str()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|a| Some((a.course_id, a.discount_percent?))).collect())
}

/// Re-wraps every document key not under the current master key (key rotation), checking
/// that each document still opens with its new wrapped key before saving it. Returns how many
/// were moved. Safe to re-run (documents already under the current key are skipped).
pub async fn rotate_keys(
    db: &sea_orm::DatabaseConnection,
    docs: &DocumentConfig,
) -> AppResult<u64> {
    let current = docs.keys.current_kid().to_owned();
    let stale = eo_document::Entity::find()
        .filter(eo_document::Column::KeyId.ne(current.as_str()))
        .all(db)
        .await?;
    let mut moved = 0;
    for d in stale {
        let (kid, wrapped) = vault::rewrap(&docs.keys, d.id, &d.key_id, &d.wrapped_key)
            .map_err(|e| AppError::internal("re-wrapping a document key", e))?;
        let blob = docs
            .store
            .get(&d.storage_key)
            .await
            .map_err(|e| AppError::internal("reading a document to rotate its key", e))?;
        vault::open(&docs.keys, d.id, &kid, &wrapped, &blob)
            .map_err(|e| AppError::internal("checking a re-wrapped document key", e))?;
        let res = eo_document::Entity::update_many()
            .col_expr(eo_document::Column::KeyId, Expr::value(kid))
            .col_expr(eo_document::Column::WrappedKey, Expr::value(wrapped))
            .filter(eo_document::Column::Id.eq(d.id))
            .filter(eo_document::Column::KeyId.eq(d.key_id.as_str()))
            .exec(db)
            .await?;
        moved += res.rows_affected;
    }
    Ok(moved)
}

/// Dates for the retention sweep (SPEC §5: three years after the last contact).
pub fn retention_deadline(a: &eo_application::Model) -> DateTime<Utc> {
    a.last_contact_at + chrono::Duration::days(3 * 365)
}
