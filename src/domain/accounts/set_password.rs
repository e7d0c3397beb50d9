//! One-time set-password links: how an organisation's first administrator gets in without a
//! password ever passing through the operator's shell.
//!
//! `pupitre tenant admin --slug S --email E` ([`operator_admin`]) creates the account if it does
//! not exist (no password: nobody can sign in to it yet), grants it the admin role (pending, to
//! be accepted like every grant), and issues a link valid [`LINK_TTL_HOURS`] hours; run again,
//! it issues a new link and the earlier one stops working (a reset). The token is 256 random
//! bits; only its SHA-256 is stored (`password_tokens`).
//!
//! The link opens `GET /set-password?token=…` (a small form served by Pupitre, for an
//! organisation without a storefront yet), or a storefront calls `setPassword`. Either way
//! [`set_password`] spends the token once, sets the password, ends every session of the
//! account, and records it in the tenant's audit log.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use super::passwords;
use super::roles::{insert_role, role_row};
use super::sessions::{SessionScope, revoke_sessions};
use super::tokens::new_opaque_token;
use super::{AccountStatus, audit_identity_change};
use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::domain::types::{Email, Password};
use crate::entities::enums::RevokedReason;
use crate::entities::{password_token, tenant, user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column, Role};

/// How long a set-password link works.
pub const LINK_TTL_HOURS: i64 = 72;

/// What `tenant admin` did.
pub struct AdminLink {
    /// Whether the account was created (else it existed and its password is being reset).
    pub created: bool,
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// The answer to a token that does not open anything (unknown, used, expired, another tenant's).
fn invalid() -> AppError {
    AppError::bad_input("input.token", "is invalid, used or expired: ask for a new link")
}

/// Issues a token for `user_id`, replacing any earlier one; returns the token.
async fn issue<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<String> {
    password_token::Entity::delete_many()
        .filter(password_token::Column::TenantId.eq(tenant_id))
        .filter(password_token::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    let (token, hash) = new_opaque_token("sp");
    password_token::Entity::insert(password_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        token_hash: Set(hash),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(LINK_TTL_HOURS)),
        used_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(token)
}

/// `tenant admin`: the account of `email` in the tenant `slug` (created when missing, named
/// `first_name last_name`), the admin role granted (pending) and a fresh set-password link.
/// Logged in the platform's log (created or reset, never the address) and audited in the
/// tenant's log.
pub async fn operator_admin(
    services: &Services,
    slug: &str,
    email: &Email,
    first_name: &str,
    last_name: &str,
) -> AppResult<AdminLink> {
    let tenant = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = services.clock.now();
    let operator = Actor::anonymous(tenant.id, "operator".into());
    let (email, first, last) =
        (email.as_str().to_owned(), first_name.to_owned(), last_name.to_owned());
    let tenant_slug = tenant.slug.clone();
    let (created, token) = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let t = operator.tenant_id;
                let existing = scoped::<user::Entity>(t)
                    .filter(user::Column::Email.eq(email.as_str()))
                    .one(txn)
                    .await?;
                let (user_id, created) = match existing {
                    Some(u) => (u.id, false),
                    None => {
                        let id = Uuid::now_v7();
                        user::Entity::insert(user::ActiveModel::from(user::Model {
                            id,
                            tenant_id: t,
                            email: Some(email),
                            password_hash: None,
                            civility: None,
                            first_name: first,
                            last_name: last,
                            phone: None,
                            address_line1: None,
                            address_line2: None,
                            postal_code: None,
                            city: None,
                            country: None,
                            birth_date: None,
                            locale: "fr".into(),
                            status: AccountStatus::Active,
                            last_contact_at: Some(now),
                            accepted_policy_version: None,
                            display_name: None,
                            accepted_policy_at: None,
                            created_at: now,
                            updated_at: now,
                        }))
                        .exec_without_returning(txn)
                        .await?;
                        (id, true)
                    }
                };
                let has_admin = user_role::Entity::find()
                    .filter(role_row(t, user_id, Role::Admin))
                    .one(txn)
                    .await?
                    .is_some();
                if !has_admin {
                    insert_role(txn, t, user_id, Role::Admin, now, None, false).await?;
                }
                let token = issue(txn, t, user_id, now).await?;
                audit_identity_change(
                    txn,
                    &operator,
                    now,
                    user_id,
                    "account.password_link_issued",
                    "operator",
                    serde_json::json!({ "by": "operator", "created": created, "admin_granted": !has_admin }),
                )
                .await?;
                crate::domain::platform::log(
                    txn,
                    now,
                    "tenant.admin",
                    &tenant_slug,
                    serde_json::json!({ "created": created, "admin_granted": !has_admin }),
                )
                .await?;
                Ok((created, token))
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("this account was changed at the same time; try again")
        })?;
    Ok(AdminLink {
        created,
        link: format!("{}/set-password?token={token}", services.mail.public_url),
        expires_at: now + Duration::hours(LINK_TTL_HOURS),
    })
}

/// Spends `token` (of the tenant `tenant_id` when given: a GraphQL request's tenant) and sets
/// the password of its account; every session of the account ends. `BAD_USER_INPUT` on
/// `input.token` for any token that does not open anything, whatever the reason.
#[tracing::instrument(skip_all)]
pub async fn set_password(
    services: &Services,
    tenant_id: Option<Uuid>,
    token: &str,
    password: Password,
) -> AppResult<Uuid> {
    let now = services.clock.now();
    let mut q = password_token::Entity::find()
        .filter(password_token::Column::TokenHash.eq(super::tokens::hash_refresh_token(token)));
    if let Some(t) = tenant_id {
        q = q.filter(password_token::Column::TenantId.eq(t));
    }
    let found = q.one(&services.db).await?.ok_or_else(invalid)?;
    if found.used_at.is_some() || found.expires_at <= now {
        return Err(invalid());
    }
    let hash = passwords::hash(password).await?;
    let (tenant_id, user_id) = (found.tenant_id, found.user_id);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                // Spent once, even by two requests at the same time.
                let spent = password_token::Entity::update_many()
                    .col_expr(password_token::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
                    .filter(password_token::Column::Id.eq(found.id))
                    .filter(password_token::Column::UsedAt.is_null())
                    .exec(txn)
                    .await?;
                if spent.rows_affected != 1 {
                    return Err(invalid());
                }
                let account = scoped::<user::Entity>(tenant_id)
                    .filter(user::Column::Id.eq(user_id))
                    .filter(user::Column::Status.ne(AccountStatus::Erased))
                    .one(txn)
                    .await?
                    .ok_or_else(invalid)?;
                let mut m: user::ActiveModel = account.into();
                m.password_hash = Set(Some(hash));
                m.updated_at = Set(now);
                m.update(txn).await?;
                revoke_sessions(
                    txn,
                    tenant_id,
                    SessionScope::AllOf { user_id, except: None },
                    now,
                    RevokedReason::PasswordChanged,
                )
                .await?;
                let actor = Actor::anonymous(tenant_id, "set-password link".into());
                audit_identity_change(
                    txn,
                    &actor,
                    now,
                    user_id,
                    "account.password_set",
                    Column::Subject.purpose(),
                    serde_json::json!({ "by": "one-time link" }),
                )
                .await
            })
        })
        .await?;
    Ok(user_id)
}
