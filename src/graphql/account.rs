//! Sign-in mutations: register, log in, refresh, log out, change password, set a password
//! from a one-time link.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use validator::Validate;

use super::context::{request, services};
use super::nodes::{CivilityGql, UserNode};
use crate::domain::accounts::{self, Registration, SignIn};
use crate::domain::types::{Email, Locale, Password, PersonName};
use crate::error::{AppError, AppResult, IntoGql};
use crate::policy::Actor;

/// Turns `validator` errors into `BAD_USER_INPUT` naming the first offending field.
fn validation(e: validator::ValidationErrors, fields: &[(&str, &str)]) -> AppError {
    let errors = e.field_errors();
    let mut names: Vec<&str> = errors.keys().map(|k| k.as_ref()).collect();
    names.sort_unstable();
    let first = names.first().copied().unwrap_or("input");
    let api = fields.iter().find(|(rust, _)| *rust == first).map(|(_, api)| *api).unwrap_or(first);
    let message = errors
        .get(first)
        .and_then(|v| v.first())
        .and_then(|fe| fe.message.as_ref().map(|m| m.to_string()))
        .unwrap_or_else(|| "is invalid".into());
    AppError::bad_input(format!("input.{api}"), message)
}

/// A new learner account.
#[derive(InputObject, Validate)]
pub struct RegisterInput {
    #[validate(length(min = 3, max = 254, message = "must be a valid e-mail address"))]
    pub email: String,
    #[validate(length(min = 12, max = 128, message = "must be between 12 and 128 characters"))]
    pub password: String,
    #[validate(length(min = 1, max = 100, message = "must be between 1 and 100 characters"))]
    pub first_name: String,
    #[validate(length(min = 1, max = 100, message = "must be between 1 and 100 characters"))]
    pub last_name: String,
    pub civility: Option<CivilityGql>,
    /// BCP 47 tag, `fr` by default.
    pub locale: Option<String>,
    /// The privacy-policy version the person read and accepted; must be the current one.
    pub accepted_policy_version: String,
    /// Opt-in to marketing e-mail (off unless ticked).
    #[graphql(default)]
    pub marketing_email_consent: bool,
}

const REGISTER_FIELDS: &[(&str, &str)] = &[("first_name", "firstName"), ("last_name", "lastName")];

impl RegisterInput {
    fn parse(self, default_locale: &str) -> AppResult<Registration> {
        self.validate().map_err(|e| validation(e, REGISTER_FIELDS))?;
        Ok(Registration {
            email: Email::parse("input.email", &self.email)?,
            password: Password::parse("input.password", &self.password)?,
            first_name: PersonName::parse("input.firstName", &self.first_name)?,
            last_name: PersonName::parse("input.lastName", &self.last_name)?,
            civility: self.civility.map(Into::into),
            locale: Locale::parse(
                "input.locale",
                self.locale.as_deref().unwrap_or(default_locale),
            )?,
            accepted_policy_version: self.accepted_policy_version,
            marketing_email_consent: self.marketing_email_consent,
        })
    }
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct RefreshTokenInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct LogoutInput {
    /// Sign out every session of the account, not only this one.
    #[graphql(default)]
    pub everywhere: bool,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

/// Tokens for a signed-in user. Send `accessToken` as `Authorization: Bearer …`; exchange
/// `refreshToken` (single use) with `refreshToken` before the access token expires.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserNode,
}

impl AuthPayload {
    fn from_sign_in(s: SignIn, request_id: &str) -> Self {
        let u = &s.user.user;
        let actor = Actor::user(u.tenant_id, u.id, None, s.user.roles, request_id.to_owned());
        AuthPayload {
            access_token: s.access_token,
            refresh_token: s.refresh_token.0,
            token_type: "Bearer",
            expires_in: s.expires_in,
            user: UserNode::seen_by(s.user, actor),
        }
    }
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// How many sessions were closed.
    pub revoked_sessions: u64,
}

#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    pub changed: bool,
}

/// A one-time set-password link's token (`pupitre tenant admin` prints the link) and the new
/// password.
#[derive(InputObject)]
pub struct SetPasswordInput {
    pub token: String,
    pub password: String,
}

#[derive(SimpleObject)]
pub struct SetPasswordPayload {
    /// The password is set; every session of the account has ended. Sign in with it.
    pub password_set: bool,
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a learner account and signs it in. The current privacy-policy version must be
    /// accepted; acceptance and any marketing opt-in are recorded. A client that keeps trying
    /// taken addresses gets `RATE_LIMITED`.
    #[graphql(complexity = "crate::graphql::limits::PASSWORD_HASH_COST + child_complexity")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let reg = input.parse(&rc.tenant.default_locale).gql()?;
        let signed =
            accounts::register(s, &rc.tenant, reg, &rc.request_id, rc.client_key.as_deref())
                .await
                .gql()?;
        Ok(AuthPayload::from_sign_in(signed, &rc.request_id))
    }

    /// Signs in. Wrong credentials and unknown accounts get the same `UNAUTHENTICATED`;
    /// repeated failures get `RATE_LIMITED`.
    #[graphql(complexity = "crate::graphql::limits::PASSWORD_HASH_COST + child_complexity")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let signed =
            accounts::login(s, &rc.tenant, &input.email, input.password, rc.client_key.as_deref())
                .await
                .gql()?;
        Ok(AuthPayload::from_sign_in(signed, &rc.request_id))
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once; presenting
    /// one again signs out the whole session.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        input: RefreshTokenInput,
    ) -> async_graphql::Result<AuthPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let signed = accounts::refresh(s, &rc.tenant, &input.refresh_token).await.gql()?;
        Ok(AuthPayload::from_sign_in(signed, &rc.request_id))
    }

    /// Signs out this session (or every session); its tokens stop working at once.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        input: LogoutInput,
    ) -> async_graphql::Result<LogoutPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let n = accounts::logout(s, &actor, input.everywhere).await.gql()?;
        Ok(LogoutPayload { revoked_sessions: n })
    }

    /// Changes your password and signs out your other sessions.
    #[graphql(complexity = "2 * crate::graphql::limits::PASSWORD_HASH_COST + child_complexity")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<ChangePasswordPayload> {
        let s = services(ctx).gql()?;
        let actor = request(ctx).gql()?.user_actor(s).await.gql()?;
        let new = Password::parse("input.newPassword", &input.new_password).gql()?;
        accounts::change_password(s, &actor, input.current_password, new).await.gql()?;
        Ok(ChangePasswordPayload { changed: true })
    }

    /// Sets the password of the account a one-time link was issued for (the token works once,
    /// for 72 hours, in this organisation only); every session of the account ends.
    #[graphql(complexity = "crate::graphql::limits::PASSWORD_HASH_COST + child_complexity")]
    async fn set_password(
        &self,
        ctx: &Context<'_>,
        input: SetPasswordInput,
    ) -> async_graphql::Result<SetPasswordPayload> {
        let s = services(ctx).gql()?;
        let tenant = &request(ctx).gql()?.tenant;
        let password = Password::parse("input.password", &input.password).gql()?;
        accounts::set_password::set_password(s, Some(tenant.id), &input.token, password)
            .await
            .gql()?;
        Ok(SetPasswordPayload { password_set: true })
    }
}
