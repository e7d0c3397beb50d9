//! The one field guard: `#[graphql(guard = "Need::read(&self.subject, DataField::Email)")]`.
//!
//! It asks [`policy::decide`] and, for a denied field, fails with `FORBIDDEN` so the field
//! resolves to `null` while the rest of the response still resolves. Allowed staff reads of
//! audited categories are written to the audit log before the value is returned (fail closed).

use async_graphql::{Context, ErrorExtensions, Guard};

use super::context::{loaders, request, services};
use crate::error::{AppError, AppResult};
use std::borrow::Cow;

use crate::domain::accounts;
use crate::policy::{self, Actor, DataField, Decision, Op, Relations, SubjectFacts};

/// The subject of a guarded object, and optionally the actor to judge with (a sign-in payload
/// shows the newly signed-in user their own profile).
#[derive(Clone, Debug)]
pub struct Subject {
    pub facts: SubjectFacts,
    pub acting: Option<Actor>,
    /// Whether `facts.is_applicant` is already settled (an application knows whether it is in
    /// review). Otherwise, for a viewer whose column depends on it (a reviewer), the guard
    /// completes it from the person's applications, batched for the request.
    pub applicant_known: bool,
}

impl Subject {
    /// A person, whose applicant fact the guard loads when the viewer needs it.
    pub fn person(facts: SubjectFacts) -> Self {
        Subject { facts, acting: None, applicant_known: false }
    }

    /// A person judged as seen by `actor` (see [`Subject::viewer`]).
    pub fn seen_by(facts: SubjectFacts, actor: Actor) -> Self {
        Subject { facts, acting: Some(actor), applicant_known: false }
    }

    /// Data whose facts are complete as given (an application and its applicant).
    pub fn settled(facts: SubjectFacts) -> Self {
        Subject { facts, acting: None, applicant_known: true }
    }

    /// Who is looking at this subject and their relations to other people: the acting actor of
    /// a sign-in payload (relations loaded for them), or the request's actor (relations cached
    /// for the request). The one place that answers this for guards and guarded resolvers.
    pub async fn viewer<'c>(&self, ctx: &Context<'c>) -> AppResult<(Actor, Cow<'c, Relations>)> {
        let services = services(ctx)?;
        match &self.acting {
            Some(a) => Ok((a.clone(), Cow::Owned(accounts::relations(services, a).await?))),
            None => {
                let rc = request(ctx)?;
                let actor = rc.actor(services).await?;
                let relations = rc.relations(services, &actor).await?;
                Ok((actor, Cow::Borrowed(relations)))
            }
        }
    }
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
        let loaders = loaders(ctx)?;
        let (actor, relations) = self.subject.viewer(ctx).await?;
        let relations = relations.as_ref();
        let mut facts = self.subject.facts.clone();
        if policy::needs_marketing_consent(&actor)
            && let Some(id) = facts.id
        {
            let given = loaders
                .marketing_consent
                .load_one(id)
                .await
                .map_err(|e| AppError::internal("loading consents", e.to_string()))?
                .unwrap_or_default();
            facts.marketing_consent = given.email;
            facts.phone_consent = given.phone;
        }
        if policy::needs_applicant_fact(&actor)
            && !self.subject.applicant_known
            && let Some(id) = facts.id
        {
            facts.is_applicant = loaders.load(super::loaders::InReview(id)).await?.unwrap_or(false);
        }
        match policy::decide(&actor, relations, &facts, self.field, self.op) {
            Decision::Deny => Err(AppError::Forbidden),
            Decision::Allow { audit: None } => Ok(()),
            Decision::Allow { audit: Some(column) } => match facts.id {
                Some(subject) => {
                    rc.audit_read(services, &actor, subject, self.field.category(), column).await
                }
                None => Ok(()),
            },
        }
    }
}
