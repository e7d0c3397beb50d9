//! Guardianship: links between a guardian and a minor, the wards they give, and the relations
//! of an actor (wards, taught learners) that the policy's conditions read.
//!
//! A link grants nothing once the minor turns 18 or without a birth date; relations are read
//! per request, so an unlink takes effect at the guardian's very next request.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::roles::{insert_role, role_row};
use super::{UserRecord, audit_identity_change, find_record, find_records, today};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::{guardian_link, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, Column, Relations, Role};

/// Who the actor is guardian of, and (once sessions exist) whom they teach.
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display))
)]
pub async fn relations(services: &Services, actor: &Actor) -> AppResult<Relations> {
    relations_known(services, actor, true).await
}

/// [`relations`] when it is already known whether the actor is linked to anyone as a guardian
/// (`signed_in_by_session` reads it with the session check): without links, no query for wards.
pub async fn relations_known(
    services: &Services,
    actor: &Actor,
    guardian: bool,
) -> AppResult<Relations> {
    let Some(me) = actor.user_id else { return Ok(Relations::default()) };
    let wards = if guardian {
        wards_of(services, actor.tenant_id, me)
            .await?
            .into_iter()
            .map(|r| r.user.id)
            .collect::<HashSet<_>>()
    } else {
        HashSet::new()
    };
    let learners = if actor.has(Role::Instructor) {
        crate::domain::learning::learners_of_instructor(services, actor.tenant_id, me).await?
    } else {
        HashSet::new()
    };
    Ok(Relations { wards, learners })
}

/// The wards of `guardian`: linked people who are minors today. Guardianship ends at 18 by
/// itself; a link to someone without a birth date grants nothing.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, guardian.id = %guardian))]
pub async fn wards_of(
    services: &Services,
    tenant_id: Uuid,
    guardian: Uuid,
) -> AppResult<Vec<UserRecord>> {
    Ok(wards_of_many(services, tenant_id, &[guardian]).await?.remove(&guardian).unwrap_or_default())
}

/// The wards of several guardians: three queries whatever their number.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = guardians.len()))]
pub async fn wards_of_many(
    services: &Services,
    tenant_id: Uuid,
    guardians: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<UserRecord>>> {
    let links = scoped::<guardian_link::Entity>(tenant_id)
        .filter(guardian_link::Column::GuardianId.is_in(guardians.iter().copied()))
        .all(&services.db)
        .await?;
    let minors: Vec<Uuid> = links.iter().map(|l| l.minor_id).collect();
    let today = today(services);
    let records: HashMap<Uuid, UserRecord> = find_records(services, tenant_id, &minors)
        .await?
        .into_iter()
        .filter(|r| r.user.birth_date.is_some_and(|b| crate::domain::types::is_minor(b, today)))
        .map(|r| (r.user.id, r))
        .collect();
    let wards = links
        .into_iter()
        .filter_map(|l| records.get(&l.minor_id).map(|r| (l.guardian_id, r.clone())));
    let mut out = group(wards, std::convert::identity);
    // Every guardian asked about gets an entry, with no wards if need be.
    for g in guardians {
        out.entry(*g).or_default();
    }
    Ok(out)
}

/// Links a guardian to a minor (support or the privacy officer, see
/// [`policy::may_manage_guardianship`]); grants the guardian role; audited.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        guardian.id = %guardian,
        minor.id = %minor,
    )
)]
pub async fn link_guardian(
    services: &Services,
    actor: &Actor,
    guardian: Uuid,
    minor: Uuid,
) -> AppResult<UserRecord> {
    if !policy::may_manage_guardianship(actor) {
        return Err(AppError::Forbidden);
    }
    if guardian == minor {
        return Err(AppError::bad_input("input.minorId", "must differ from guardianId"));
    }
    let g = find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)?;
    let m = find_record(services, actor.tenant_id, minor).await?.ok_or(AppError::NotFound)?;
    let today = today(services);
    if !m.user.birth_date.is_some_and(|b| crate::domain::types::is_minor(b, today)) {
        return Err(AppError::bad_input(
            "input.minorId",
            "is not a minor (birth date missing or 18 or over)",
        ));
    }
    let exists = scoped::<guardian_link::Entity>(actor.tenant_id)
        .filter(guardian_link::Column::GuardianId.eq(guardian))
        .filter(guardian_link::Column::MinorId.eq(minor))
        .one(&services.db)
        .await?
        .is_some();
    let now = services.clock.now();
    let (actor_c, needs_role) = (actor.clone(), !g.roles.has(Role::Guardian));
    if !exists {
        services
            .db
            .transaction::<_, _, AppError>(|txn| {
                Box::pin(async move {
                    guardian_link::Entity::insert(guardian_link::ActiveModel {
                        guardian_id: Set(guardian),
                        minor_id: Set(minor),
                        tenant_id: Set(actor_c.tenant_id),
                        created_at: Set(now),
                    })
                    .exec_without_returning(txn)
                    .await?;
                    if needs_role {
                        // The guardian role is a label (wards come from links); a grant of it
                        // still waiting for acceptance is simply put in effect by the link.
                        let pending = user_role::Entity::update_many()
                            .col_expr(user_role::Column::AcceptedAt, Expr::value(now))
                            .filter(role_row(actor_c.tenant_id, guardian, Role::Guardian))
                            .filter(user_role::Column::AcceptedAt.is_null())
                            .exec(txn)
                            .await?;
                        if pending.rows_affected == 0 {
                            insert_role(txn, actor_c.tenant_id, guardian, Role::Guardian, now, actor_c.user_id, true).await?;
                        }
                        // A role change, in the guardian's own access log too.
                        audit_identity_change(txn, &actor_c, now, guardian, "role.granted", Column::Support.purpose(), serde_json::json!({ "role": Role::Guardian.as_str(), "pending": false, "by": "guardianship.linked" }))
                        .await?;
                    }
                    audit::record(
                        txn,
                        &actor_c,
                        now,
                        AuditRecord {
                            action: "guardianship.linked",
                            category: Some(Category::BirthDate),
                            subject_id: Some(minor),
                            purpose: Column::Support.purpose(),
                            details: Some(serde_json::json!({ "guardian_id": guardian })),
                        },
                    )
                    .await
                })
            })
            .await
            .map_err(|e| AppError::from(e).unique_as_conflict("this guardianship was linked at the same time"))?;
    }
    find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)
}

