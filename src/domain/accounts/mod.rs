//! Accounts: registration, sign-in sessions with rotating refresh tokens, profiles and their
//! rectification, roles and guardian links.
//!
//! Every function takes the tenant (or the [`Actor`], which carries it) explicitly; queries start
//! from [`scoped`]. Access to another person's data is decided by [`policy::decide`] only.

mod passwords;
pub mod tokens;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::Services;
use super::audit::{self, AuditRecord};
use super::consent::{self, Purpose};
use super::tenancy::{Tenant, scoped};
use super::types::{
    BirthDate, Civility, Email, Locale, Password, PersonName, Phone, PostalAddress,
};
use crate::entities::{
    auth_session, guardian_link, login_failure, privacy_policy, refresh_token, user, user_role,
};
use crate::error::{AppError, AppResult};
use crate::policy::{
    self, Actor, Category, Column, DataField, Op, Relations, Role, RoleSet, SubjectFacts,
    SubjectStatus, UserRows,
};

/// Hashes a password with argon2id (for the seeder and account creation).
pub async fn hash_password(password: Password) -> AppResult<String> {
    passwords::hash(password).await
}

/// Log-in throttling and session lifetime.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    pub max_failures: u64,
    pub window_secs: i64,
    pub refresh_ttl_secs: i64,
}

/// A user with their roles.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: user::Model,
    pub roles: RoleSet,
}

impl UserRecord {
    /// What the policy needs to know about this person as a data subject.
    pub fn facts(&self) -> SubjectFacts {
        SubjectFacts {
            id: Some(self.user.id),
            status: status_of(&self.user.status),
            is_staff: self.roles.any_staff(),
            ..SubjectFacts::person(self.user.id)
        }
    }
}

fn status_of(s: &str) -> SubjectStatus {
    match s {
        "restricted" => SubjectStatus::Restricted,
        "erased" => SubjectStatus::Erased,
        _ => SubjectStatus::Active,
    }
}

/// Tokens handed to a client after register, log-in or refresh.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub access_token: String,
    pub refresh_token: crate::telemetry::Redacted<String>,
    pub expires_in: i64,
    pub user: UserRecord,
}

/// A new learner account.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub civility: Option<Civility>,
    pub locale: Locale,
    pub accepted_policy_version: String,
    pub marketing_email_consent: bool,
}

/// A change to one field: leave it, clear it, or set it.
#[derive(Clone, Debug, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    fn touched(&self) -> bool {
        !matches!(self, Patch::Keep)
    }
}

/// A rectification of a profile (SPEC §6), already parsed.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    pub civility: Patch<Civility>,
    pub first_name: Patch<PersonName>,
    pub last_name: Patch<PersonName>,
    pub email: Patch<Email>,
    pub phone: Patch<Phone>,
    pub postal_address: Patch<PostalAddress>,
    pub birth_date: Patch<BirthDate>,
    pub locale: Patch<Locale>,
}

impl ProfilePatch {
    fn touched_fields(&self) -> Vec<DataField> {
        let mut f = Vec::new();
        let pairs: [(bool, DataField); 8] = [
            (self.civility.touched(), DataField::Civility),
            (self.first_name.touched(), DataField::FirstName),
            (self.last_name.touched(), DataField::LastName),
            (self.email.touched(), DataField::Email),
            (self.phone.touched(), DataField::Phone),
            (self.postal_address.touched(), DataField::PostalAddress),
            (self.birth_date.touched(), DataField::BirthDate),
            (self.locale.touched(), DataField::Locale),
        ];
        for (t, d) in pairs {
            if t {
                f.push(d);
            }
        }
        f
    }
}

/// The tenant's current privacy-policy version (the latest published).
pub async fn current_policy(
    services: &Services,
    tenant_id: Uuid,
) -> AppResult<Option<privacy_policy::Model>> {
    Ok(scoped::<privacy_policy::Entity>(tenant_id)
        .filter(privacy_policy::Column::PublishedAt.lte(services.clock.now()))
        .order_by_desc(privacy_policy::Column::PublishedAt)
        .one(&services.db)
        .await?)
}

async fn email_taken<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    email: &Email,
    except: Option<Uuid>,
) -> AppResult<bool> {
    let mut q = scoped::<user::Entity>(tenant_id).filter(user::Column::Email.eq(email.as_str()));
    if let Some(id) = except {
        q = q.filter(user::Column::Id.ne(id));
    }
    Ok(q.one(conn).await?.is_some())
}

