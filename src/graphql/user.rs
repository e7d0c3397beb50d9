//! The `User` type (every personal field guarded), `me`, `user`, `users` and `updateProfile`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::audit::AuditEntryConnection;
use super::consent::ConsentStateGql;
use super::context::{request, services};
use super::guard::{Need, Subject};
use super::pagination::{encode_cursor, page_args, parse_id};
use crate::domain::accounts::{self, Patch, ProfilePatch, UserRecord};
use crate::domain::audit as audit_domain;
use crate::domain::types::{
    self, BirthDate, Civility, Email, Locale, PersonName, Phone, PostalAddress,
};
use crate::error::{AppError, AppResult, IntoGql};
use crate::policy::{Actor, DataField, Role};

/// Form of address.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Civility")]
pub enum CivilityGql {
    Mr,
    Ms,
    Mx,
}

impl From<CivilityGql> for Civility {
    fn from(c: CivilityGql) -> Self {
        match c {
            CivilityGql::Mr => Civility::Mr,
            CivilityGql::Ms => Civility::Ms,
            CivilityGql::Mx => Civility::Mx,
        }
    }
}

impl From<Civility> for CivilityGql {
    fn from(c: Civility) -> Self {
        match c {
            Civility::Mr => CivilityGql::Mr,
            Civility::Ms => CivilityGql::Ms,
            Civility::Mx => CivilityGql::Mx,
        }
    }
}

/// A role inside the tenant.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role")]
pub enum RoleGql {
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

impl From<RoleGql> for Role {
    fn from(r: RoleGql) -> Self {
        match r {
            RoleGql::Learner => Role::Learner,
            RoleGql::Guardian => Role::Guardian,
            RoleGql::Instructor => Role::Instructor,
            RoleGql::Support => Role::Support,
            RoleGql::Billing => Role::Billing,
            RoleGql::Reviewer => Role::Reviewer,
            RoleGql::Marketing => Role::Marketing,
            RoleGql::PrivacyOfficer => Role::PrivacyOfficer,
            RoleGql::Admin => Role::Admin,
            RoleGql::Integration => Role::Integration,
        }
    }
}

impl From<Role> for RoleGql {
    fn from(r: Role) -> Self {
        match r {
            Role::Learner => RoleGql::Learner,
            Role::Guardian => RoleGql::Guardian,
            Role::Instructor => RoleGql::Instructor,
            Role::Support => RoleGql::Support,
            Role::Billing => RoleGql::Billing,
            Role::Reviewer => RoleGql::Reviewer,
            Role::Marketing => RoleGql::Marketing,
            Role::PrivacyOfficer => RoleGql::PrivacyOfficer,
            Role::Admin => RoleGql::Admin,
            Role::Integration => RoleGql::Integration,
        }
    }
}

/// Account status.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AccountStatus {
    Active,
    Restricted,
    Erased,
}

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
        self.record.user.civility.as_deref().and_then(Civility::parse_stored).map(Into::into)
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
    async fn status(&self) -> Option<AccountStatus> {
        Some(match self.record.user.status.as_str() {
            "restricted" => AccountStatus::Restricted,
            "erased" => AccountStatus::Erased,
            _ => AccountStatus::Active,
        })
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
        let pending = request(ctx)
            .gql()?
            .load(super::loaders::PendingRoles(self.record.user.id))
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

    /// Current consent per purpose, derived from the consent ledger.
    #[graphql(guard = "Need::read(&self.subject, DataField::ConsentState)")]
    async fn consents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ConsentStateGql>>> {
        let states = request(ctx)
            .gql()?
            .load(super::loaders::UserConsents(self.record.user.id))
            .await
            .gql()?;
        Ok(Some(states.unwrap_or_default().into_iter().map(ConsentStateGql).collect()))
    }

    /// The minors this person is guardian of; each ward's own fields are guarded in turn.
    #[graphql(
        guard = "Need::read(&self.subject, DataField::Wards)",
        complexity = "5 * child_complexity"
    )]
    async fn wards(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<UserNode>>> {
        let wards = request(ctx)
            .gql()?
            .load(super::loaders::GuardianWards(self.record.user.id))
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
    ) -> async_graphql::Result<Option<Vec<super::learning::EnrollmentNode>>> {
        let rc = request(ctx).gql()?;
        let (actor, relations) = self.subject.viewer(ctx).await.gql()?;
        let relations = relations.as_ref();
        let scope = crate::policy::enrollments_visible_to(&actor, relations, &self.subject.facts);
        let rows = rc
            .load(super::loaders::LearnerEnrollments(self.record.user.id))
            .await
            .gql()?
            .unwrap_or_default();
        let mut visible = Vec::with_capacity(rows.len());
        for e in rows {
            let keep = match scope {
                crate::policy::EnrollmentScope::All => true,
                crate::policy::EnrollmentScope::None => false,
                crate::policy::EnrollmentScope::TaughtBy(me) => rc
                    .load(super::loaders::SessionById(e.session_id))
                    .await
                    .gql()?
                    .is_some_and(|x| x.instructor_id == Some(me)),
            };
            if keep {
                visible.push(super::learning::EnrollmentNode(e));
            }
        }
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
    ) -> async_graphql::Result<Option<Vec<super::privacy::DataSubjectRequestNode>>> {
        super::privacy::requests_of(ctx, &self.subject, self.record.user.id).await.map(Some)
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
        Ok(Some(super::audit::connection(page)))
    }
}

