//! The audit log as the privacy officer reads it, and the entry type shared with `accessLog`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::pagination::{encode_cursor, page_args, parse_id};
use crate::domain::audit::{self, AuditPage};
use crate::entities::audit_entry;
use crate::error::IntoGql;

/// One audit record: who did what to whose data, when and why.
pub struct AuditEntryGql(audit_entry::Model);

#[Object(name = "AuditEntry")]
impl AuditEntryGql {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The staff member or user who acted (absent for system jobs).
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|a| ID(a.to_string()))
    }
    /// The actor's roles at the time, comma-separated.
    async fn actor_roles(&self) -> &str {
        &self.0.actor_roles
    }
    /// e.g. `personal_data.read`, `profile.rectified`, `role.granted`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The data category concerned, if any.
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|a| ID(a.to_string()))
    }
    /// Why: `customer_service`, `billing`, `data_protection`, …
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

pub type AuditEntryConnection = Connection<String, AuditEntryGql>;

pub fn connection(page: AuditPage) -> AuditEntryConnection {
    let mut conn = Connection::new(false, page.has_next);
    conn.edges.extend(
        page.entries.into_iter().map(|e| Edge::new(encode_cursor("audit", e.id), AuditEntryGql(e))),
    );
    conn
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The tenant's audit log, newest first (privacy officer). `subjectId` narrows it to one
    /// person.
    #[graphql(
        cache_control(no_cache),
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subject_id: Option<ID>,
    ) -> async_graphql::Result<Option<AuditEntryConnection>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let (first, after) = page_args(first, after, "audit").gql()?;
        let subject = subject_id.as_ref().map(|id| parse_id("subjectId", id)).transpose().gql()?;
        let relations = rc.relations(s, &actor).await.gql()?;
        let page = audit::list(s, &actor, relations, subject, first, after).await.gql()?;
        Ok(Some(connection(page)))
    }
}