/// Creates a learner account, records acceptance of the current privacy policy (and the
/// marketing consent if given) and signs the new user in.
///
/// Answering `CONFLICT` for a taken e-mail tells whether an account exists, so attempts are
/// throttled per client like log-ins: each attempt is recorded, a successful registration takes
/// its record back, and a client that keeps hitting existing addresses gets `RATE_LIMITED`.
pub async fn register(
    services: &Services,
    tenant: &Tenant,
    reg: Registration,
    request_id: &str,
    client: Option<&str>,
) -> AppResult<SignIn> {
    let attempt = match client {
        Some(c) => {
            let key = throttle_key(services, tenant.id, "register", c);
            Some((
                throttle(services, tenant.id, &[(key.clone(), services.login.max_failures * 4)])
                    .await?,
                key,
            ))
        }
        None => None,
    };
    let signed = register_inner(services, tenant, reg, request_id).await?;
    if let Some((ids, _)) = attempt {
        // Only this attempt's record: earlier probes for taken addresses still count.
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::TenantId.eq(tenant.id))
            .filter(login_failure::Column::Id.is_in(ids))
            .exec(&services.db)
            .await?;
    }
    Ok(signed)
}

async fn register_inner(
    services: &Services,
    tenant: &Tenant,
    reg: Registration,
    request_id: &str,
) -> AppResult<SignIn> {
    let policy = current_policy(services, tenant.id).await?.ok_or_else(|| {
        AppError::Conflict("this organisation has not published a privacy policy yet".into())
    })?;
    if policy.version != reg.accepted_policy_version {
        return Err(AppError::bad_input(
            "input.acceptedPolicyVersion",
            format!("must be the current privacy-policy version ({})", policy.version),
        ));
    }
    if email_taken(&services.db, tenant.id, &reg.email, None).await? {
        return Err(AppError::Conflict(
            "an account with this e-mail address already exists".into(),
        ));
    }
    let hash = passwords::hash(reg.password).await?;
    let now = services.clock.now();
    let id = Uuid::now_v7();
    let model = user::Model {
        id,
        tenant_id: tenant.id,
        email: Some(reg.email.into_inner()),
        password_hash: Some(hash),
        civility: reg.civility.map(|c| c.as_str().to_owned()),
        first_name: reg.first_name.into_inner(),
        last_name: reg.last_name.into_inner(),
        phone: None,
        address_line1: None,
        address_line2: None,
        postal_code: None,
        city: None,
        country: None,
        birth_date: None,
        locale: reg.locale.into_inner(),
        status: "active".into(),
        last_contact_at: Some(now),
        accepted_policy_version: Some(policy.version.clone()),
        display_name: None,
        accepted_policy_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    let roles = RoleSet::from_roles(&[Role::Learner]);
    let actor = Actor::user(tenant.id, id, None, roles, request_id.to_owned());
    let marketing = reg.marketing_email_consent;
    let version = policy.version.clone();
    let refresh_ttl = services.login.refresh_ttl_secs;
    let (session_id, refresh) = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                user::Entity::insert(user::ActiveModel::from(model))
                    .exec_without_returning(txn)
                    .await?;
                insert_role(txn, actor.tenant_id, id, Role::Learner, now, None, true).await?;
                if marketing {
                    consent::insert(
                        txn,
                        actor.tenant_id,
                        Some(id),
                        None,
                        Purpose::MarketingEmail,
                        true,
                        now,
                        "registration",
                        Some(version.clone()),
                        Some(id),
                    )
                    .await?;
                }
                audit_identity_change(
                    txn,
                    &actor,
                    now,
                    id,
                    "account.registered",
                    Column::Subject.purpose(),
                    serde_json::json!({ "accepted_policy_version": version }),
                )
                .await?;
                open_session(txn, actor.tenant_id, id, now, refresh_ttl).await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e)
                .unique_as_conflict("an account with this e-mail address already exists")
        })?;
    let user = find_record(services, tenant.id, id).await?.ok_or(AppError::NotFound)?;
    sign_in(services, user, session_id, refresh)
}

