//! The demo people: each account is imported whole by the operator
//! (`accounts::import_account`: what registration records, the profile details, and the demo
//! roles in effect, one transaction per person), and guardians are linked to minors by support
//! (`accounts::link_guardian`). Every demo account has the demo password, hashed once per run.
//! An account whose e-mail exists is left as it is.

use sea_orm::{ColumnTrait, QueryFilter};

use super::data::{DemoTenant, DemoUser};
use super::{SeedReport, Seeder};
use crate::domain::accounts::{self, AccountImport};
use crate::domain::tenancy::scoped;
use crate::domain::types::{
    BirthDate, Civility, Email, Locale, Password, PersonName, Phone, PostalAddress,
};
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::policy::Role;

/// Accounts, roles and guardian links of the demo tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(s: &Seeder<'_>, t: &DemoTenant, report: &mut SeedReport) -> AppResult<()> {
    let policy = accounts::current_policy(s.services, s.tenant.id)
        .await?
        .ok_or_else(|| AppError::internal("seeding accounts", "no privacy policy in effect"))?;
    let mut password_hash: Option<String> = None;
    for u in &t.users {
        let email = Email::parse("users.email", &u.email)?;
        let found = scoped::<user::Entity>(s.tenant.id)
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&s.services.db)
            .await?;
        report.count(found.is_none());
        if found.is_some() {
            continue;
        }
        let hash = match &password_hash {
            Some(h) => h.clone(),
            None => {
                let h = accounts::hash_password(Password::parse("password", &t.password)?).await?;
                password_hash.insert(h).clone()
            }
        };
        let account = account(s, u, hash, &policy.version)?;
        accounts::import_account(s.services, &s.tenant, account).await?;
    }
    if t.guardians.is_empty() {
        return Ok(());
    }
    let (support, _) = s.holder_of(Role::Support).await?;
    for link in &t.guardians {
        let guardian = s.user_id(&link.guardian).await?;
        let minor = s.user_id(&link.minor).await?;
        // Idempotent: an existing link is left as it is.
        accounts::link_guardian(s.services, &support, guardian, minor).await?;
    }
    Ok(())
}

/// One demo person as the operator imports them, every value parsed like any input.
fn account(
    s: &Seeder<'_>,
    u: &DemoUser,
    password_hash: String,
    version: &str,
) -> AppResult<AccountImport> {
    let civility =
        match u.civility.as_deref() {
            Some(c) => Some(Civility::parse(c).ok_or_else(|| {
                AppError::bad_input("users.civility", "must be one of mr, ms, mx")
            })?),
            None => None,
        };
    let address = match &u.address {
        Some(a) => Some(PostalAddress::parse(
            "users.address",
            &a.line1,
            None,
            &a.postal_code,
            &a.city,
            &a.country,
        )?),
        None => None,
    };
    let today = accounts::today(s.services);
    let roles = u
        .roles
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| AppError::bad_input("users.roles", "unknown role")))
        .collect::<AppResult<Vec<Role>>>()?;
    Ok(AccountImport {
        email: Email::parse("users.email", &u.email)?,
        password_hash,
        first_name: PersonName::parse("users.first_name", &u.first_name)?,
        last_name: PersonName::parse("users.last_name", &u.last_name)?,
        civility,
        locale: Locale::parse("users.locale", &u.locale)?,
        accepted_policy_version: version.to_owned(),
        marketing_email_consent: u.marketing_email,
        phone: u.phone.as_deref().map(|p| Phone::parse("users.phone", p)).transpose()?,
        address,
        birth_date: u
            .birth_date
            .map(|b| BirthDate::parse("users.birth_date", b, today))
            .transpose()?,
        roles,
    })
}
