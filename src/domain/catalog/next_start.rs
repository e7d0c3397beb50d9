//! `courses.next_start_at`, the key of the default catalogue order: when the course's next
//! upcoming (not cancelled, not yet started) session starts, or
//! [`no_upcoming_session`](migration::catalogue::no_upcoming_session) when it has none.
//!
//! **Kept exact by the writes**: creating, moving or cancelling a session recomputes its
//! course's key ([`refresh`]) in the transaction of that change, so a page read after the
//! change commits sees the new order.
//!
//! **Moved on by time**: when a course's next session starts, the course moves to its
//! following session (or to the end of the catalogue if there is none). Time changes no row, so
//! each round of the jobs ([`advance`]) recomputes every course whose key is no longer in the
//! future, tenant by tenant and in batches: a range read of the catalogue order's index
//! `(tenant_id, status, next_start_at, id)` for each status. Until that
//! round, at most `PUPITRE_JOBS_INTERVAL_SECS` (60 s by default) after the start, the course
//! keeps its place under the session that has just started; the sessions a page shows are
//! always the upcoming ones, read at request time. Several instances may run the round at once:
//! each UPDATE computes the same value from the sessions.

use chrono::{DateTime, Utc};
use migration::catalogue::no_upcoming_session;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::enums::CourseStatus;
use crate::entities::{course, session};
use crate::error::AppResult;

/// `SELECT … FROM sessions` of the outer query's course that are still to come at `now` (not
/// cancelled, not started): the key below, and the catalogue's `hasUpcomingSession` filter.
pub(super) fn upcoming_of_outer_course(now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .from(session::Entity)
        .and_where(
            Expr::col((session::Entity, session::Column::CourseId))
                .equals((course::Entity, course::Column::Id)),
        )
        .and_where(Expr::col((session::Entity, session::Column::Cancelled)).eq(false))
        .and_where(Expr::col((session::Entity, session::Column::StartsAt)).gt(now))
        .to_owned()
}

/// `COALESCE((SELECT MIN(starts_at) FROM sessions WHERE course_id = courses.id AND NOT cancelled
/// AND starts_at > now), no_upcoming_session)`.
fn key_at(now: DateTime<Utc>) -> Expr {
    let next = upcoming_of_outer_course(now)
        .expr(Expr::col((session::Entity, session::Column::StartsAt)).min())
        .to_owned();
    Func::coalesce([
        Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(next))),
        Expr::val(no_upcoming_session()),
    ])
    .into()
}

/// Recomputes the key of `course_id` (inside the transaction that changed one of its sessions).
pub async fn refresh<C: ConnectionTrait>(
    conn: &C,
    course_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    course::Entity::update_many()
        .col_expr(course::Column::NextStartAt, key_at(now))
        .filter(course::Column::Id.eq(course_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Recomputes the keys that are no longer in the future, tenant by tenant, `batch` courses per
/// statement, until none is left; returns how many courses were recomputed. The tenants are the
/// directory's (`TenantDirectory::all`: a tenant being offboarded is left out, its catalogue is
/// no longer served). A tenant whose statement fails is logged and retried next round; the
/// others are still moved on. At least one statement per tenant and round.
#[tracing::instrument(skip_all)]
pub async fn advance(services: &Services, batch: u64) -> AppResult<u64> {
    let now = services.clock.now();
    let mut total = 0;
    for tenant in services.tenants.all().await?.iter() {
        match advance_tenant(services, tenant.id, now, batch).await {
            Ok(n) => total += n,
            Err(e) => tracing::error!(
                tenant.id = %tenant.id,
                error.chain = %crate::error::Chain(&e),
                "catalogue order failed for a tenant"
            ),
        }
    }
    Ok(total)
}

/// One tenant's share of [`advance`]. Every status is named, so that the tenant, the status and
/// the key are a range of the order's index (there is no other index on `next_start_at`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
async fn advance_tenant(
    services: &Services,
    tenant_id: Uuid,
    now: DateTime<Utc>,
    batch: u64,
) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let due = scoped::<course::Entity>(tenant_id)
            .select_only()
            .column(course::Column::Id)
            .filter(course::Column::Status.is_in(CourseStatus::iter()))
            .filter(course::Column::NextStartAt.lte(now))
            .limit(batch)
            .into_query();
        let n = course::Entity::update_many()
            .col_expr(course::Column::NextStartAt, key_at(now))
            .filter(course::Column::TenantId.eq(tenant_id))
            .filter(course::Column::Id.in_subquery(due))
            .exec(&services.db)
            .await?
            .rows_affected;
        total += n;
        if n < batch {
            return Ok(total);
        }
    }
}