/// Inserts a role row: in effect at once (`accepted`: registration's learner role, the
/// guardian role of a link), or pending until its holder accepts it (a grant, see [`set_role`]).
async fn insert_role<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
    at: DateTime<Utc>,
    by: Option<Uuid>,
    accepted: bool,
) -> AppResult<()> {
    user_role::Entity::insert(user_role::ActiveModel {
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
        tenant_id: Set(tenant_id),
        granted_at: Set(at),
        granted_by: Set(by),
        accepted_at: Set(accepted.then_some(at)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

async fn open_session<C: ConnectionTrait>(
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

fn sign_in(
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

/// Keyed hash for throttling keys: never the e-mail itself.
fn throttle_key(services: &Services, tenant_id: Uuid, kind: &str, value: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(&services.throttle_secret) {
        Ok(m) => m,
        Err(_) => return tokens::hash_refresh_token(&format!("{tenant_id}:{kind}:{value}")),
    };
    mac.update(format!("{tenant_id}:{kind}:{value}").as_bytes());
    tokens::hex(&mac.finalize().into_bytes())
}

/// Records one attempt under each key, then refuses with `RATE_LIMITED` when a key holds more
/// than its limit within the window, this attempt included. Recording *before* counting closes
/// the race where parallel attempts all pass a count taken before any of them was recorded.
/// Returns the ids of the rows written, so a successful attempt can take them back.
async fn throttle(
    services: &Services,
    tenant_id: Uuid,
    keys: &[(String, u64)],
) -> AppResult<Vec<Uuid>> {
    let now = services.clock.now();
    let window = Duration::seconds(services.login.window_secs);
    let mut ids = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        let id = Uuid::now_v7();
        login_failure::Entity::insert(login_failure::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            key_hash: Set(key.clone()),
            at: Set(now),
        })
        .exec_without_returning(&services.db)
        .await?;
        ids.push(id);
    }
    for (key, limit) in keys {
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::TenantId.eq(tenant_id))
            .filter(login_failure::Column::KeyHash.eq(key.as_str()))
            .filter(login_failure::Column::At.gt(now - window))
            .order_by_asc(login_failure::Column::At)
            .limit(*limit + 1)
            .all(&services.db)
            .await?;
        if recent.len() as u64 > *limit {
            let oldest = recent.first().map(|f| f.at).unwrap_or(now);
            let retry = (oldest + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited { retry_after_secs: retry as u64 });
        }
    }
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::TenantId.eq(tenant_id))
        .filter(login_failure::Column::At.lt(now - window))
        .exec(&services.db)
        .await?;
    Ok(ids)
}

/// Takes back a successful attempt: its own rows, and every recorded failure of `clear_key`.
async fn forgive(
    services: &Services,
    tenant_id: Uuid,
    ids: Vec<Uuid>,
    clear_key: &str,
) -> AppResult<()> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::TenantId.eq(tenant_id))
        .filter(
            sea_orm::Condition::any()
                .add(login_failure::Column::Id.is_in(ids))
                .add(login_failure::Column::KeyHash.eq(clear_key)),
        )
        .exec(&services.db)
        .await?;
    Ok(())
}

/// Signs in with e-mail and password. Each attempt is recorded before the password is checked;
/// after `max_failures` failures within the window for one e-mail (whether or not an account
/// exists), or four times as many from one client, attempts get `RATE_LIMITED` until the
/// window has passed. Unknown accounts cost the same argon2 verification as known ones.
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
        .filter(user::Column::Status.ne("erased"))
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
        .filter(|r| r.user.status != "erased")
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
                        "refresh token reuse",
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

enum SessionScope {
    One(Uuid),
    AllOf { user_id: Uuid, except: Option<Uuid> },
}

async fn revoke_sessions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    scope: SessionScope,
    now: DateTime<Utc>,
    reason: &str,
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

