//! Reading applications: one by id for an actor who may reach it ([`visible`]), the list (the
//! reviewers' queue, or an applicant's own and their wards'), and which people have an
//! application in review (for the loaders).
//!
//! Reaching a record is not reading its data: every field is then guarded by the policy.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{ApplicationFilter, ApplicationRecord, ApplicationStatus};
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::tenancy::scoped;
use crate::entities::eo_application;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// Loads an application by id for a signed-in actor of its tenant: a draft only for its
/// applicant (or their guardian), a submitted one for anyone who has its id. This only reaches
/// the record: every field of it is then guarded by the policy (so billing or support holding
/// an id get `FORBIDDEN` on the situation and documents, and nothing else), and every action
/// asks the policy again. Lists never show others' applications (see [`list`]).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
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
    let draft = rec.application.status == ApplicationStatus::Draft;
    if draft && !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::NotFound);
    }
    Ok(rec)
}

/// An application of the tenant by id, after a write (no access check: callers made it).
pub(super) async fn reload(
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

/// Applications the actor may see: for reviewers and the privacy officer every submitted one
/// (never drafts), for others their own and their wards'. Oldest submission first for the
/// queue, newest first otherwise. Returns a page and the total.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
))]
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
        q = q.filter(eo_application::Column::Status.ne(ApplicationStatus::Draft));
    } else if queue {
        q = q.filter(eo_application::Column::Status.is_in(ApplicationStatus::in_review_statuses()));
    } else {
        q = q.filter(
            eo_application::Column::ApplicantId.is_in(policy::people_acted_for(actor, relations)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(eo_application::Column::Status.eq(s));
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
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn in_review_applicants(
    services: &Services,
    tenant_id: Uuid,
    people: &[Uuid],
) -> AppResult<HashMap<Uuid, bool>> {
    let found: HashSet<Uuid> = scoped::<eo_application::Entity>(tenant_id)
        .filter(eo_application::Column::ApplicantId.is_in(people.iter().copied()))
        .filter(eo_application::Column::Status.is_in(ApplicationStatus::in_review_statuses()))
        .select_only()
        .column(eo_application::Column::ApplicantId)
        .into_tuple::<Uuid>()
        .all(&services.db)
        .await?
        .into_iter()
        .collect();
    Ok(people.iter().map(|p| (*p, found.contains(p))).collect())
}
