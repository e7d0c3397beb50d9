//! Accounts brought in whole by the platform operator (the demo people, or the people of an
//! organisation moving to Pupitre with the roles they already hold): each account in one
//! transaction, with what registration records (the tenant's current privacy policy accepted,
//! the marketing consent if given, `account.registered` in the audit log), the profile details
//! registration does not ask for, and its roles, granted by the operator and in effect at once
//! (`role.granted` by the operator, not pending: nobody has to sign in to accept them). No
//! session is opened.
//!
//! The checks are registration's (the policy version, a free e-mail address) and the
//! domain's types for every value; the password arrives already hashed, as an argon2id PHC
//! string (from [`hash_password`](super::hash_password), or kept by the previous platform),
//! and is refused if it is anything else. It never sees a plaintext password.

use sea_orm::{EntityTrait, TransactionTrait};
use uuid::Uuid;

use super::registration::{current_policy, email_taken};
use super::roles::insert_role;
use super::{AccountStatus, UserRecord, audit_identity_change, find_record, passwords};
use crate::domain::Services;
use crate::domain::consent::{self, Purpose};
use crate::domain::tenancy::Tenant;
use crate::domain::types::{BirthDate, Civility, Email, Locale, PersonName, Phone, PostalAddress};
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Role};

/// An account to import.
#[derive(Debug)]
pub struct AccountImport {
    pub email: Email,
    /// An argon2id PHC string; accounts that share a password may share its hash.
    pub password_hash: String,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub civility: Option<Civility>,
    pub locale: Locale,
    pub accepted_policy_version: String,
    pub marketing_email_consent: bool,
    pub phone: Option<Phone>,
    pub address: Option<PostalAddress>,
    pub birth_date: Option<BirthDate>,
    /// The roles the person holds (a learner only if listed).
    pub roles: Vec<Role>,
}

/// Where an imported consent comes from, in the consent record.
const SOURCE: &str = "import";
/// The audit purpose and request id of the operator's imports.
const OPERATOR: &str = "operator";

/// Imports one account into `tenant` (platform operator), in one transaction. `CONFLICT` when
/// the e-mail address is taken, `BAD_USER_INPUT` for a policy version that is not the current
/// one or a password hash that is not argon2id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id, user.id = tracing::field::Empty))]
pub async fn import_account(
    services: &Services,
    tenant: &Tenant,
    a: AccountImport,
) -> AppResult<UserRecord> {
    let policy = current_policy(services, tenant.id).await?.ok_or_else(|| {
        AppError::Conflict("this organisation has not published a privacy policy yet".into())
    })?;
    if policy.version != a.accepted_policy_version {
        return Err(AppError::bad_input(
            "acceptedPolicyVersion",
            format!("must be the current privacy-policy version ({})", policy.version),
        ));
    }
    if !passwords::is_argon2id_phc(&a.password_hash) {
        return Err(AppError::bad_input("passwordHash", "must be an argon2id PHC string"));
    }
    if email_taken(&services.db, tenant.id, &a.email, None).await? {
        return Err(AppError::Conflict(
            "an account with this e-mail address already exists".into(),
        ));
    }
    let now = services.clock.now();
    let id = Uuid::now_v7();
    tracing::Span::current().record("user.id", tracing::field::display(id));
    let address = a.address;
    let model = user::Model {
        id,
        tenant_id: tenant.id,
        email: Some(a.email.into_inner()),
        password_hash: Some(a.password_hash),
        civility: a.civility,
        first_name: a.first_name.into_inner(),
        last_name: a.last_name.into_inner(),
        phone: a.phone.map(Phone::into_inner),
        address_line1: address.as_ref().map(|x| x.line1.clone()),
        address_line2: address.as_ref().and_then(|x| x.line2.clone()),
        postal_code: address.as_ref().map(|x| x.postal_code.clone()),
        city: address.as_ref().map(|x| x.city.clone()),
        country: address.as_ref().map(|x| x.country.clone()),
        birth_date: a.birth_date.map(BirthDate::date),
        locale: a.locale.into_inner(),
        status: AccountStatus::Active,
        last_contact_at: Some(now),
        accepted_policy_version: Some(policy.version.clone()),
        display_name: None,
        accepted_policy_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    // One row per role, in a stable order.
    let mut roles = a.roles;
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    let operator = Actor::anonymous(tenant.id, OPERATOR.to_owned());
    let (marketing, version) = (a.marketing_email_consent, policy.version);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                user::Entity::insert(user::ActiveModel::from(model))
                    .exec_without_returning(txn)
                    .await?;
                if marketing {
                    consent::insert(
                        txn,
                        operator.tenant_id,
                        Some(id),
                        None,
                        Purpose::MarketingEmail,
                        true,
                        now,
                        SOURCE,
                        Some(version.clone()),
                        None,
                    )
                    .await?;
                }
                audit_identity_change(
                    txn,
                    &operator,
                    now,
                    id,
                    "account.registered",
                    OPERATOR,
                    serde_json::json!({ "accepted_policy_version": version, "by": OPERATOR }),
                )
                .await?;
                for role in roles {
                    insert_role(txn, operator.tenant_id, id, role, now, None, true).await?;
                    audit_identity_change(
                        txn,
                        &operator,
                        now,
                        id,
                        "role.granted",
                        OPERATOR,
                        serde_json::json!({ "role": role.as_str(), "pending": false, "by": OPERATOR }),
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e)
                .unique_as_conflict("an account with this e-mail address already exists")
        })?;
    find_record(services, tenant.id, id).await?.ok_or(AppError::NotFound)
}
