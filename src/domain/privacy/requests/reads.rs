//! Reading requests: one by id for a signed-in person of the tenant ([`visible`]: reaching a
//! request is not reading it, every field is then guarded by the policy), a person's requests,
//! the privacy officer's queue, and the steps and directives of many requests at once (for the
//! loaders).

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{RequestKind, RequestRecord, RequestStatus};
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::{
    data_subject_request as dsr, data_subject_request_step as step, post_mortem_directive,
};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// Longest list of one person's requests.
const PERSON_LIST_MAX: u64 = 100;

/// A request of the tenant by id, for anyone signed in who holds its id; its fields then answer
/// by the matrix (the subject, their guardian and the privacy officer read it; support its
/// status; everyone else `FORBIDDEN`).
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    request.id = %id,
))]
pub async fn visible(services: &Services, actor: &Actor, id: Uuid) -> AppResult<RequestRecord> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    reload(services, actor.tenant_id, id).await
}

/// A request of the tenant by id with its subject (no access check: callers make it).
pub(super) async fn reload(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<RequestRecord> {
    let request = scoped::<dsr::Entity>(tenant_id)
        .filter(dsr::Column::Id.eq(id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = accounts::find_record(services, tenant_id, request.subject_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(RequestRecord { request, subject })
}

async fn with_subjects(
    services: &Services,
    tenant_id: Uuid,
    rows: Vec<dsr::Model>,
) -> AppResult<Vec<RequestRecord>> {
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.subject_id).collect();
    ids.sort();
    ids.dedup();
    let people = accounts::find_records(services, tenant_id, &ids).await?;
    rows.into_iter()
        .map(|request| {
            let subject =
                people.iter().find(|p| p.user.id == request.subject_id).cloned().ok_or_else(
                    || AppError::internal("listing requests", "a subject without account"),
                )?;
            Ok(RequestRecord { request, subject })
        })
        .collect()
}

/// The requests about each of `people`, newest first (at most [`PERSON_LIST_MAX`] each), in one
/// query: the rows behind `User.dataSubjectRequests`, whose people come from
/// [`policy::requests::listed_request_subjects`]. No access check: the caller's field guard
/// made it, and each request's fields are guarded in turn.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = people.len()))]
pub async fn about_people(
    services: &Services,
    tenant_id: Uuid,
    people: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<dsr::Model>>> {
    let rows = scoped::<dsr::Entity>(tenant_id)
        .filter(dsr::Column::SubjectId.is_in(people.iter().copied()))
        .order_by_desc(dsr::Column::ReceivedAt)
        .order_by_desc(dsr::Column::Id)
        .all(&services.db)
        .await?;
    let mut out = group(rows, |r| (r.subject_id, r));
    // Every person asked about gets an entry; each list keeps its newest requests only.
    for p in people {
        out.entry(*p).or_default().truncate(PERSON_LIST_MAX as usize);
    }
    Ok(out)
}

/// Filters of the privacy officer's queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueFilter {
    pub status: Option<RequestStatus>,
    pub kind: Option<RequestKind>,
    /// Only overdue requests (`true`) or only the others (`false`).
    pub overdue: Option<bool>,
}

/// The date a request is due by: its extension, else its due date.
fn effective_due() -> Expr {
    Func::coalesce([Expr::col(dsr::Column::ExtendedUntil), Expr::col(dsr::Column::DueAt)]).into()
}

/// The privacy officer's queue: every request of the tenant, filtered, the oldest due first.
/// Returns a page and the total.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
))]
pub async fn queue(
    services: &Services,
    actor: &Actor,
    filter: QueueFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<RequestRecord>, u64)> {
    actor.user_id.ok_or(AppError::Unauthenticated)?;
    if !policy::requests::processes_requests(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let mut q = scoped::<dsr::Entity>(actor.tenant_id);
    if let Some(s) = filter.status {
        q = q.filter(dsr::Column::Status.eq(s));
    }
    if let Some(k) = filter.kind {
        q = q.filter(dsr::Column::Kind.eq(k));
    }
    let overdue = Condition::all()
        .add(dsr::Column::Status.is_in(RequestStatus::OPEN))
        .add(effective_due().lt(now));
    match filter.overdue {
        Some(true) => q = q.filter(overdue),
        Some(false) => q = q.filter(overdue.not()),
        None => {}
    }
    let total = q.clone().count(&services.db).await?;
    let rows = q
        .order_by(effective_due(), Order::Asc)
        .order_by_asc(dsr::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(&services.db)
        .await?;
    Ok((with_subjects(services, actor.tenant_id, rows).await?, total))
}

/// The steps of several requests, in order (one query).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = requests.len()))]
pub async fn steps_of(
    services: &Services,
    tenant_id: Uuid,
    requests: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<step::Model>>> {
    let rows = scoped::<step::Entity>(tenant_id)
        .filter(step::Column::RequestId.is_in(requests.iter().copied()))
        .order_by_asc(step::Column::RequestId)
        .order_by_asc(step::Column::Position)
        .all(&services.db)
        .await?;
    let mut out = group(rows, |s| (s.request_id, s));
    // Every request asked about gets an entry, with steps or none.
    for r in requests {
        out.entry(*r).or_default();
    }
    Ok(out)
}

/// The post-mortem directives recorded by several requests (one query).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = requests.len()))]
pub async fn directives_of(
    services: &Services,
    tenant_id: Uuid,
    requests: &[Uuid],
) -> AppResult<HashMap<Uuid, post_mortem_directive::Model>> {
    Ok(scoped::<post_mortem_directive::Entity>(tenant_id)
        .filter(post_mortem_directive::Column::RequestId.is_in(requests.iter().copied()))
        .all(&services.db)
        .await?
        .into_iter()
        .map(|d| (d.request_id, d))
        .collect())
}