#[derive(Default)]
pub struct UserQuery;

pub type UserConnection = Connection<String, UserNode>;

#[Object]
impl UserQuery {
    /// The signed-in user.
    #[graphql(cache_control(no_cache))]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserNode>> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = actor.user_id.ok_or(AppError::Unauthenticated).gql()?;
        let rec = accounts::find_record(s, actor.tenant_id, id)
            .await
            .gql()?
            .ok_or(AppError::Unauthenticated)
            .gql()?;
        Ok(Some(UserNode::new(rec)))
    }

    /// One person of this tenant by id; fields follow the need-to-know policy.
    #[graphql(cache_control(no_cache))]
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<UserNode>> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let id = parse_id("id", &id).gql()?;
        let rec = accounts::find_record(s, actor.tenant_id, id)
            .await
            .gql()?
            .ok_or(AppError::NotFound)
            .gql()?;
        Ok(Some(UserNode::new(rec)))
    }

    /// People a staff member may see, in a stable order (Relay connection, `first` ≤ 100).
    #[graphql(
        cache_control(no_cache),
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<UserConnection>> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let (first, after) = page_args(first, after, "user").gql()?;
        let relations = rc.relations(s, &actor).await.gql()?;
        let (records, has_next) =
            accounts::list_users(s, &actor, relations, first, after).await.gql()?;
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(
            records
                .into_iter()
                .map(|r| Edge::new(encode_cursor("user", r.user.id), UserNode::new(r))),
        );
        Ok(Some(conn))
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

/// A postal address as typed.
#[derive(InputObject)]
pub struct PostalAddressInput {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// Rectification of a profile. Omitted fields are left alone; `null` clears an optional one.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// Whose profile: yourself (default) or a ward.
    pub user_id: Option<ID>,
    pub civility: MaybeUndefined<CivilityGql>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: MaybeUndefined<String>,
    pub postal_address: MaybeUndefined<PostalAddressInput>,
    pub birth_date: MaybeUndefined<NaiveDate>,
    pub locale: Option<String>,
}

fn maybe<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> AppResult<U>) -> AppResult<Patch<U>> {
    Ok(match v {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(x) => Patch::Set(f(x)?),
    })
}

fn opt<T, U>(v: Option<T>, f: impl FnOnce(T) -> AppResult<U>) -> AppResult<Patch<U>> {
    Ok(match v {
        None => Patch::Keep,
        Some(x) => Patch::Set(f(x)?),
    })
}

impl UpdateProfileInput {
    fn parse(self, today: NaiveDate) -> AppResult<ProfilePatch> {
        Ok(ProfilePatch {
            civility: maybe(self.civility, |c| Ok(c.into()))?,
            first_name: opt(self.first_name, |n| PersonName::parse("input.firstName", &n))?,
            last_name: opt(self.last_name, |n| PersonName::parse("input.lastName", &n))?,
            email: opt(self.email, |e| Email::parse("input.email", &e))?,
            phone: maybe(self.phone, |p| Phone::parse("input.phone", &p))?,
            postal_address: maybe(self.postal_address, |a| {
                PostalAddress::parse(
                    "input.postalAddress",
                    &a.line1,
                    a.line2.as_deref(),
                    &a.postal_code,
                    &a.city,
                    &a.country,
                )
            })?,
            birth_date: maybe(self.birth_date, |d| BirthDate::parse("input.birthDate", d, today))?,
            locale: opt(self.locale, |l| Locale::parse("input.locale", &l))?,
        })
    }
}

/// The rectified profile.
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    pub user: UserNode,
}

/// Grant or revoke a role. Roles that process other people's personal data are granted by the
/// privacy officer only; a grant waits for its holder's acceptance.
#[derive(InputObject)]
pub struct SetUserRoleInput {
    pub user_id: ID,
    pub role: RoleGql,
    pub granted: bool,
}

#[derive(SimpleObject)]
pub struct SetUserRolePayload {
    pub user: UserNode,
}

