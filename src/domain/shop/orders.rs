//! Reading orders: by id, in batches for the loaders, and the paged list, each limited to what
//! the actor may see ([`order_scope`]: staff whose column reads order status see every order,
//! others their own and their wards').
//!
//! Reads only: every change of an order is in [`checkout`](super::checkout),
//! [`lifecycle`](super::lifecycle) or [`refund`](super::refund).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::OrderStatus;
use crate::domain::Services;
use crate::domain::batch::group;
use crate::domain::catalog;
use crate::domain::tenancy::scoped;
use crate::entities::{order, order_line};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Relations};

/// One order of the tenant by id, whoever asks (callers decide who may see it).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, order.id = %id))]
pub async fn order_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<order::Model>> {
    Ok(scoped::<order::Entity>(tenant_id)
        .filter(order::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// Lines of several orders, in their order.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn lines_of(
    services: &Services,
    tenant_id: Uuid,
    orders: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<order_line::Model>>> {
    let rows = scoped::<order_line::Entity>(tenant_id)
        .filter(order_line::Column::OrderId.is_in(orders.iter().copied()))
        .order_by_asc(order_line::Column::Position)
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.order_id, r)))
}

/// Orders several ids at once (loaders).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn orders_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, order::Model>> {
    let rows = scoped::<order::Entity>(tenant_id)
        .filter(order::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

/// Which buyers' orders an actor may see: everyone's (`None`) for staff whose column reads
/// order status (billing, support, privacy officer), otherwise their own and their wards'.
/// An order's data belongs to its buyer: a ward enrolled by a guardian's order does not see
/// the guardian's billing data.
pub fn order_scope(actor: &Actor, relations: &Relations) -> Option<Vec<Uuid>> {
    if policy::sees_all_orders(actor) {
        return None;
    }
    Some(policy::people_acted_for(actor, relations))
}

/// Filters of the order list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub buyer: Option<Uuid>,
}

/// A page of orders (newest first) and the total count.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
))]
pub async fn list_orders(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    filter: &OrderFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<order::Model>, u64)> {
    if actor.user_id.is_none() {
        return Err(AppError::Unauthenticated);
    }
    let mut q = scoped::<order::Entity>(actor.tenant_id);
    if let Some(people) = order_scope(actor, relations) {
        q = q.filter(order::Column::BuyerId.is_in(people));
    }
    if let Some(s) = filter.status {
        q = q.filter(order::Column::Status.eq(s));
    }
    if let Some(b) = filter.buyer {
        q = q.filter(order::Column::BuyerId.eq(b));
    }
    let total = q.clone().count(&services.db).await?;
    let rows = q
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(&services.db)
        .await?;
    Ok((rows, total))
}

/// One order, if the actor may see it at all (status at least); `NOT_FOUND` otherwise.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    order.id = %id,
))]
pub async fn visible_order(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
) -> AppResult<order::Model> {
    let o = order_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    match order_scope(actor, relations) {
        None => Ok(o),
        Some(people) => {
            let mine = o.buyer_id.is_some_and(|b| people.contains(&b));
            if mine { Ok(o) } else { Err(AppError::NotFound) }
        }
    }
}

/// Sessions' courses for invoices and messages.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn course_titles(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, String>> {
    Ok(catalog::courses_by_id(services, tenant_id, ids)
        .await?
        .into_iter()
        .map(|(k, c)| (k, c.title))
        .collect())
}
