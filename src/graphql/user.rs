//! People: `me`, `user`, `users`, `updateProfile`, guardianship links and role changes. The
//! `User` type itself (every personal field guarded) is in [`super::nodes`].

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;

use super::context::{request, services};
use super::nodes::{CivilityGql, RoleGql, UserNode};
use super::pagination::{encode_cursor, page_args, parse_id};
use crate::domain::accounts::{self, Patch, ProfilePatch};
use crate::domain::types::{BirthDate, Email, Locale, PersonName, Phone, PostalAddress};
use crate::error::{AppError, AppResult, IntoGql};

#[derive(Default)]
pub struct UserQuery;

pub type UserConnection = Connection<String, UserNode>;

#[Object]
impl UserQuery {
    /// The signed-in user.
    #[graphql(cache_control(no_cache))]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserNode>> {
        let s = services(ctx).gql()?;
        let rec = request(ctx).gql()?.me(s).await.gql()?.ok_or(AppError::Unauthenticated).gql()?;
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
