//! Sign-in sessions: log-in with e-mail and password, rotating refresh tokens (a reused token
//! revokes its whole session), log-out, and the password change that signs out every other
//! session.
//!
//! Refresh tokens are stored as hashes only ([`tokens`](super::tokens)); passwords are checked
//! with argon2 even for unknown accounts, so timing tells nothing.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use super::throttle::{forgive, throttle, throttle_key};
use super::{UserRecord, find_record, passwords, tokens};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::tenancy::{Tenant, scoped};
use crate::domain::types::Password;
use crate::entities::enums::{AccountStatus, RevokedReason};
use crate::entities::{auth_session, refresh_token, user};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column};

/// Log-in throttling and session lifetime.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    pub max_failures: u64,
    pub window_secs: i64,
    pub refresh_ttl_secs: i64,
}

/// Tokens handed to a client after register, log-in or refresh.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub access_token: String,
    pub refresh_token: crate::telemetry::Redacted<String>,
    pub expires_in: i64,
    pub user: UserRecord,
}

pub(super) async fn open_session<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
    ttl_secs: i64,
) -> AppResult<(Uuid, String)> {
    let session_id = Uuid::now_v7();
    let expires = now + Duration::seconds(ttl_secs);
    auth_session::Entity::insert(auth_session::ActiveModel {
        id: Set(session_id),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(expires),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    let refresh = insert_refresh_token(conn, session_id, now, expires).await?;
    Ok((session_id, refresh))
}

async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    session_id: Uuid,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> AppResult<String> {
    let (token, hash) = tokens::new_refresh_token();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(hash),
        issued_at: Set(now),
        expires_at: Set(expires),
        used_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(token)
}

pub(super) fn sign_in(
    services: &Services,
    user: UserRecord,
    session_id: Uuid,
    refresh: String,
) -> AppResult<SignIn> {
    let access = services
        .tokens
        .issue_access(
            user.user.tenant_id,
            user.user.id,
            session_id,
            user.roles,
            services.clock.now().timestamp(),
        )
        .map_err(|e| AppError::internal("signing an access token", e))?;
    Ok(SignIn {
        access_token: access,
        refresh_token: crate::telemetry::Redacted(refresh),
        expires_in: services.tokens.access_ttl_secs,
        user,
    })
}

/// Signs in with e-mail and password. Each attempt is recorded before the password is checked;
/// after `max_failures` failures within the window for one e-mail (whether or not an account
/// exists), or four times as many from one client, attempts get `RATE_LIMITED` until the
/// window has passed. Unknown accounts cost the same argon2 verification as known ones.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id))]
pub async fn login(
    services: &Services,
    tenant: &Tenant,
    email: &str,
    password: String,
    client: Option<&str>,
) -> AppResult<SignIn> {
    let now = services.clock.now();
    let normalised = email.trim().to_lowercase();
    let email_key = throttle_key(services, tenant.id, "email", &normalised);
    let mut keys = vec![(email_key.clone(), services.login.max_failures)];
    if let Some(c) = client {
        keys.push((
            throttle_key(services, tenant.id, "client", c),
            services.login.max_failures * 4,
        ));
    }
    let attempt = throttle(services, tenant.id, &keys).await?;
    let found = scoped::<user::Entity>(tenant.id)
        .filter(user::Column::Email.eq(normalised.as_str()))
        .filter(user::Column::Status.ne(AccountStatus::Erased))
        .one(&services.db)
        .await?;
    let ok =
        passwords::verify(password, found.as_ref().and_then(|u| u.password_hash.clone())).await?;
    let Some(found) = found.filter(|_| ok) else {
        return Err(AppError::InvalidCredentials);
    };
    forgive(services, tenant.id, attempt, &email_key).await?;
    let user_id = found.id;
    let refresh_ttl = services.login.refresh_ttl_secs;
    let tenant_id = tenant.id;
    let (session_id, refresh) = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                user::Entity::update_many()
                    .col_expr(user::Column::LastContactAt, Expr::value(now))
                    .filter(user::Column::TenantId.eq(tenant_id))
                    .filter(user::Column::Id.eq(user_id))
                    .exec(txn)
                    .await?;
                open_session(txn, tenant_id, user_id, now, refresh_ttl).await
            })
        })
        .await?;
    let record = find_record(services, tenant.id, user_id).await?.ok_or(AppError::NotFound)?;
    sign_in(services, record, session_id, refresh)
}

enum RefreshOutcome {
    Rotated(String),
    Reused,
}

