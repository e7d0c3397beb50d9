//! Demo equal-opportunity applications, each brought to its demo state through the
//! equal-opportunity services, on the dates of the demo story: the applicant opens it (14 days
//! ago), attaches the sample documents (sealed and stored as uploads are) and submits it (12
//! days ago); the reviewer starts the review (8 days ago) and decides (5 days ago), or the
//! applicant withdraws it. An application of the learner for the course counts as existing.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, QueryFilter};

use super::data::{self, DemoApplication, DemoTenant};
use super::{SeedReport, Seeder};
use crate::domain::equal_opportunity::{
    self as eo, ApplicationStatus, DocumentKind, IncomeBracket, IncomingFile, Situation,
};
use crate::domain::tenancy::scoped;
use crate::entities::eo_application;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Relations, Role};

/// The reviewer's note on the demo decisions (never shown to the applicant).
const REVIEWER_NOTE: &str = "Dossier de démonstration.";

fn days_ago(s: &Seeder<'_>, days: i64) -> DateTime<Utc> {
    s.now - Duration::days(days)
}

/// The demo applications of the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(s: &Seeder<'_>, t: &DemoTenant, report: &mut SeedReport) -> AppResult<()> {
    for a in &t.applications {
        let learner = s.user_id(&a.learner).await?;
        let course = s.course(&a.course).await?;
        let exists = scoped::<eo_application::Entity>(s.tenant.id)
            .filter(eo_application::Column::ApplicantId.eq(learner))
            .filter(eo_application::Column::CourseId.eq(course.id))
            .one(&s.services.db)
            .await?
            .is_some();
        report.count(!exists);
        if !exists {
            let applicant = s.actor(learner).await?;
            apply(s, a, &applicant, course.id).await?;
        }
    }
    Ok(())
}

async fn apply(
    s: &Seeder<'_>,
    a: &DemoApplication,
    (applicant, relations): &(Actor, Relations),
    course: uuid::Uuid,
) -> AppResult<()> {
    let bad = |field: &str, what: &str| AppError::bad_input(format!("applications.{field}"), what);
    let status = ApplicationStatus::parse(&a.status).ok_or_else(|| bad("status", "unknown"))?;
    let situation = Situation {
        income_bracket: Some(
            IncomeBracket::parse(&a.income_bracket)
                .ok_or_else(|| bad("income_bracket", "unknown"))?,
        ),
        scholarship_holder: a.scholarship_holder,
        text: Some(a.text.clone()).filter(|t| !t.is_empty()),
    };
    let opened = s.at(days_ago(s, 14));
    let id = eo::create(&opened, applicant, relations, course, None, None, situation).await?.id;
    let filed = s.at(days_ago(s, 12));
    for (kind, file) in &a.documents {
        let kind = DocumentKind::parse(kind).ok_or_else(|| bad("documents", "unknown kind"))?;
        let content = data::sample_document(file)
            .ok_or_else(|| bad("documents", "no such sample document"))?;
        let upload = IncomingFile { name: file.clone(), content: content.to_vec() };
        eo::add_documents(&filed, applicant, relations, id, kind, vec![upload]).await?;
    }
    if status == ApplicationStatus::Draft {
        return Ok(());
    }
    eo::submit(&filed, applicant, relations, id).await?;
    let decided = s.at(days_ago(s, 5));
    match status {
        ApplicationStatus::Withdrawn => {
            eo::withdraw(&decided, applicant, relations, id).await?;
        }
        ApplicationStatus::UnderReview
        | ApplicationStatus::Approved
        | ApplicationStatus::Rejected => {
            let (reviewer, relations) = s.holder_of(Role::Reviewer).await?;
            eo::start_review(&s.at(days_ago(s, 8)), &reviewer, &relations, id).await?;
            let note = Some(REVIEWER_NOTE.to_owned());
            if status == ApplicationStatus::Approved {
                let percent =
                    a.discount_percent.ok_or_else(|| bad("discount_percent", "is required"))?;
                eo::approve(&decided, &reviewer, &relations, id, percent, note).await?;
            } else if status == ApplicationStatus::Rejected {
                let reason = a.reason.clone().ok_or_else(|| bad("reason", "is required"))?;
                eo::reject(&decided, &reviewer, &relations, id, reason, note).await?;
            }
        }
        ApplicationStatus::Draft | ApplicationStatus::Submitted => {}
    }
    Ok(())
}
