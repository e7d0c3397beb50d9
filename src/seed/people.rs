//! The demo people: each account registers (`accounts::register`, accepting the current
//! privacy policy and, for some, marketing e-mail), its roles are granted and accepted as any
//! role is (the operator grants the first privacy officer, who grants the rest), and guardians
//! are linked to minors by support (`accounts::link_guardian`).
//!
//! Registration opens a session and gives the learner role; the seeder signs every new account
//! out again (nobody holds those tokens) and takes the learner role back from staff accounts
//! the demo does not list as learners, so each account ends with exactly its demo roles.

use std::collections::HashSet;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::data::{DemoTenant, DemoUser};
use super::{REQUEST_ID, SeedReport, Seeder};
use crate::domain::accounts::{self, Registration};
use crate::domain::tenancy::scoped;
use crate::domain::types::{
    BirthDate, Civility, Email, Locale, Password, PersonName, Phone, PostalAddress,
};
use crate::entities::{auth_session, user};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Role};

/// Accounts, roles and guardian links of the demo tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant.id))]
pub(super) async fn load(s: &Seeder<'_>, t: &DemoTenant, report: &mut SeedReport) -> AppResult<()> {
    let policy = accounts::current_policy(s.services, s.tenant.id)
        .await?
        .ok_or_else(|| AppError::internal("seeding accounts", "no privacy policy in effect"))?;
    let mut registered = HashSet::new();
    for u in &t.users {
        let email = Email::parse("users.email", &u.email)?;
        let found = scoped::<user::Entity>(s.tenant.id)
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&s.services.db)
            .await?;
        if found.is_none() {
            register(s, u, &t.password, &policy.version).await?;
            registered.insert(u.email.as_str());
        }
        report.count(found.is_none());
    }
    grant_roles(s, t).await?;
    drop_registration_role(s, t, &registered).await?;
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

/// Registers one demo person, as the `register` mutation does, then adds the details
/// registration does not ask for and signs them out.
async fn register(s: &Seeder<'_>, u: &DemoUser, password: &str, version: &str) -> AppResult<()> {
    let civility =
        match u.civility.as_deref() {
            Some(c) => Some(Civility::parse(c).ok_or_else(|| {
                AppError::bad_input("users.civility", "must be one of mr, ms, mx")
            })?),
            None => None,
        };
    let reg = Registration {
        email: Email::parse("users.email", &u.email)?,
        password: Password::parse("password", password)?,
        first_name: PersonName::parse("users.first_name", &u.first_name)?,
        last_name: PersonName::parse("users.last_name", &u.last_name)?,
        civility,
        locale: Locale::parse("users.locale", &u.locale)?,
        accepted_policy_version: version.to_owned(),
        marketing_email_consent: u.marketing_email,
    };
    let signed = accounts::register(s.services, &s.tenant, reg, REQUEST_ID, None).await?;
    let id = signed.user.user.id;
    add_details(s, id, u).await?;
    sign_out(s, id).await
}

/// Phone, postal address and birth date, parsed like any input.
///
/// Direct write: registration asks for none of them, and a rectification
/// (`accounts::update_profile`) would put a `profile.rectified` entry in the person's own access
/// log for a change nobody made. They belong to the account as the demo creates it, so they are
/// written on the new user's row of the demo tenant, right after registration.
async fn add_details(s: &Seeder<'_>, id: Uuid, u: &DemoUser) -> AppResult<()> {
    let phone = u.phone.as_deref().map(|p| Phone::parse("users.phone", p)).transpose()?;
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
    let birth = u.birth_date.map(|b| BirthDate::parse("users.birth_date", b, today)).transpose()?;
    if phone.is_none() && address.is_none() && birth.is_none() {
        return Ok(());
    }
    let mut q = user::Entity::update_many()
        .filter(user::Column::TenantId.eq(s.tenant.id))
        .filter(user::Column::Id.eq(id));
    if let Some(p) = phone {
        q = q.col_expr(user::Column::Phone, Expr::value(p.into_inner()));
    }
    if let Some(a) = address {
        q = q
            .col_expr(user::Column::AddressLine1, Expr::value(a.line1))
            .col_expr(user::Column::AddressLine2, Expr::value(a.line2))
            .col_expr(user::Column::PostalCode, Expr::value(a.postal_code))
            .col_expr(user::Column::City, Expr::value(a.city))
            .col_expr(user::Column::Country, Expr::value(a.country));
    }
    if let Some(b) = birth {
        q = q.col_expr(user::Column::BirthDate, Expr::value(b.date()));
    }
    q.exec(&s.services.db).await?;
    Ok(())
}