/// Accept or decline a role granted to you.
#[derive(InputObject)]
pub struct AnswerRoleInput {
    pub role: RoleGql,
}

#[derive(SimpleObject)]
pub struct AnswerRolePayload {
    pub user: UserNode,
}

/// Link a guardian to a minor (support, privacy officer).
#[derive(InputObject)]
pub struct LinkGuardianInput {
    pub guardian_id: ID,
    pub minor_id: ID,
}

#[derive(SimpleObject)]
pub struct LinkGuardianPayload {
    pub guardian: UserNode,
}

/// End a guardianship (support, privacy officer).
#[derive(InputObject)]
pub struct UnlinkGuardianInput {
    pub guardian_id: ID,
    pub minor_id: ID,
}

#[derive(SimpleObject)]
pub struct UnlinkGuardianPayload {
    pub guardian: UserNode,
}

/// The two people of a guardianship input (`linkGuardian`, `unlinkGuardian`).
fn guardianship(guardian: &ID, minor: &ID) -> AppResult<(uuid::Uuid, uuid::Uuid)> {
    Ok((parse_id("input.guardianId", guardian)?, parse_id("input.minorId", minor)?))
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Rectifies your profile or your ward's. Invalid input → `BAD_USER_INPUT` naming the
    /// field; nothing is written.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<UpdateProfilePayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let target = match &input.user_id {
            Some(id) => parse_id("input.userId", id).gql()?,
            None => actor.user_id.ok_or(AppError::Unauthenticated).gql()?,
        };
        let patch = input.parse(accounts::today(s)).gql()?;
        let relations = rc.relations(s, &actor).await.gql()?;
        let rec = accounts::update_profile(s, &actor, relations, target, patch).await.gql()?;
        Ok(UpdateProfilePayload { user: UserNode::new(rec) })
    }

    /// Makes `guardianId` the guardian of the minor `minorId` (support or the privacy officer;
    /// audited). Guardianship lapses by itself when the ward turns 18.
    async fn link_guardian(
        &self,
        ctx: &Context<'_>,
        input: LinkGuardianInput,
    ) -> async_graphql::Result<LinkGuardianPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let (guardian, minor) = guardianship(&input.guardian_id, &input.minor_id).gql()?;
        let rec = accounts::link_guardian(s, &actor, guardian, minor).await.gql()?;
        Ok(LinkGuardianPayload { guardian: UserNode::new(rec) })
    }

    /// Ends the guardianship of `guardianId` over `minorId` (support or the privacy officer;
    /// audited). No such link → `NOT_FOUND`.
    async fn unlink_guardian(
        &self,
        ctx: &Context<'_>,
        input: UnlinkGuardianInput,
    ) -> async_graphql::Result<UnlinkGuardianPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let (guardian, minor) = guardianship(&input.guardian_id, &input.minor_id).gql()?;
        let rec = accounts::unlink_guardian(s, &actor, guardian, minor).await.gql()?;
        Ok(UnlinkGuardianPayload { guardian: UserNode::new(rec) })
    }

    /// Grants or revokes a role; audited, never on your own account. Roles that process other
    /// people's personal data (instructor, support, billing, reviewer, marketing, privacy
    /// officer, admin, integration) are granted by the privacy officer only; learner and
    /// guardian by an admin too. A grant is pending (`User.pendingRoles`) until its holder
    /// accepts it with `acceptRole`. Admins revoke any role but the privacy officer's;
    /// revoking a held role signs its holder out.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        input: SetUserRoleInput,
    ) -> async_graphql::Result<SetUserRolePayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let target = parse_id("input.userId", &input.user_id).gql()?;
        let rec =
            accounts::set_role(s, &actor, target, input.role.into(), input.granted).await.gql()?;
        Ok(SetUserRolePayload { user: UserNode::new(rec) })
    }

    /// Accepts a role granted to you (see `setUserRole`). It takes effect with your next access
    /// token (`refreshToken` or log-in). No pending grant of that role → `NOT_FOUND`.
    async fn accept_role(
        &self,
        ctx: &Context<'_>,
        input: AnswerRoleInput,
    ) -> async_graphql::Result<AnswerRolePayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let rec = accounts::answer_role(s, &actor, input.role.into(), true).await.gql()?;
        Ok(AnswerRolePayload { user: UserNode::new(rec) })
    }

    /// Declines a role granted to you; the grant is removed. No pending grant → `NOT_FOUND`.
    async fn decline_role(
        &self,
        ctx: &Context<'_>,
        input: AnswerRoleInput,
    ) -> async_graphql::Result<AnswerRolePayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let rec = accounts::answer_role(s, &actor, input.role.into(), false).await.gql()?;
        Ok(AnswerRolePayload { user: UserNode::new(rec) })
    }
}