/// Rotates a refresh token. Presenting a token that was already rotated revokes the whole
/// session (token family): whoever holds the newer token is signed out too.
///
/// The checks that only read run first; the transaction then starts with the claiming
/// `UPDATE … WHERE used_at IS NULL`, so two racing refreshes are decided by the database (on
/// SQLite the write lock is taken up front instead of failing on a stale snapshot).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id))]
pub async fn refresh(services: &Services, tenant: &Tenant, token: &str) -> AppResult<SignIn> {
    let now = services.clock.now();
    let hash = tokens::hash_refresh_token(token);
    let rt = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash.as_str()))
        .one(&services.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let session = scoped::<auth_session::Entity>(tenant.id)
        .filter(auth_session::Column::Id.eq(rt.session_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if session.revoked_at.is_some() || session.expires_at <= now || rt.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    let record = find_record(services, tenant.id, session.user_id)
        .await?
        .filter(|r| r.user.status != AccountStatus::Erased)
        .ok_or(AppError::Unauthenticated)?;
    let (tenant_id, session_id, expires) = (tenant.id, session.id, session.expires_at);
    let outcome = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let claimed = refresh_token::Entity::update_many()
                    .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
                    .filter(refresh_token::Column::Id.eq(rt.id))
                    .filter(refresh_token::Column::UsedAt.is_null())
                    .exec(txn)
                    .await?;
                if claimed.rows_affected != 1 {
                    revoke_sessions(
                        txn,
                        tenant_id,
                        SessionScope::One(session_id),
                        now,
                        RevokedReason::RefreshTokenReuse,
                    )
                    .await?;
                    return Ok(RefreshOutcome::Reused);
                }
                Ok(RefreshOutcome::Rotated(
                    insert_refresh_token(txn, session_id, now, expires).await?,
                ))
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(token) => sign_in(services, record, session_id, token),
        RefreshOutcome::Reused => {
            tracing::warn!(tenant.id = %tenant.id, session.id = %session_id, "refresh token reuse detected; session revoked");
            Err(AppError::Unauthenticated)
        }
    }
}

pub(crate) enum SessionScope {
    One(Uuid),
    AllOf { user_id: Uuid, except: Option<Uuid> },
}

#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub(crate) async fn revoke_sessions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    scope: SessionScope,
    now: DateTime<Utc>,
    reason: RevokedReason,
) -> AppResult<u64> {
    let mut q = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(auth_session::Column::RevokedReason, Expr::value(reason))
        .filter(auth_session::Column::TenantId.eq(tenant_id))
        .filter(auth_session::Column::RevokedAt.is_null());
    q = match scope {
        SessionScope::One(id) => q.filter(auth_session::Column::Id.eq(id)),
        SessionScope::AllOf { user_id, except } => {
            let q = q.filter(auth_session::Column::UserId.eq(user_id));
            match except {
                Some(e) => q.filter(auth_session::Column::Id.ne(e)),
                None => q,
            }
        }
    };
    Ok(q.exec(conn).await?.rows_affected)
}

/// Ends every open session of `user_id` (their refresh tokens die with them): the person can
/// no longer act through a token issued before, e.g. once their death is recorded.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, user.id = %user_id))]
pub async fn end_sessions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
    reason: RevokedReason,
) -> AppResult<u64> {
    revoke_sessions(conn, tenant_id, SessionScope::AllOf { user_id, except: None }, now, reason)
        .await
}

/// Checks that the session behind an access token is still open (not logged out, not revoked
/// by refresh-token reuse, not expired): [`signed_in_by_session`], whose statement holds the
/// rule, without keeping what it read.
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %tenant_id, session.id = %session_id, user.id = %user_id)
)]
pub async fn session_is_open(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    user_id: Uuid,
) -> AppResult<bool> {
    Ok(signed_in_by_session(services, tenant_id, session_id, user_id).await?.is_some())
}

/// Who is signed in behind an open session: their record (user and held roles), and whether
/// they are linked to anyone as a guardian (when not, their relations need no query).
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub record: UserRecord,
    pub guardian: bool,
}

