//! What an applicant (or their guardian) does with an application: open a draft, change the
//! declared situation, submit it, withdraw it, delete it. Each step asks the policy for the
//! applicant's `financial_situation` and moves the application's last-contact date (and its
//! documents') for the retention clock.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::documents::touch_documents;
use super::reads::{reload, visible};
use super::retention::destroy;
use super::{ApplicationStatus, Situation, require};
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::catalog::{self, CourseStatus};
use crate::domain::tenancy::scoped;
use crate::entities::{eo_application, eo_document};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, DataField, Op, Relations, SubjectFacts};

/// Opens a draft for `course` (and optionally one of its sessions), for the actor or their ward.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = tracing::field::Empty,
))]
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
    if course.status != CourseStatus::Published {
        return Err(AppError::bad_input("input.courseId", "this course is not on sale"));
    }
    if let Some(sid) = session_id {
        let s = catalog::session_by_id(services, actor.tenant_id, sid).await?;
        if s.is_none_or(|s| s.course_id != course_id) {
            return Err(AppError::bad_input("input.sessionId", "no such session of this course"));
        }
    }
    let now = services.clock.now();
    let id = Uuid::now_v7();
    tracing::Span::current().record("application.id", tracing::field::display(id));
    let model = eo_application::Model {
        id,
        tenant_id: actor.tenant_id,
        applicant_id: applicant,
        created_by: me,
        course_id,
        session_id,
        status: ApplicationStatus::Draft,
        income_bracket: situation.income_bracket,
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

/// Changes the declared situation of a draft (applicant or guardian).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
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
    if rec.application.status != ApplicationStatus::Draft {
        return Err(AppError::Conflict("only a draft can be changed".into()));
    }
    let now = services.clock.now();
    let res = eo_application::Entity::update_many()
        .col_expr(eo_application::Column::IncomeBracket, Expr::value(situation.income_bracket))
        .col_expr(
            eo_application::Column::ScholarshipHolder,
            Expr::value(situation.scholarship_holder),
        )
        .col_expr(eo_application::Column::Situation, Expr::value(situation.text))
        .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.eq(ApplicationStatus::Draft))
        .exec(&services.db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("only a draft can be changed".into()));
    }
    touch_documents(&services.db, id, now).await?;
    reload(services, actor.tenant_id, id).await
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
    if rec.application.status.decided() {
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
        .col_expr(eo_application::Column::Status, Expr::value(to))
        .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
        .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
        .filter(eo_application::Column::Id.eq(id))
        .filter(eo_application::Column::Status.is_in(from.iter().copied()));
    if to == ApplicationStatus::Submitted {
        q = q.col_expr(eo_application::Column::SubmittedAt, Expr::value(now));
    }
    if q.exec(&services.db).await?.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "an application that is {} cannot become {}",
            rec.application.status, to
        )));
    }
    touch_documents(&services.db, id, now).await?;
    reload(services, actor.tenant_id, id).await
}

/// Submits a draft to the reviewers (applicant or guardian): the income bracket and at least
/// one document are required.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
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
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
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
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
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
    if own && !officer && rec.application.status == ApplicationStatus::UnderReview {
        return Err(AppError::Conflict(
            "withdraw the application before deleting it: it is under review".into(),
        ));
    }
    // Gone meanwhile (deleted by another request, or by the retention sweep): not found.
    destroy(services, actor, &rec.application).await?.map(|_| ()).ok_or(AppError::NotFound)
}