/// Checks that the session behind an access token is still open (not logged out, not revoked
/// by refresh-token reuse, not expired).
pub async fn session_is_open(
    services: &Services,
    tenant_id: Uuid,
    session_id: Uuid,
    user_id: Uuid,
) -> AppResult<bool> {
    let now = services.clock.now();
    Ok(scoped::<auth_session::Entity>(tenant_id)
        .filter(auth_session::Column::Id.eq(session_id))
        .filter(auth_session::Column::UserId.eq(user_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .filter(auth_session::Column::ExpiresAt.gt(now))
        .one(&services.db)
        .await?
        .is_some())
}

/// Logs out: revokes the current session, or every session of the user.
pub async fn logout(services: &Services, actor: &Actor, everywhere: bool) -> AppResult<u64> {
    let (Some(user_id), Some(session_id)) = (actor.user_id, actor.session_id) else {
        return Err(AppError::Unauthenticated);
    };
    let scope = if everywhere {
        SessionScope::AllOf { user_id, except: None }
    } else {
        SessionScope::One(session_id)
    };
    revoke_sessions(&services.db, actor.tenant_id, scope, services.clock.now(), "logout").await
}

/// Changes the actor's password and signs out every other session.
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
                    "password changed",
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

/// The row of `role` granted to `user` in `tenant_id`, held or pending (the tenant scope of
/// every role write).
fn role_row(tenant_id: Uuid, user: Uuid, role: Role) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(user_role::Column::TenantId.eq(tenant_id))
        .add(user_role::Column::UserId.eq(user))
        .add(user_role::Column::Role.eq(role.as_str()))
}

/// The roles people of `tenant_id` hold: accepted grants only. A pending grant gives nothing
/// (no token claim, no staff-account status, no list) until its holder accepts it. Every read
/// of roles starts here.
pub fn held_roles(tenant_id: Uuid) -> sea_orm::Select<user_role::Entity> {
    scoped::<user_role::Entity>(tenant_id).filter(user_role::Column::AcceptedAt.is_not_null())
}

/// Writes the audit record of a change to a person's identity data (registration,
/// rectification, and every role change: grant, acceptance, refusal, revocation) with the
/// person as subject, so that the privacy officer sees it in the audit log and the person in
/// their own access log.
async fn audit_identity_change<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    person: Uuid,
    action: &'static str,
    purpose: &'static str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        now,
        AuditRecord {
            action,
            category: Some(Category::Identity),
            subject_id: Some(person),
            purpose,
            details: Some(details),
        },
    )
    .await
}

/// Role sets by person, from role rows (unknown role names are skipped).
fn role_sets(rows: Vec<user_role::Model>, into: &mut HashMap<Uuid, RoleSet>) {
    for r in rows {
        if let Some(role) = Role::parse(&r.role) {
            into.entry(r.user_id).or_default().insert(role);
        }
    }
}

async fn roles_of<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, RoleSet>> {
    let mut map: HashMap<Uuid, RoleSet> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows = held_roles(tenant_id)
        .filter(user_role::Column::UserId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    role_sets(rows, &mut map);
    Ok(map)
}

/// One user of the tenant with their roles, or `None` (also for other tenants' ids).
pub async fn find_record(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<UserRecord>> {
    Ok(find_records(services, tenant_id, &[id]).await?.pop())
}

/// Users of the tenant with their roles, in two queries whatever the number of ids.
pub async fn find_records(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<UserRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let users = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut roles = roles_of(&services.db, tenant_id, &ids).await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let r = roles.remove(&u.id).unwrap_or_default();
            UserRecord { user: u, roles: r }
        })
        .collect())
}

/// Who the actor is guardian of, and (once sessions exist) whom they teach.
pub async fn relations(services: &Services, actor: &Actor) -> AppResult<Relations> {
    let Some(me) = actor.user_id else { return Ok(Relations::default()) };
    let wards = wards_of(services, actor.tenant_id, me)
        .await?
        .into_iter()
        .map(|r| r.user.id)
        .collect::<HashSet<_>>();
    let learners = if actor.has(Role::Instructor) {
        super::learning::learners_of_instructor(services, actor.tenant_id, me).await?
    } else {
        HashSet::new()
    };
    Ok(Relations { wards, learners })
}

/// The wards of `guardian`: linked people who are minors today. Guardianship ends at 18 by
/// itself; a link to someone without a birth date grants nothing.
pub async fn wards_of(
    services: &Services,
    tenant_id: Uuid,
    guardian: Uuid,
) -> AppResult<Vec<UserRecord>> {
    Ok(wards_of_many(services, tenant_id, &[guardian]).await?.remove(&guardian).unwrap_or_default())
}