/// [`session_is_open`] and, when it is, the person behind it, in one statement: the session
/// joined to its user, the user's held roles (one row each) and whether any guardian link starts
/// from them. `None` when the session is closed, expired, revoked or not this user's.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn signed_in_by_session(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<SignedIn>> {
    use sea_orm::sea_query::{Asterisk, ExprTrait, Query};
    use sea_orm::{FromQueryResult, JoinType};

    use crate::entities::{enums::StoredRole, guardian_link, user_role};
    let now = services.clock.now();
    let links = Query::select()
        .expr(Expr::val(1))
        .from(guardian_link::Entity)
        .and_where(
            Expr::col((guardian_link::Entity, guardian_link::Column::GuardianId))
                .equals((user::Entity, user::Column::Id)),
        )
        .and_where(
            Expr::col((guardian_link::Entity, guardian_link::Column::TenantId)).eq(tenant_id),
        )
        .to_owned();
    let q = Query::select()
        .column((user::Entity, Asterisk))
        .expr_as(Expr::col((user_role::Entity, user_role::Column::Role)), "held_role")
        .expr_as(Expr::exists(links), "is_guardian")
        .from(auth_session::Entity)
        .join(
            JoinType::InnerJoin,
            user::Entity,
            Expr::col((user::Entity, user::Column::Id))
                .equals((auth_session::Entity, auth_session::Column::UserId)),
        )
        .join(
            JoinType::LeftJoin,
            user_role::Entity,
            Expr::col((user_role::Entity, user_role::Column::UserId))
                .equals((user::Entity, user::Column::Id))
                .and(Expr::col((user_role::Entity, user_role::Column::AcceptedAt)).is_not_null()),
        )
        .and_where(Expr::col((auth_session::Entity, auth_session::Column::TenantId)).eq(tenant_id))
        .and_where(Expr::col((auth_session::Entity, auth_session::Column::Id)).eq(session_id))
        .and_where(Expr::col((auth_session::Entity, auth_session::Column::UserId)).eq(user_id))
        .and_where(Expr::col((auth_session::Entity, auth_session::Column::RevokedAt)).is_null())
        .and_where(Expr::col((auth_session::Entity, auth_session::Column::ExpiresAt)).gt(now))
        .and_where(Expr::col((user::Entity, user::Column::TenantId)).eq(tenant_id))
        .to_owned();
    let rows = services.db.query_all(&q).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let user = user::Model::from_query_result(first, "")?;
    let guardian: bool = first.try_get("", "is_guardian")?;
    let mut roles = crate::policy::RoleSet::default();
    for r in &rows {
        if let Some(role) = r.try_get::<Option<StoredRole>>("", "held_role")? {
            roles.insert(role.into());
        }
    }
    Ok(Some(SignedIn { record: UserRecord { user, roles }, guardian }))
}

/// Logs out: revokes the current session, or every session of the user.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        everywhere = everywhere,
    )
)]
pub async fn logout(services: &Services, actor: &Actor, everywhere: bool) -> AppResult<u64> {
    let (Some(user_id), Some(session_id)) = (actor.user_id, actor.session_id) else {
        return Err(AppError::Unauthenticated);
    };
    let scope = if everywhere {
        SessionScope::AllOf { user_id, except: None }
    } else {
        SessionScope::One(session_id)
    };
    revoke_sessions(
        &services.db,
        actor.tenant_id,
        scope,
        services.clock.now(),
        RevokedReason::Logout,
    )
    .await
}

/// Changes the actor's password and signs out every other session.
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display))
)]
pub async fn change_password(
    services: &Services,
    actor: &Actor,
    current: String,
    new: Password,
) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let found = scoped::<user::Entity>(actor.tenant_id)
        .filter(user::Column::Id.eq(user_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // A stolen access token must not become a password oracle: the same throttle as log-in.
    let key = throttle_key(services, actor.tenant_id, "password", &user_id.to_string());
    let attempt =
        throttle(services, actor.tenant_id, &[(key.clone(), services.login.max_failures)]).await?;
    if !passwords::verify(current, found.password_hash.clone()).await? {
        return Err(AppError::bad_input("input.currentPassword", "is not the current password"));
    }
    forgive(services, actor.tenant_id, attempt, &key).await?;
    let hash = passwords::hash(new).await?;
    let now = services.clock.now();
    let actor = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let mut m: user::ActiveModel = found.into();
                m.password_hash = Set(Some(hash));
                m.updated_at = Set(now);
                m.update(txn).await?;
                revoke_sessions(
                    txn,
                    actor.tenant_id,
                    SessionScope::AllOf { user_id, except: actor.session_id },
                    now,
                    RevokedReason::PasswordChanged,
                )
                .await?;
                audit::record(
                    txn,
                    &actor,
                    now,
                    AuditRecord {
                        action: "account.password_changed",
                        category: None,
                        subject_id: Some(user_id),
                        purpose: Column::Subject.purpose(),
                        details: None,
                    },
                )
                .await
            })
        })
        .await?;
    Ok(())
}
