//! The append-only audit log: who read or changed which sensitive data of whom, when, and
//! for which purpose; staff actions on accounts and roles.
//!
//! Writes go through [`record`], inside the caller's transaction when the audited change has
//! one. The table refuses UPDATE and DELETE at the database level.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::Services;
use crate::entities::audit_entry;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, DataField, Op, Relations, SubjectFacts};

/// One thing to write to the audit log.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub action: &'static str,
    pub category: Option<Category>,
    pub subject_id: Option<Uuid>,
    pub purpose: &'static str,
    pub details: Option<serde_json::Value>,
}

fn row(actor: &Actor, at: DateTime<Utc>, rec: AuditRecord) -> audit_entry::ActiveModel {
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        at: Set(at),
        actor_id: Set(actor.user_id),
        actor_roles: Set(actor.roles.names()),
        action: Set(rec.action.to_owned()),
        category: Set(rec.category.map(|c| c.as_str().to_owned())),
        subject_id: Set(rec.subject_id),
        purpose: Set(rec.purpose.to_owned()),
        details: Set(rec.details),
        request_id: Set(Some(actor.request_id.clone())),
    }
}

/// Appends `rec` on `conn` (a connection or an open transaction).
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id))]
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    rec: AuditRecord,
) -> AppResult<()> {
    audit_entry::Entity::insert(row(actor, at, rec)).exec_without_returning(conn).await?;
    Ok(())
}

/// Appends every record of `recs` on `conn` (in statements of at most 200 rows): the entries
/// of one read that lists many people (a page of marketing's audience).
pub async fn record_all<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    recs: Vec<AuditRecord>,
) -> AppResult<()> {
    let rows: Vec<audit_entry::ActiveModel> =
        recs.into_iter().map(|rec| row(actor, at, rec)).collect();
    for chunk in rows.chunks(200) {
        audit_entry::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// A page of audit entries, newest first.
pub struct AuditPage {
    pub entries: Vec<audit_entry::Model>,
    pub has_next: bool,
}

/// Audit entries of the tenant (privacy officer) or, with `subject`, those about one person
/// (the person, their guardian, the privacy officer). `after` is the id of the last entry seen.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, actor.id = ?actor.user_id, subject.id = ?subject))]
pub async fn list(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    subject: Option<Uuid>,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<AuditPage> {
    let facts = match subject {
        Some(id) => SubjectFacts::person(id),
        None => SubjectFacts::tenant_wide(),
    };
    let field = if subject.is_some() { DataField::AccessLog } else { DataField::AuditLog };
    if !policy::decide(actor, relations, &facts, field, Op::Read).allowed() {
        return Err(AppError::Forbidden);
    }
    let mut q =
        audit_entry::Entity::find().filter(audit_entry::Column::TenantId.eq(actor.tenant_id));
    if let Some(id) = subject {
        q = q.filter(audit_entry::Column::SubjectId.eq(id));
    }
    if let Some(a) = after {
        q = q.filter(audit_entry::Column::Id.lt(a));
    }
    let mut entries =
        q.order_by_desc(audit_entry::Column::Id).limit(first + 1).all(&services.db).await?;
    let has_next = entries.len() as u64 > first;
    entries.truncate(first as usize);
    Ok(AuditPage { entries, has_next })
}
