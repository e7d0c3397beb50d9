//! The `User` node: a person with an account, every personal field guarded by the
//! need-to-know policy, with the enums and the address type it returns.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::learning::EnrollmentNode;
use crate::domain::accounts::{self, AccountStatus, UserRecord};
use crate::domain::audit as audit_domain;
use crate::domain::learning::Enrolled;
use crate::domain::types::{self, Civility};
use crate::error::IntoGql;
use crate::graphql::audit::AuditEntryConnection;
use crate::graphql::consent::ConsentStateGql;
use crate::graphql::context::{loaders, services};
use crate::graphql::guard::{Need, Subject};
use crate::graphql::loaders::{
    CourseById, CurrentPolicy, EnrollmentProgress, GuardianWards, LearnerEnrollments, PendingRoles,
    PersonSubscriptions, SessionById, UserConsents,
};
use crate::graphql::pagination::page_args;
use crate::policy::{self, Actor, DataField, Role};

gql_enum!(
    /// Form of address.
    CivilityGql as "Civility" <=> Civility { Mr, Ms, Mx }
);

gql_enum!(
    /// A role inside the tenant.
    RoleGql as "Role" <=> Role {
        Learner,
        Guardian,
        Instructor,
        Support,
        Billing,
        Reviewer,
        Marketing,
        PrivacyOfficer,
        Admin,
        Integration,
    }
);

gql_enum!(
    /// Account status.
    AccountStatusGql as "AccountStatus" <=> AccountStatus { Active, Restricted, Erased }
);

/// A postal address.
#[derive(SimpleObject, Clone)]
pub struct PostalAddressGql {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A person with an account. Every personal field is guarded by the need-to-know policy: a
/// field the viewer may not see resolves to `null` with a `FORBIDDEN` error.
pub struct UserNode {
    record: UserRecord,
    subject: Subject,
}

impl UserNode {
    pub fn new(record: UserRecord) -> Self {
        let subject = Subject::person(record.facts());
        UserNode { record, subject }
    }

    /// A node judged as seen by `actor` (the sign-in payload's own profile).
    pub fn seen_by(record: UserRecord, actor: Actor) -> Self {
        let subject = Subject::seen_by(record.facts(), actor);
        UserNode { record, subject }
    }

    /// The applicant of an application: reached through an application in review, they are an
    /// applicant (no need to look it up); otherwise the guard looks at their other applications.
    pub fn applicant(record: UserRecord, in_review: bool) -> Self {
        let mut facts = record.facts();
        facts.is_applicant = in_review;
        let subject = if in_review { Subject::settled(facts) } else { Subject::person(facts) };
        UserNode { record, subject }
    }
}

#[Object(name = "User")]
impl UserNode {
    async fn id(&self) -> ID {
        ID(self.record.user.id.to_string())
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::Civility)")]
    async fn civility(&self) -> Option<CivilityGql> {
        self.record.user.civility.map(Into::into)
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::FirstName)")]
    async fn first_name(&self) -> Option<&str> {
        Some(&self.record.user.first_name)
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::LastName)")]
    async fn last_name(&self) -> Option<&str> {
        Some(&self.record.user.last_name)
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::Email)")]
    async fn email(&self) -> Option<&str> {
        self.record.user.email.as_deref()
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::Phone)")]
    async fn phone(&self) -> Option<&str> {
        self.record.user.phone.as_deref()
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::PostalAddress)")]
    async fn postal_address(&self) -> Option<PostalAddressGql> {
        let u = &self.record.user;
        Some(PostalAddressGql {
            line1: u.address_line1.clone()?,
            line2: u.address_line2.clone(),
            postal_code: u.postal_code.clone()?,
            city: u.city.clone()?,
            country: u.country.clone()?,
        })
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::BirthDate)")]
    async fn birth_date(&self) -> Option<NaiveDate> {
        self.record.user.birth_date
    }

    /// Whether the person is under 18 today.
    #[graphql(guard = "Need::read(&self.subject, DataField::MinorStatus)")]
    async fn is_minor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        let today = accounts::today(services(ctx).gql()?);
        Ok(self.record.user.birth_date.map(|b| types::is_minor(b, today)))
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::Locale)")]
    async fn locale(&self) -> Option<&str> {
        Some(&self.record.user.locale)
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::AccountStatus)")]
    async fn status(&self) -> Option<AccountStatusGql> {
        Some(self.record.user.status.into())
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::Roles)")]
    async fn roles(&self) -> Option<Vec<RoleGql>> {
        Some(self.record.roles.iter().map(Into::into).collect())
    }

