//! Registration: a new learner account, created with its acceptance of the tenant's current
//! privacy policy (and the marketing consent if given) and signed in at once.
//!
//! An answer that an e-mail address is taken tells whether an account exists, so registration
//! is throttled per client like log-in; it never says more than `CONFLICT`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::sessions::{SignIn, open_session, sign_in};
use super::throttle::{throttle, throttle_key};
use super::{AccountStatus, audit_identity_change, find_record, passwords, roles::insert_role};
use crate::domain::Services;
use crate::domain::consent::{self, Purpose};
use crate::domain::tenancy::{Tenant, scoped};
use crate::domain::types::{Civility, Email, Locale, Password, PersonName};
use crate::entities::{login_failure, privacy_policy, user};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column, Role, RoleSet};

/// Hashes a password with argon2id (for the seeder and account creation).
#[tracing::instrument(skip_all)]
pub async fn hash_password(password: Password) -> AppResult<String> {
    passwords::hash(password).await
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

/// The tenant's current privacy-policy version (the latest published).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
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

pub(super) async fn email_taken<C: ConnectionTrait>(
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
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id))]
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
        civility: reg.civility,
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
        status: AccountStatus::Active,
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
                crate::domain::policy_versions::record_acceptance(
                    txn,
                    actor.tenant_id,
                    id,
                    &version,
                    now,
                )
                .await?;
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
