//! The user directory: users of a tenant with their roles (one at a time or in batches), the
//! page of users a staff member may list, and the audit record of a staff read of someone's
//! personal data.
//!
//! Which rows a staff member sees is [`policy::user_rows`]; this file only applies it.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::UserRecord;
use super::roles::{held_roles, roles_of};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::consent;
use crate::domain::tenancy::scoped;
use crate::entities::enums::{AccountStatus, StoredRole};
use crate::entities::{user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column, Relations, Role, UserRows};

/// One user of the tenant with their roles, or `None` (also for other tenants' ids).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, user.id = %id))]
pub async fn find_record(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<UserRecord>> {
    Ok(find_records(services, tenant_id, &[id]).await?.pop())
}

/// Users of the tenant with their roles, in two queries whatever the number of ids.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = ids.len()))]
pub async fn find_records(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<UserRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let users = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut roles = roles_of(&services.db, tenant_id, &ids).await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let r = roles.remove(&u.id).unwrap_or_default();
            UserRecord { user: u, roles: r }
        })
        .collect())
}

/// A page of users visible to a staff actor, in id order, filtered by [`policy::user_rows`].
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display))
)]
pub async fn list_users(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<(Vec<UserRecord>, bool)> {
    let mut q = scoped::<user::Entity>(actor.tenant_id);
    match policy::user_rows(actor, relations) {
        UserRows::None => return Err(AppError::Forbidden),
        UserRows::All => {}
        UserRows::Some { staff_accounts, consenting_to_marketing, learners } => {
            let mut allowed: HashSet<Uuid> = learners;
            if staff_accounts {
                let staff: Vec<StoredRole> =
                    Role::ALL.into_iter().filter(|r| r.is_staff()).map(StoredRole::from).collect();
                allowed.extend(
                    held_roles(actor.tenant_id)
                        .filter(user_role::Column::Role.is_in(staff))
                        .all(&services.db)
                        .await?
                        .into_iter()
                        .map(|r| r.user_id),
                );
            }
            if consenting_to_marketing {
                let candidates: Vec<Uuid> = scoped::<user::Entity>(actor.tenant_id)
                    .filter(user::Column::Status.eq(AccountStatus::Active))
                    .select_only()
                    .column(user::Column::Id)
                    .into_tuple()
                    .all(&services.db)
                    .await?;
                // Either channel's consent lists the person (`identity` reads through
                // `Channel::Any`); each field is still guarded by its own channel.
                allowed.extend(
                    consent::marketing_for(services, actor.tenant_id, &candidates)
                        .await?
                        .into_iter()
                        .filter_map(|(u, m)| (m.email || m.phone).then_some(u)),
                );
            }
            q = q.filter(user::Column::Id.is_in(allowed));
        }
    }
    if let Some(a) = after {
        q = q.filter(user::Column::Id.gt(a));
    }
    let mut users = q.order_by_asc(user::Column::Id).limit(first + 1).all(&services.db).await?;
    let has_next = users.len() as u64 > first;
    users.truncate(first as usize);
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut roles = roles_of(&services.db, actor.tenant_id, &ids).await?;
    Ok((
        users
            .into_iter()
            .map(|u| {
                let r = roles.remove(&u.id).unwrap_or_default();
                UserRecord { user: u, roles: r }
            })
            .collect(),
        has_next,
    ))
}

/// Writes one audit record for a staff read (outside any transaction).
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        subject.id = %subject,
    )
)]
pub async fn audit_read(
    services: &Services,
    actor: &Actor,
    subject: Uuid,
    category: Category,
    column: Column,
) -> AppResult<()> {
    audit::record(
        &services.db,
        actor,
        services.clock.now(),
        AuditRecord {
            action: "personal_data.read",
            category: Some(category),
            subject_id: Some(subject),
            purpose: column.purpose(),
            details: None,
        },
    )
    .await
}
