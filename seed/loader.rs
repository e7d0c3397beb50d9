//! Loads the demo data of `seed/demo.json` (compiled into the binary): one tenant with an
//! account for every role and a minor with a guardian. Idempotent: existing tenants, users,
//! roles and links (matched by slug and e-mail) are left as they are.
//!
//! Demo data only; never run in production (`pupitre serve --demo` refuses it there).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::accounts::hash_password;
use crate::domain::consent::{self, Purpose};
use crate::domain::types::Password;
use crate::entities::{guardian_link, privacy_policy, tenant, user, user_role};
use crate::error::{AppError, AppResult};

const DEMO: &str = include_str!("demo.json");

#[derive(Deserialize)]
struct Demo {
    tenants: Vec<DemoTenant>,
}

#[derive(Deserialize)]
struct DemoTenant {
    slug: String,
    name: String,
    dpo_name: String,
    dpo_email: String,
    policies: Vec<DemoPolicy>,
    password: String,
    users: Vec<DemoUser>,
    guardians: Vec<DemoLink>,
}

#[derive(Deserialize)]
struct DemoPolicy {
    version: String,
    url: String,
    published_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct DemoUser {
    email: String,
    civility: Option<String>,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    address: Option<DemoAddress>,
    birth_date: Option<NaiveDate>,
    locale: String,
    roles: Vec<String>,
    #[serde(default)]
    marketing_email: bool,
}

#[derive(Deserialize)]
struct DemoAddress {
    line1: String,
    postal_code: String,
    city: String,
    country: String,
}

#[derive(Deserialize)]
struct DemoLink {
    guardian: String,
    minor: String,
}

/// What a run of the seeder did.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: usize,
    pub existing: usize,
}

/// Loads the demo data; safe to run any number of times.
pub async fn load_demo(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<SeedReport> {
    let demo: Demo = serde_json::from_str(DEMO).map_err(|e| AppError::internal("reading seed/demo.json", e))?;
    let mut report = SeedReport::default();
    for t in demo.tenants {
        let txn = db.begin().await?;
        let tenant_id = match tenant::Entity::find().filter(tenant::Column::Slug.eq(t.slug.as_str())).one(&txn).await? {
            Some(existing) => {
                report.existing += 1;
                existing.id
            }
            None => {
                let id = Uuid::now_v7();
                tenant::Entity::insert(tenant::ActiveModel {
                    id: Set(id),
                    slug: Set(t.slug.clone()),
                    name: Set(t.name.clone()),
                    host: Set(None),
                    dpo_name: Set(t.dpo_name.clone()),
                    dpo_email: Set(t.dpo_email.clone()),
                    settings: Set(serde_json::json!({ "recording_retention_days": 14 })),
                    created_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
                report.created += 1;
                id
            }
        };
        let current_version = t.policies.iter().max_by_key(|p| p.published_at).map(|p| p.version.clone());
        for p in &t.policies {
            let exists = privacy_policy::Entity::find()
                .filter(privacy_policy::Column::TenantId.eq(tenant_id))
                .filter(privacy_policy::Column::Version.eq(p.version.as_str()))
                .one(&txn)
                .await?
                .is_some();
            if !exists {
                privacy_policy::Entity::insert(privacy_policy::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    version: Set(p.version.clone()),
                    url: Set(p.url.clone()),
                    published_at: Set(p.published_at),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        let password_hash = hash_password(Password::parse("password", &t.password)?).await?;
        for u in &t.users {
            let found = user::Entity::find()
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user::Column::Email.eq(u.email.as_str()))
                .one(&txn)
                .await?;
            let user_id = match found {
                Some(f) => {
                    report.existing += 1;
                    f.id
                }
                None => {
                    let id = Uuid::now_v7();
                    user::Entity::insert(user::ActiveModel {
                        id: Set(id),
                        tenant_id: Set(tenant_id),
                        email: Set(Some(u.email.clone())),
                        password_hash: Set(Some(password_hash.clone())),
                        civility: Set(u.civility.clone()),
                        first_name: Set(u.first_name.clone()),
                        last_name: Set(u.last_name.clone()),
                        phone: Set(u.phone.clone()),
                        address_line1: Set(u.address.as_ref().map(|a| a.line1.clone())),
                        address_line2: Set(None),
                        postal_code: Set(u.address.as_ref().map(|a| a.postal_code.clone())),
                        city: Set(u.address.as_ref().map(|a| a.city.clone())),
                        country: Set(u.address.as_ref().map(|a| a.country.clone())),
                        birth_date: Set(u.birth_date),
                        locale: Set(u.locale.clone()),
                        status: Set("active".into()),
                        last_contact_at: Set(Some(now)),
                        accepted_policy_version: Set(current_version.clone()),
                        display_name: Set(None),
                        accepted_policy_at: Set(Some(now)),
                        created_at: Set(now),
                        updated_at: Set(now),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                    if u.marketing_email {
                        consent::insert(&txn, tenant_id, Some(id), None, Purpose::MarketingEmail, true, now, "seed", current_version.clone(), None)
                            .await?;
                    }
                    report.created += 1;
                    id
                }
            };
            for role in &u.roles {
                let has = user_role::Entity::find_by_id((user_id, role.clone())).one(&txn).await?.is_some();
                if !has {
                    user_role::Entity::insert(user_role::ActiveModel {
                        user_id: Set(user_id),
                        role: Set(role.clone()),
                        tenant_id: Set(tenant_id),
                        granted_at: Set(now),
                        granted_by: Set(None),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                }
            }
        }
        for link in &t.guardians {
            let find = |email: &str| {
                user::Entity::find()
                    .filter(user::Column::TenantId.eq(tenant_id))
                    .filter(user::Column::Email.eq(email.to_owned()))
                    .one(&txn)
            };
            let (Some(g), Some(m)) = (find(&link.guardian).await?, find(&link.minor).await?) else {
                return Err(AppError::internal("seeding guardian links", "unknown e-mail in seed/demo.json"));
            };
            if guardian_link::Entity::find_by_id((g.id, m.id)).one(&txn).await?.is_none() {
                guardian_link::Entity::insert(guardian_link::ActiveModel {
                    guardian_id: Set(g.id),
                    minor_id: Set(m.id),
                    tenant_id: Set(tenant_id),
                    created_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        txn.commit().await?;
    }
    Ok(report)
}
