//! Roles: which roles people hold, and how that changes. A grant is pending until its holder
//! accepts it; a revocation signs the holder out everywhere. Every change is audited with the
//! person as subject. Who may grant or revoke what is decided by the policy, not here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::sessions::{SessionScope, revoke_sessions};
use super::{UserRecord, audit_identity_change, find_record};
use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::domain::types::Email;
use crate::entities::enums::{RevokedReason, StoredRole};
use crate::entities::{user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Column, Role, RoleSet};

/// A role as `user_roles` stores it: the policy's roles do not know the entities, so the two
/// enums meet here, in exhaustive matches (a new role does not compile until it is stored).
impl From<Role> for StoredRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Learner => StoredRole::Learner,
            Role::Guardian => StoredRole::Guardian,
            Role::Instructor => StoredRole::Instructor,
            Role::Support => StoredRole::Support,
            Role::Billing => StoredRole::Billing,
            Role::Reviewer => StoredRole::Reviewer,
            Role::Marketing => StoredRole::Marketing,
            Role::PrivacyOfficer => StoredRole::PrivacyOfficer,
            Role::Admin => StoredRole::Admin,
            Role::Integration => StoredRole::Integration,
        }
    }
}

impl From<StoredRole> for Role {
    fn from(r: StoredRole) -> Self {
        match r {
            StoredRole::Learner => Role::Learner,
            StoredRole::Guardian => Role::Guardian,
            StoredRole::Instructor => Role::Instructor,
            StoredRole::Support => Role::Support,
            StoredRole::Billing => Role::Billing,
            StoredRole::Reviewer => Role::Reviewer,
            StoredRole::Marketing => Role::Marketing,
            StoredRole::PrivacyOfficer => Role::PrivacyOfficer,
            StoredRole::Admin => Role::Admin,
            StoredRole::Integration => Role::Integration,
        }
    }
}

/// Inserts a role row: in effect at once (`accepted`: registration's learner role, the
/// guardian role of a link), or pending until its holder accepts it (a grant, see [`set_role`]).
pub(super) async fn insert_role<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
    at: DateTime<Utc>,
    by: Option<Uuid>,
    accepted: bool,
) -> AppResult<()> {
    user_role::Entity::insert(user_role::ActiveModel {
        user_id: Set(user_id),
        role: Set(role.into()),
        tenant_id: Set(tenant_id),
        granted_at: Set(at),
        granted_by: Set(by),
        accepted_at: Set(accepted.then_some(at)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The row of `role` granted to `user` in `tenant_id`, held or pending (the tenant scope of
/// every role write).
pub(super) fn role_row(tenant_id: Uuid, user: Uuid, role: Role) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(user_role::Column::TenantId.eq(tenant_id))
        .add(user_role::Column::UserId.eq(user))
        .add(user_role::Column::Role.eq(StoredRole::from(role)))
}

/// The roles people of `tenant_id` hold: accepted grants only. A pending grant gives nothing
/// (no token claim, no staff-account status, no list) until its holder accepts it. Every read
/// of roles starts here.
pub fn held_roles(tenant_id: Uuid) -> sea_orm::Select<user_role::Entity> {
    scoped::<user_role::Entity>(tenant_id).filter(user_role::Column::AcceptedAt.is_not_null())
}

/// Role sets by person, from role rows.
fn role_sets(rows: Vec<user_role::Model>, into: &mut HashMap<Uuid, RoleSet>) {
    for r in rows {
        into.entry(r.user_id).or_default().insert(r.role.into());
    }
}

pub(super) async fn roles_of<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, RoleSet>> {
    let mut map: HashMap<Uuid, RoleSet> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows = held_roles(tenant_id)
        .filter(user_role::Column::UserId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    role_sets(rows, &mut map);
    Ok(map)
}

/// Grants or revokes a role. Who may do which is [`policy::may_grant_role`] and
/// [`policy::may_revoke_role`]; a refused change is `FORBIDDEN` and writes nothing.
///
/// A grant is *pending*: it gives nothing until its holder accepts it ([`answer_role`]).
/// Revoking removes a pending grant or a held role and signs the user out everywhere, so the
/// change takes effect at once (also when they accept while it is being revoked). Every change
/// is audited with the person as subject, so the privacy officer and the person themselves
/// (their access log) see it.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        user.id = %target,
        role = role.as_str(),
    )
)]
pub async fn set_role(
    services: &Services,
    actor: &Actor,
    target: Uuid,
    role: Role,
    granted: bool,
) -> AppResult<UserRecord> {
    let allowed = if granted {
        policy::may_grant_role(actor, target, role)
    } else {
        policy::may_revoke_role(actor, target, role)
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let record = find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)?;
    let row = scoped::<user_role::Entity>(actor.tenant_id)
        .filter(role_row(actor.tenant_id, target, role))
        .one(&services.db)
        .await?;
    if row.is_some() == granted {
        return Ok(record);
    }
    let held_before = row.as_ref().is_some_and(|r| r.accepted_at.is_some());
    let now = services.clock.now();
    let actor_c = actor.clone();
    let purpose = if actor.has(Role::PrivacyOfficer) {
        Column::PrivacyOfficer.purpose()
    } else {
        Column::Admin.purpose()
    };
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                if granted {
                    insert_role(txn, actor_c.tenant_id, target, role, now, actor_c.user_id, false).await?;
                } else {
                    let gone = user_role::Entity::delete_many()
                        .filter(role_row(actor_c.tenant_id, target, role))
                        .exec(txn)
                        .await?;
                    // Signed out whenever a row went, pending or not: the holder may have
                    // accepted it since it was read above, and a token must not outlive it.
                    if gone.rows_affected > 0 {
                        revoke_sessions(txn, actor_c.tenant_id, SessionScope::AllOf { user_id: target, except: None }, now, RevokedReason::RoleRevoked)
                            .await?;
                    }
                }
                audit_identity_change(txn, &actor_c, now, target, if granted { "role.granted" } else { "role.revoked" }, purpose, serde_json::json!({ "role": role.as_str(), "pending": granted || !held_before }))
                .await
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict("this role was changed at the same time; try again"))?;
    find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)
}