/// Ends a guardianship (support or the privacy officer, as for [`link_guardian`]): the link
/// goes, and with the last link the guardian role. Relations are read per request, so the
/// guardian's very next request no longer reaches the ward. Audited with the minor as subject.
/// No such link → `NOT_FOUND`.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        guardian.id = %guardian,
        minor.id = %minor,
    )
)]
pub async fn unlink_guardian(
    services: &Services,
    actor: &Actor,
    guardian: Uuid,
    minor: Uuid,
) -> AppResult<UserRecord> {
    if !policy::may_manage_guardianship(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let actor_c = actor.clone();
    let purpose = if actor.has(Role::PrivacyOfficer) {
        Column::PrivacyOfficer.purpose()
    } else {
        Column::Support.purpose()
    };
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let gone = guardian_link::Entity::delete_many()
                    .filter(guardian_link::Column::TenantId.eq(actor_c.tenant_id))
                    .filter(guardian_link::Column::GuardianId.eq(guardian))
                    .filter(guardian_link::Column::MinorId.eq(minor))
                    .exec(txn)
                    .await?;
                if gone.rows_affected != 1 {
                    return Err(AppError::NotFound);
                }
                let others = scoped::<guardian_link::Entity>(actor_c.tenant_id)
                    .filter(guardian_link::Column::GuardianId.eq(guardian))
                    .one(txn)
                    .await?;
                if others.is_none() {
                    let gone = user_role::Entity::delete_many()
                        .filter(role_row(actor_c.tenant_id, guardian, Role::Guardian))
                        .exec(txn)
                        .await?;
                    if gone.rows_affected > 0 {
                        audit_identity_change(txn, &actor_c, now, guardian, "role.revoked", purpose, serde_json::json!({ "role": Role::Guardian.as_str(), "by": "guardianship.unlinked" }))
                        .await?;
                    }
                }
                audit::record(
                    txn,
                    &actor_c,
                    now,
                    AuditRecord {
                        action: "guardianship.unlinked",
                        category: Some(Category::BirthDate),
                        subject_id: Some(minor),
                        purpose,
                        details: Some(serde_json::json!({ "guardian_id": guardian })),
                    },
                )
                .await
            })
        })
        .await?;
    find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)
}