/// The wards of several guardians: three queries whatever their number.
pub async fn wards_of_many(
    services: &Services,
    tenant_id: Uuid,
    guardians: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<UserRecord>>> {
    let links = scoped::<guardian_link::Entity>(tenant_id)
        .filter(guardian_link::Column::GuardianId.is_in(guardians.iter().copied()))
        .all(&services.db)
        .await?;
    let minors: Vec<Uuid> = links.iter().map(|l| l.minor_id).collect();
    let today = today(services);
    let records: HashMap<Uuid, UserRecord> = find_records(services, tenant_id, &minors)
        .await?
        .into_iter()
        .filter(|r| r.user.birth_date.is_some_and(|b| super::types::is_minor(b, today)))
        .map(|r| (r.user.id, r))
        .collect();
    let mut out: HashMap<Uuid, Vec<UserRecord>> =
        guardians.iter().map(|g| (*g, Vec::new())).collect();
    for l in links {
        if let Some(r) = records.get(&l.minor_id) {
            out.entry(l.guardian_id).or_default().push(r.clone());
        }
    }
    Ok(out)
}

/// Links a guardian to a minor (support or the privacy officer, see
/// [`policy::may_manage_guardianship`]); grants the guardian role; audited.
pub async fn link_guardian(
    services: &Services,
    actor: &Actor,
    guardian: Uuid,
    minor: Uuid,
) -> AppResult<UserRecord> {
    if !policy::may_manage_guardianship(actor) {
        return Err(AppError::Forbidden);
    }
    if guardian == minor {
        return Err(AppError::bad_input("input.minorId", "must differ from guardianId"));
    }
    let g = find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)?;
    let m = find_record(services, actor.tenant_id, minor).await?.ok_or(AppError::NotFound)?;
    let today = today(services);
    if !m.user.birth_date.is_some_and(|b| super::types::is_minor(b, today)) {
        return Err(AppError::bad_input(
            "input.minorId",
            "is not a minor (birth date missing or 18 or over)",
        ));
    }
    let exists = scoped::<guardian_link::Entity>(actor.tenant_id)
        .filter(guardian_link::Column::GuardianId.eq(guardian))
        .filter(guardian_link::Column::MinorId.eq(minor))
        .one(&services.db)
        .await?
        .is_some();
    let now = services.clock.now();
    let (actor_c, needs_role) = (actor.clone(), !g.roles.has(Role::Guardian));
    if !exists {
        services
            .db
            .transaction::<_, _, AppError>(|txn| {
                Box::pin(async move {
                    guardian_link::Entity::insert(guardian_link::ActiveModel {
                        guardian_id: Set(guardian),
                        minor_id: Set(minor),
                        tenant_id: Set(actor_c.tenant_id),
                        created_at: Set(now),
                    })
                    .exec_without_returning(txn)
                    .await?;
                    if needs_role {
                        // The guardian role is a label (wards come from links); a grant of it
                        // still waiting for acceptance is simply put in effect by the link.
                        let pending = user_role::Entity::update_many()
                            .col_expr(user_role::Column::AcceptedAt, Expr::value(now))
                            .filter(role_row(actor_c.tenant_id, guardian, Role::Guardian))
                            .filter(user_role::Column::AcceptedAt.is_null())
                            .exec(txn)
                            .await?;
                        if pending.rows_affected == 0 {
                            insert_role(txn, actor_c.tenant_id, guardian, Role::Guardian, now, actor_c.user_id, true).await?;
                        }
                        // A role change, in the guardian's own access log too.
                        audit_identity_change(txn, &actor_c, now, guardian, "role.granted", Column::Support.purpose(), serde_json::json!({ "role": Role::Guardian.as_str(), "pending": false, "by": "guardianship.linked" }))
                        .await?;
                    }
                    audit::record(
                        txn,
                        &actor_c,
                        now,
                        AuditRecord {
                            action: "guardianship.linked",
                            category: Some(Category::BirthDate),
                            subject_id: Some(minor),
                            purpose: Column::Support.purpose(),
                            details: Some(serde_json::json!({ "guardian_id": guardian })),
                        },
                    )
                    .await
                })
            })
            .await
            .map_err(|e| AppError::from(e).unique_as_conflict("this guardianship was linked at the same time"))?;
    }
    find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)
}