/// Closes the session registration opened (its tokens were thrown away), as a log-out
/// everywhere would.
async fn sign_out(s: &Seeder<'_>, id: Uuid) -> AppResult<()> {
    let open = scoped::<auth_session::Entity>(s.tenant.id)
        .filter(auth_session::Column::UserId.eq(id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .one(&s.services.db)
        .await?;
    if let Some(session) = open {
        let (me, _) = s.actor(id).await?;
        let me = Actor { session_id: Some(session.id), ..me };
        accounts::logout(s.services, &me, true).await?;
    }
    Ok(())
}

/// Every demo role not held yet is granted and accepted. Nobody in a new tenant may grant the
/// privacy officer's role, so the operator does (as `pupitre grant-role` would); the privacy
/// officer then grants the others (and the operator what the privacy officer may not grant
/// themselves).
async fn grant_roles(s: &Seeder<'_>, t: &DemoTenant) -> AppResult<()> {
    let roles = |u: &DemoUser| -> AppResult<Vec<Role>> {
        u.roles
            .iter()
            .map(|r| {
                Role::parse(r).ok_or_else(|| AppError::bad_input("users.roles", "unknown role"))
            })
            .collect()
    };
    for u in &t.users {
        if roles(u)?.contains(&Role::PrivacyOfficer) {
            ensure_role(s, &u.email, Role::PrivacyOfficer, None).await?;
        }
    }
    let (officer, _) = s.holder_of(Role::PrivacyOfficer).await?;
    for u in &t.users {
        let id = s.user_id(&u.email).await?;
        let by = (officer.user_id != Some(id)).then_some(&officer);
        for role in roles(u)? {
            ensure_role(s, &u.email, role, by).await?;
        }
    }
    Ok(())
}

/// Grants `role` to the person with `email` (by `by`, or by the operator) unless they hold it
/// or a grant of it waits, then accepts it as that person.
async fn ensure_role(s: &Seeder<'_>, email: &str, role: Role, by: Option<&Actor>) -> AppResult<()> {
    let (holder, _) = s.person(email).await?;
    if holder.has(role) {
        return Ok(());
    }
    let id = holder.user_id.ok_or(AppError::Unauthenticated)?;
    let pending = accounts::pending_roles_of(s.services, s.tenant.id, &[id])
        .await?
        .get(&id)
        .is_some_and(|p| p.has(role));
    if !pending {
        match by {
            Some(grantor) => {
                accounts::set_role(s.services, grantor, id, role, true).await?;
            }
            None => accounts::operator_grant(s.services, &s.tenant.slug, email, role).await?,
        }
    }
    accounts::answer_role(s.services, &holder, role, true).await?;
    Ok(())
}

/// Registration makes everyone a learner; staff accounts the demo does not list as learners
/// give that role back (revoked by the privacy officer, or by an admin for the privacy officer,
/// since nobody revokes their own roles). Only accounts registered in this run.
async fn drop_registration_role(
    s: &Seeder<'_>,
    t: &DemoTenant,
    registered: &HashSet<&str>,
) -> AppResult<()> {
    let (officer, _) = s.holder_of(Role::PrivacyOfficer).await?;
    for u in t.users.iter().filter(|u| registered.contains(u.email.as_str())) {
        if u.roles.iter().any(|r| r == Role::Learner.as_str()) {
            continue;
        }
        let id = s.user_id(&u.email).await?;
        let by = if officer.user_id == Some(id) {
            s.holder_of(Role::Admin).await?.0
        } else {
            officer.clone()
        };
        accounts::set_role(s.services, &by, id, Role::Learner, false).await?;
    }
    Ok(())
}