/// The signed-in person accepts (or declines) a role granted to them. Accepting puts the
/// role in effect from their next token (refresh or log-in); declining removes the grant.
/// Audited either way. No pending grant of `role` → `NOT_FOUND`.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        role = role.as_str(),
    )
)]
pub async fn answer_role(
    services: &Services,
    actor: &Actor,
    role: Role,
    accept: bool,
) -> AppResult<UserRecord> {
    let me = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let now = services.clock.now();
    let actor_c = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let pending = scoped::<user_role::Entity>(actor_c.tenant_id)
                    .filter(role_row(actor_c.tenant_id, me, role))
                    .filter(user_role::Column::AcceptedAt.is_null());
                let changed = if accept {
                    user_role::Entity::update_many()
                        .col_expr(user_role::Column::AcceptedAt, Expr::value(now))
                        .filter(role_row(actor_c.tenant_id, me, role))
                        .filter(user_role::Column::AcceptedAt.is_null())
                        .exec(txn)
                        .await?
                        .rows_affected
                } else {
                    match pending.one(txn).await? {
                        Some(_) => {
                            user_role::Entity::delete_many()
                                .filter(role_row(actor_c.tenant_id, me, role))
                                .filter(user_role::Column::AcceptedAt.is_null())
                                .exec(txn)
                                .await?
                                .rows_affected
                        }
                        None => 0,
                    }
                };
                if changed != 1 {
                    return Err(AppError::NotFound);
                }
                audit_identity_change(
                    txn,
                    &actor_c,
                    now,
                    me,
                    if accept { "role.accepted" } else { "role.declined" },
                    Column::Subject.purpose(),
                    serde_json::json!({ "role": role.as_str() }),
                )
                .await
            })
        })
        .await?;
    find_record(services, actor.tenant_id, me).await?.ok_or(AppError::NotFound)
}

/// The operator's grant (`pupitre grant-role <tenant> <email> <role>`), for what no one in the
/// tenant can do: the first privacy officer, or a new one when the last has left. Like any
/// grant it is pending until the person accepts it, and audited (actor: the operator).
#[tracing::instrument(skip_all, fields(tenant.slug = %tenant_slug, role = role.as_str()))]
pub async fn operator_grant(
    services: &Services,
    tenant_slug: &str,
    email: &str,
    role: Role,
) -> AppResult<()> {
    let tenant = services
        .tenants
        .by_slug(tenant_slug)
        .await?
        .ok_or_else(|| AppError::bad_input("tenant", "no such tenant"))?;
    let email = Email::parse("email", email)?;
    let user = scoped::<user::Entity>(tenant.id)
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&services.db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("email", "no account with this e-mail address in this tenant")
        })?;
    let exists = scoped::<user_role::Entity>(tenant.id)
        .filter(role_row(tenant.id, user.id, role))
        .one(&services.db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let now = services.clock.now();
    let operator = Actor::anonymous(tenant.id, "operator".into());
    let target = user.id;
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                insert_role(txn, operator.tenant_id, target, role, now, None, false).await?;
                audit_identity_change(
                    txn,
                    &operator,
                    now,
                    target,
                    "role.granted",
                    "operator",
                    serde_json::json!({ "role": role.as_str(), "pending": true, "by": "operator" }),
                )
                .await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e)
                .unique_as_conflict("this role was changed at the same time; try again")
        })
}

/// Roles granted to each of `ids` and not yet accepted.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = ids.len()))]
pub async fn pending_roles_of(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, RoleSet>> {
    let rows = scoped::<user_role::Entity>(tenant_id)
        .filter(user_role::Column::UserId.is_in(ids.iter().copied()))
        .filter(user_role::Column::AcceptedAt.is_null())
        .all(&services.db)
        .await?;
    let mut map: HashMap<Uuid, RoleSet> = ids.iter().map(|id| (*id, RoleSet::default())).collect();
    role_sets(rows, &mut map);
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    /// The names in tokens and audit records (`Role::as_str`) are the stored ones.
    #[test]
    fn every_role_is_stored_under_its_policy_name() {
        for role in Role::ALL {
            let stored = StoredRole::from(role);
            assert_eq!(stored.to_value(), role.as_str());
            assert_eq!(Role::from(stored), role);
        }
    }
}