/// Ends a guardianship (support or the privacy officer, as for [`link_guardian`]): the link
/// goes, and with the last link the guardian role. Relations are read per request, so the
/// guardian's very next request no longer reaches the ward. Audited with the minor as subject.
/// No such link → `NOT_FOUND`.
pub async fn unlink_guardian(
    services: &Services,
    actor: &Actor,
    guardian: Uuid,
    minor: Uuid,
) -> AppResult<UserRecord> {
    if !policy::may_manage_guardianship(actor) {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let actor_c = actor.clone();
    let purpose = if actor.has(Role::PrivacyOfficer) {
        Column::PrivacyOfficer.purpose()
    } else {
        Column::Support.purpose()
    };
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let gone = guardian_link::Entity::delete_many()
                    .filter(guardian_link::Column::TenantId.eq(actor_c.tenant_id))
                    .filter(guardian_link::Column::GuardianId.eq(guardian))
                    .filter(guardian_link::Column::MinorId.eq(minor))
                    .exec(txn)
                    .await?;
                if gone.rows_affected != 1 {
                    return Err(AppError::NotFound);
                }
                let others = scoped::<guardian_link::Entity>(actor_c.tenant_id)
                    .filter(guardian_link::Column::GuardianId.eq(guardian))
                    .one(txn)
                    .await?;
                if others.is_none() {
                    let gone = user_role::Entity::delete_many()
                        .filter(role_row(actor_c.tenant_id, guardian, Role::Guardian))
                        .exec(txn)
                        .await?;
                    if gone.rows_affected > 0 {
                        audit_identity_change(txn, &actor_c, now, guardian, "role.revoked", purpose, serde_json::json!({ "role": Role::Guardian.as_str(), "by": "guardianship.unlinked" }))
                        .await?;
                    }
                }
                audit::record(
                    txn,
                    &actor_c,
                    now,
                    AuditRecord {
                        action: "guardianship.unlinked",
                        category: Some(Category::BirthDate),
                        subject_id: Some(minor),
                        purpose,
                        details: Some(serde_json::json!({ "guardian_id": guardian })),
                    },
                )
                .await
            })
        })
        .await?;
    find_record(services, actor.tenant_id, guardian).await?.ok_or(AppError::NotFound)
}

/// A page of users visible to a staff actor, in id order, filtered by [`policy::user_rows`].
pub async fn list_users(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<(Vec<UserRecord>, bool)> {
    let mut q = scoped::<user::Entity>(actor.tenant_id);
    match policy::user_rows(actor, relations) {
        UserRows::None => return Err(AppError::Forbidden),
        UserRows::All => {}
        UserRows::Some { staff_accounts, consenting_to_marketing, learners } => {
            let mut allowed: HashSet<Uuid> = learners;
            if staff_accounts {
                let staff: Vec<&str> =
                    Role::ALL.iter().filter(|r| r.is_staff()).map(|r| r.as_str()).collect();
                allowed.extend(
                    held_roles(actor.tenant_id)
                        .filter(user_role::Column::Role.is_in(staff))
                        .all(&services.db)
                        .await?
                        .into_iter()
                        .map(|r| r.user_id),
                );
            }
            if consenting_to_marketing {
                let candidates: Vec<Uuid> = scoped::<user::Entity>(actor.tenant_id)
                    .filter(user::Column::Status.eq("active"))
                    .select_only()
                    .column(user::Column::Id)
                    .into_tuple()
                    .all(&services.db)
                    .await?;
                allowed.extend(
                    consent::given_for(
                        services,
                        actor.tenant_id,
                        &candidates,
                        Purpose::MarketingEmail,
                    )
                    .await?,
                );
            }
            q = q.filter(user::Column::Id.is_in(allowed));
        }
    }
    if let Some(a) = after {
        q = q.filter(user::Column::Id.gt(a));
    }
    let mut users = q.order_by_asc(user::Column::Id).limit(first + 1).all(&services.db).await?;
    let has_next = users.len() as u64 > first;
    users.truncate(first as usize);
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut roles = roles_of(&services.db, actor.tenant_id, &ids).await?;
    Ok((
        users
            .into_iter()
            .map(|u| {
                let r = roles.remove(&u.id).unwrap_or_default();
                UserRecord { user: u, roles: r }
            })
            .collect(),
        has_next,
    ))
}

/// Rectifies a profile (the subject, or a guardian for a ward). Every touched field must be
/// writable under the policy; the change and its audit record commit together.
pub async fn update_profile(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    target: Uuid,
    patch: ProfilePatch,
) -> AppResult<UserRecord> {
    let record = find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)?;
    let facts = record.facts();
    let fields = patch.touched_fields();
    if fields.is_empty() {
        return Err(AppError::bad_input("input", "names no field to change"));
    }
    // Every touched field must be writable; the column that grants the first one gives the
    // purpose recorded in the audit log (own data, guardianship).
    let mut column = None;
    for f in &fields {
        let granted = policy::granting_column(actor, relations, &facts, *f, Op::Write)
            .ok_or(AppError::Forbidden)?;
        column.get_or_insert(granted);
    }
    let column = column.ok_or(AppError::Forbidden)?;
    if let Patch::Set(email) = &patch.email
        && email_taken(&services.db, actor.tenant_id, email, Some(target)).await?
    {
        return Err(AppError::Conflict("another account uses this e-mail address".into()));
    }
    let now = services.clock.now();
    let mut m: user::ActiveModel = record.user.clone().into();
    match patch.civility {
        Patch::Keep => {}
        Patch::Clear => m.civility = Set(None),
        Patch::Set(c) => m.civility = Set(Some(c.as_str().to_owned())),
    }
    if let Patch::Set(n) = patch.first_name {
        m.first_name = Set(n.into_inner());
    }
    if let Patch::Set(n) = patch.last_name {
        m.last_name = Set(n.into_inner());
    }
    if let Patch::Set(e) = patch.email {
        m.email = Set(Some(e.into_inner()));
    }
    match patch.phone {
        Patch::Keep => {}
        Patch::Clear => m.phone = Set(None),
        Patch::Set(p) => m.phone = Set(Some(p.into_inner())),
    }
    match patch.postal_address {
        Patch::Keep => {}
        Patch::Clear => {
            m.address_line1 = Set(None);
            m.address_line2 = Set(None);
            m.postal_code = Set(None);
            m.city = Set(None);
            m.country = Set(None);
        }
        Patch::Set(a) => {
            m.address_line1 = Set(Some(a.line1));
            m.address_line2 = Set(a.line2);
            m.postal_code = Set(Some(a.postal_code));
            m.city = Set(Some(a.city));
            m.country = Set(Some(a.country));
        }
    }
    match patch.birth_date {
        Patch::Keep => {}
        Patch::Clear => m.birth_date = Set(None),
        Patch::Set(b) => m.birth_date = Set(Some(b.date())),
    }
    if let Patch::Set(l) = patch.locale {
        m.locale = Set(l.into_inner());
    }
    m.updated_at = Set(now);
    let names: Vec<&str> = fields.iter().map(|f| field_name(*f)).collect();
    let actor_c = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                m.update(txn).await?;
                audit_identity_change(
                    txn,
                    &actor_c,
                    now,
                    target,
                    "profile.rectified",
                    column.purpose(),
                    serde_json::json!({ "fields": names }),
                )
                .await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("another account uses this e-mail address")
        })?;
    find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)
}