    /// Roles granted to this person that they have not accepted yet: they give nothing until
    /// accepted (`acceptRole`).
    #[graphql(guard = "Need::read(&self.subject, DataField::Roles)")]
    async fn pending_roles(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<RoleGql>>> {
        let pending = loaders(ctx)
            .gql()?
            .load(PendingRoles(self.record.user.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(Some(pending.iter().map(Into::into).collect()))
    }

    /// The privacy-policy version this person accepted, and when.
    #[graphql(guard = "Need::read(&self.subject, DataField::ConsentState)")]
    async fn accepted_policy_version(&self) -> Option<&str> {
        self.record.user.accepted_policy_version.as_deref()
    }

    #[graphql(guard = "Need::read(&self.subject, DataField::ConsentState)")]
    async fn accepted_policy_at(&self) -> Option<DateTime<Utc>> {
        self.record.user.accepted_policy_at
    }

    /// Whether a newer privacy-policy version than the one accepted is in force
    /// (`tenant { privacyPolicy }`): ask the person to read it and `acceptPrivacyPolicy`.
    #[graphql(guard = "Need::read(&self.subject, DataField::ConsentState)")]
    async fn must_accept_policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        let current =
            loaders(ctx).gql()?.load(CurrentPolicy(self.record.user.tenant_id)).await.gql()?;
        let accepted = self.record.user.accepted_policy_version.as_deref();
        Ok(Some(crate::domain::policy_versions::must_accept(current.as_ref(), accepted)))
    }

    /// Current consent per purpose, derived from the consent ledger.
    #[graphql(guard = "Need::read(&self.subject, DataField::ConsentState)")]
    async fn consents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ConsentStateGql>>> {
        let states = loaders(ctx).gql()?.load(UserConsents(self.record.user.id)).await.gql()?;
        Ok(Some(states.unwrap_or_default().into_iter().map(ConsentStateGql).collect()))
    }

    /// The minors this person is guardian of; each ward's own fields are guarded in turn.
    #[graphql(
        guard = "Need::read(&self.subject, DataField::Wards)",
        complexity = "5 * child_complexity"
    )]
    async fn wards(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<UserNode>>> {
        let wards = loaders(ctx)
            .gql()?
            .load(GuardianWards(self.record.user.id))
            .await
            .gql()?
            .unwrap_or_default();
        let acting = self.subject.acting.clone();
        Ok(Some(
            wards
                .into_iter()
                .map(|w| match &acting {
                    Some(a) => UserNode::seen_by(w, a.clone()),
                    None => UserNode::new(w),
                })
                .collect(),
        ))
    }

    /// Enrollments with progress (learning record).
    #[graphql(
        guard = "Need::read(&self.subject, DataField::Enrollments)",
        complexity = "5 * child_complexity"
    )]
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<EnrollmentNode>>> {
        let loaders = loaders(ctx).gql()?;
        let (actor, relations) = self.subject.viewer(ctx).await.gql()?;
        let scope = policy::enrollments_visible_to(&actor, &relations, &self.subject.facts);
        let rows =
            loaders.load(LearnerEnrollments(self.record.user.id)).await.gql()?.unwrap_or_default();
        let mut visible = Vec::with_capacity(rows.len());
        let mut sessions = Vec::with_capacity(rows.len());
        let mut courses = Vec::with_capacity(rows.len());
        let mut progress = Vec::with_capacity(rows.len());
        for Enrolled { enrollment: e, session, course, progress: counts } in rows {
            // Who teaches the session matters only to an instructor's narrowed view.
            let instructor = session.instructor_id.filter(|_| scope.depends_on_instructor());
            if scope.admits(instructor) {
                progress.push((EnrollmentProgress(e.id), counts));
                visible.push(EnrollmentNode(e));
                courses.push((CourseById(course.id), course));
                sessions.push((SessionById(session.id), session));
            }
        }
        // Sessions, courses and progress came with the enrollments, in the same statement: the
        // nodes' `session`, `session { course }` and `progress` read them from the loaders.
        loaders.batch.feed_many(sessions).await;
        loaders.batch.feed_many(courses).await;
        loaders.batch.feed_many(progress).await;
        Ok(Some(visible))
    }

    /// Data-subject requests about this person (for oneself, one's wards' too); each request's
    /// fields are guarded in turn.
    #[graphql(
        guard = "Need::read(&self.subject, DataField::RequestStatus)",
        complexity = "5 * child_complexity"
    )]
    async fn data_subject_requests(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<crate::graphql::privacy::DataSubjectRequestNode>>> {
        crate::graphql::privacy::requests_of(ctx, &self.subject, self.record.user.id)
            .await
            .map(Some)
    }

    /// The person's newsletter subscriptions, with their proof of consent.
    #[graphql(
        guard = "Need::read(&self.subject, DataField::ConsentState)",
        complexity = "5 * child_complexity"
    )]
    async fn newsletter_subscriptions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<crate::graphql::newsletter::SubscriptionNode>>> {
        let rows = loaders(ctx)
            .gql()?
            .load(PersonSubscriptions(self.record.user.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(Some(rows.into_iter().map(crate::graphql::newsletter::SubscriptionNode).collect()))
    }

    /// Who accessed this person's data (audit entries whose subject is this person).
    #[graphql(
        guard = "Need::read(&self.subject, DataField::AccessLog)",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<AuditEntryConnection>> {
        let s = services(ctx).gql()?;
        let (actor, relations) = self.subject.viewer(ctx).await.gql()?;
        let relations = relations.as_ref();
        let (first, after) = page_args(first, after, "audit").gql()?;
        let page =
            audit_domain::list(s, &actor, relations, Some(self.record.user.id), first, after)
                .await
                .gql()?;
        Ok(Some(crate::graphql::audit::connection(page)))
    }
}

impl From<crate::domain::types::PostalAddress> for PostalAddressGql {
    fn from(a: crate::domain::types::PostalAddress) -> Self {
        PostalAddressGql {
            line1: a.line1,
            line2: a.line2,
            postal_code: a.postal_code,
            city: a.city,
            country: a.country,
        }
    }
}
