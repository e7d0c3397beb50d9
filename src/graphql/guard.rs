//! The one field guard: `#[graphql(guard = "Need::read(&self.subject, DataField::Email)")]`.
//!
//! It asks [`policy::decide`] and, for a denied field, fails with `FORBIDDEN` so the field
//! resolves to `null` while the rest of the response still resolves. Allowed staff reads of
//! audited categories are written to the audit log before the value is returned (fail closed).

use async_graphql::{Context, ErrorExtensions, Guard};

use super::context::{request, services};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, DataField, Decision, Op, Role, SubjectFacts};

/// The subject of a guarded object, and optionally the actor to judge with (a sign-in payload
/// shows the newly signed-in user their own profile).
#[derive(Clone, Debug)]
pub struct Subject {
    pub facts: SubjectFacts,
    pub acting: Option<Actor>,
}

/// Requires `op` on `field` of `subject`.
pub struct Need<'a> {
    subject: &'a Subject,
    field: DataField,
    op: Op,
}

impl<'a> Need<'a> {
    pub fn read(subject: &'a Subject, field: DataField) -> Self {
        Need { subject, field, op: Op::Read }
    }
}

impl Guard for Need<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        self.decide(ctx).await.map_err(|e| e.extend())
    }
}

impl Need<'_> {
    async fn decide(&self, ctx: &Context<'_>) -> AppResult<()> {
        let services = services(ctx)?;
        let rc = request(ctx)?;
        let (actor, own_relations);
        let relations = match &self.subject.acting {
            Some(a) => {
                actor = a.clone();
                own_relations = crate::domain::accounts::relations(services, &actor).await?;
                &own_relations
            }
            None => {
                actor = rc.actor(services).await?;
                rc.relations(services, &actor).await?
            }
        };
        let mut facts = self.subject.facts.clone();
        if actor.has(Role::Marketing)
            && let Some(id) = facts.id {
                facts.marketing_consent =
                    rc.marketing_consent.load_one(id).await.map_err(|e| AppError::internal("loading consents", e.to_string()))?.unwrap_or(false);
            }
        match policy::decide(&actor, relations, &facts, self.field, self.op) {
            Decision::Deny => Err(AppError::Forbidden),
            Decision::Allow { audit: None } => Ok(()),
            Decision::Allow { audit: Some(column) } => match facts.id {
                Some(subject) => rc.audit_read(services, &actor, subject, self.field.category(), column).await,
                None => Ok(()),
            },
        }
    }
}