fn field_name(f: DataField) -> &'static str {
    match f {
        DataField::Civility => "civility",
        DataField::FirstName => "firstName",
        DataField::LastName => "lastName",
        DataField::Email => "email",
        DataField::Phone => "phone",
        DataField::PostalAddress => "postalAddress",
        DataField::BirthDate => "birthDate",
        DataField::Locale => "locale",
        other => other.category().as_str(),
    }
}

/// Grants or revokes a role. Who may do which is [`policy::may_grant_role`] and
/// [`policy::may_revoke_role`]; a refused change is `FORBIDDEN` and writes nothing.
///
/// A grant is *pending*: it gives nothing until its holder accepts it ([`answer_role`]).
/// Revoking removes a pending grant or a held role and signs the user out everywhere, so the
/// change takes effect at once (also when they accept while it is being revoked). Every change is audited with the person as
/// subject, so the privacy officer and the person themselves (their access log) see it.
pub async fn set_role(
    services: &Services,
    actor: &Actor,
    target: Uuid,
    role: Role,
    granted: bool,
) -> AppResult<UserRecord> {
    let allowed = if granted {
        policy::may_grant_role(actor, target, role)
    } else {
        policy::may_revoke_role(actor, target, role)
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let record = find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)?;
    let row = scoped::<user_role::Entity>(actor.tenant_id)
        .filter(role_row(actor.tenant_id, target, role))
        .one(&services.db)
        .await?;
    if row.is_some() == granted {
        return Ok(record);
    }
    let held_before = row.as_ref().is_some_and(|r| r.accepted_at.is_some());
    let now = services.clock.now();
    let actor_c = actor.clone();
    let purpose = if actor.has(Role::PrivacyOfficer) {
        Column::PrivacyOfficer.purpose()
    } else {
        Column::Admin.purpose()
    };
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                if granted {
                    insert_role(txn, actor_c.tenant_id, target, role, now, actor_c.user_id, false).await?;
                } else {
                    let gone = user_role::Entity::delete_many()
                        .filter(role_row(actor_c.tenant_id, target, role))
                        .exec(txn)
                        .await?;
                    // Signed out whenever a row went, pending or not: the holder may have
                    // accepted it since it was read above, and a token must not outlive it.
                    if gone.rows_affected > 0 {
                        revoke_sessions(txn, actor_c.tenant_id, SessionScope::AllOf { user_id: target, except: None }, now, "role revoked")
                            .await?;
                    }
                }
                audit_identity_change(txn, &actor_c, now, target, if granted { "role.granted" } else { "role.revoked" }, purpose, serde_json::json!({ "role": role.as_str(), "pending": granted || !held_before }))
                .await
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict("this role was changed at the same time; try again"))?;
    find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)
}

