//! Reads that return only what the actor may see, where the answer combines several areas
//! (a session's roster with its learners' accounts, the catalogue as an admin or a visitor
//! sees it, the applications list with its applicants, an order's client secret). Each asks
//! [`policy`] and nothing else decides: the API layer calls one of these and wraps the result.
//!
//! It must never write, and never decide access itself: the rules live in `policy`.

use std::collections::HashMap;

use uuid::Uuid;

use super::Services;
use super::accounts::{self, UserRecord};
use super::catalog::{self, CourseStatus};
use super::equal_opportunity::{self as eo, ApplicationFilter, ApplicationRecord};
use super::learning;
use super::shop::OrderStatus;
use crate::entities::{course, enrollment, order, session};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// The learners of `session` with their enrollments, oldest enrollment first, for
/// `policy::may_read_roster` (its instructor, support, the privacy officer; `FORBIDDEN`
/// otherwise). Each learner's fields are still guarded one by one.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, session.id = %session.id))]
pub async fn roster(
    services: &Services,
    actor: &Actor,
    session: &session::Model,
) -> AppResult<Vec<(enrollment::Model, UserRecord)>> {
    if !policy::may_read_roster(actor, session.instructor_id) {
        return Err(AppError::Forbidden);
    }
    let rows = learning::roster(services, actor.tenant_id, session.id).await?;
    let learners: Vec<Uuid> = rows.iter().map(|e| e.learner_id).collect();
    let mut records: HashMap<Uuid, UserRecord> =
        accounts::find_records(services, actor.tenant_id, &learners)
            .await?
            .into_iter()
            .map(|r| (r.user.id, r))
            .collect();
    Ok(rows.into_iter().filter_map(|e| records.remove(&e.learner_id).map(|r| (e, r))).collect())
}

/// One course by slug: a published one for everyone, drafts too for those who manage the
/// catalogue (`policy::may_manage_catalogue`).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id))]
pub async fn course_by_slug(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> AppResult<Option<course::Model>> {
    let drafts = policy::may_manage_catalogue(actor);
    catalog::course_by_slug(services, actor.tenant_id, slug, drafts).await
}

/// One session of the public catalogue: not cancelled, of a published course.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, session.id = %id))]
pub async fn public_session(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<session::Model>> {
    let Some(session) =
        catalog::session_by_id(services, tenant_id, id).await?.filter(|x| !x.cancelled)
    else {
        return Ok(None);
    };
    let published = catalog::course(services, tenant_id, session.course_id)
        .await?
        .is_some_and(|c| c.status == CourseStatus::Published);
    Ok(published.then_some(session))
}

/// A page of applications as `eo::list` scopes them (the queue for reviewers and the privacy
/// officer, one's own and one's wards' otherwise), each with its applicant, and the total.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id))]
pub async fn applications(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    filter: &ApplicationFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<ApplicationRecord>, u64)> {
    let (rows, total) = eo::list(services, actor, relations, filter, offset, limit).await?;
    let applicants: Vec<Uuid> = rows.iter().map(|a| a.applicant_id).collect();
    let people = accounts::find_records(services, actor.tenant_id, &applicants).await?;
    let mut records = Vec::with_capacity(rows.len());
    for application in rows {
        let applicant =
            people.iter().find(|p| p.user.id == application.applicant_id).cloned().ok_or_else(
                || AppError::internal("listing applications", "an applicant without an account"),
            )?;
        records.push(ApplicationRecord { application, applicant });
    }
    Ok((records, total))
}

/// An order's PaymentIntent client secret: `FORBIDDEN` but to its buyer
/// (`policy::may_read_client_secret`), and `None` once the order is no longer unpaid.
pub fn client_secret(actor: &Actor, order: &order::Model) -> AppResult<Option<String>> {
    if !policy::may_read_client_secret(actor, order.buyer_id) {
        return Err(AppError::Forbidden);
    }
    let unpaid = OrderStatus::UNPAID.contains(&order.status);
    Ok(if unpaid { order.client_secret.clone() } else { None })
}