/// The signed-in person accepts (or declines) a role granted to them. Accepting puts the
/// role in effect from their next token (refresh or log-in); declining removes the grant.
/// Audited either way. No pending grant of `role` → `NOT_FOUND`.
pub async fn answer_role(
    services: &Services,
    actor: &Actor,
    role: Role,
    accept: bool,
) -> AppResult<UserRecord> {
    let me = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let now = services.clock.now();
    let actor_c = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let pending = scoped::<user_role::Entity>(actor_c.tenant_id)
                    .filter(role_row(actor_c.tenant_id, me, role))
                    .filter(user_role::Column::AcceptedAt.is_null());
                let changed = if accept {
                    user_role::Entity::update_many()
                        .col_expr(user_role::Column::AcceptedAt, Expr::value(now))
                        .filter(role_row(actor_c.tenant_id, me, role))
                        .filter(user_role::Column::AcceptedAt.is_null())
                        .exec(txn)
                        .await?
                        .rows_affected
                } else {
                    match pending.one(txn).await? {
                        Some(_) => {
                            user_role::Entity::delete_many()
                                .filter(role_row(actor_c.tenant_id, me, role))
                                .filter(user_role::Column::AcceptedAt.is_null())
                                .exec(txn)
                                .await?
                                .rows_affected
                        }
                        None => 0,
                    }
                };
                if changed != 1 {
                    return Err(AppError::NotFound);
                }
                audit_identity_change(
                    txn,
                    &actor_c,
                    now,
                    me,
                    if accept { "role.accepted" } else { "role.declined" },
                    Column::Subject.purpose(),
                    serde_json::json!({ "role": role.as_str() }),
                )
                .await
            })
        })
        .await?;
    find_record(services, actor.tenant_id, me).await?.ok_or(AppError::NotFound)
}

/// The operator's grant (`pupitre grant-role <tenant> <email> <role>`), for what no one in the
/// tenant can do: the first privacy officer, or a new one when the last has left. Like any
/// grant it is pending until the person accepts it, and audited (actor: the operator).
pub async fn operator_grant(
    services: &Services,
    tenant_slug: &str,
    email: &str,
    role: Role,
) -> AppResult<()> {
    let tenant = services
        .tenants
        .by_slug(tenant_slug)
        .await?
        .ok_or_else(|| AppError::bad_input("tenant", "no such tenant"))?;
    let email = Email::parse("email", email)?;
    let user = scoped::<user::Entity>(tenant.id)
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&services.db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("email", "no account with this e-mail address in this tenant")
        })?;
    let exists = scoped::<user_role::Entity>(tenant.id)
        .filter(role_row(tenant.id, user.id, role))
        .one(&services.db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let now = services.clock.now();
    let operator = Actor::anonymous(tenant.id, "operator".into());
    let target = user.id;
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                insert_role(txn, operator.tenant_id, target, role, now, None, false).await?;
                audit_identity_change(
                    txn,
                    &operator,
                    now,
                    target,
                    "role.granted",
                    "operator",
                    serde_json::json!({ "role": role.as_str(), "pending": true, "by": "operator" }),
                )
                .await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e)
                .unique_as_conflict("this role was changed at the same time; try again")
        })
}

/// Roles granted to each of `ids` and not yet accepted.
pub async fn pending_roles_of(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, RoleSet>> {
    let rows = scoped::<user_role::Entity>(tenant_id)
        .filter(user_role::Column::UserId.is_in(ids.iter().copied()))
        .filter(user_role::Column::AcceptedAt.is_null())
        .all(&services.db)
        .await?;
    let mut map: HashMap<Uuid, RoleSet> = ids.iter().map(|id| (*id, RoleSet::default())).collect();
    role_sets(rows, &mut map);
    Ok(map)
}

/// Writes one audit record for a staff read (outside any transaction).
pub async fn audit_read(
    services: &Services,
    actor: &Actor,
    subject: Uuid,
    category: Category,
    column: Column,
) -> AppResult<()> {
    audit::record(
        &services.db,
        actor,
        services.clock.now(),
        AuditRecord {
            action: "personal_data.read",
            category: Some(category),
            subject_id: Some(subject),
            purpose: column.purpose(),
            details: None,
        },
    )
    .await
}

/// Today's date on the service clock (for birth-date checks).
pub fn today(services: &Services) -> NaiveDate {
    services.clock.now().date_naive()
}
