//! The demo data (`pupitre seed`, `pupitre serve --demo`, and every integration test): the
//! tenant of `seed/demo.json` with an account for every role, a minor and their guardian, the
//! catalogue of `seed/catalog.json`, enrollments with progress and paid orders, a recorded live
//! class, and equal-opportunity applications with their documents.
//!
//! Everything is made the way people would make it: through the domain services, each step by
//! the demo person whose role allows it (the operator and then the privacy officer grant roles,
//! the admin builds the catalogue, learners enroll and complete lessons, the reviewer decides),
//! so the policy checks, the audit log and every invariant apply to the demo as to real data.
//! Steps of the demo story that happened in the past run on a clock stopped at their date
//! ([`Seeder::at`]). What no service offers is written directly, always on rows of the demo
//! tenant, with the reason beside it: the tenant's settings and later privacy-policy versions
//! (here), the profile details registration does not ask for (`people`), and paid orders that
//! never reached Stripe (`orders`).
//!
//! Idempotent: what exists is left as it is (tenants by slug, accounts by e-mail, courses by slug
//! with everything under them, enrollments, live classes and applications by what they are of),
//! and the report counts what was created and what was found. Each service commits on its own,
//! so an interrupted run keeps what it made and the next run adds the rest.
//!
//! Demo data only: never run in production (`pupitre serve --demo` refuses it there).

mod applications;
mod catalog;
mod data;
mod enrollments;
mod orders;
mod people;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::tenancy::{self, NewTenant, Tenant, scoped};
use crate::domain::types::{Email, HttpsUrl, Slug};
use crate::domain::{Clock, Services, accounts, catalog as courses};
use crate::entities::enums::StoredRole;
use crate::entities::{course, lesson, privacy_policy, session, tenant, user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Relations, Role, retention};

/// The request id of every action of the seeder, in the audit log.
const REQUEST_ID: &str = "seed";

/// How long the demo tenant keeps live-class recordings (7 for a new tenant).
const RECORDING_RETENTION_DAYS: i64 = 14;

/// What a run of the seeder did: demo items (tenants, accounts, courses, enrollments, live
/// classes, applications) created, and found already there.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: usize,
    pub existing: usize,
}

impl SeedReport {
    fn count(&mut self, created: bool) {
        if created {
            self.created += 1;
        } else {
            self.existing += 1;
        }
    }
}

/// Loads the demo data; safe to run any number of times.
#[tracing::instrument(skip_all)]
pub async fn load_demo(services: &Services) -> AppResult<SeedReport> {
    let courses = data::catalog()?;
    let mut report = SeedReport::default();
    for t in data::demo()? {
        let (tenant, created) = ensure_tenant(services, &t).await?;
        report.count(created);
        let seeder = Seeder { services, tenant, now: services.clock.now() };
        people::load(&seeder, &t, &mut report).await?;
        catalog::load(&seeder, &courses, &mut report).await?;
        enrollments::load(&seeder, &t, &mut report).await?;
        enrollments::load_live_classes(&seeder, &t, &mut report).await?;
        applications::load(&seeder, &t, &mut report).await?;
        tracing::info!(tenant.id = %seeder.tenant.id, "demo tenant loaded");
    }
    services.tenants.invalidate().await;
    Ok(report)
}

/// The demo tenant, created with its first privacy policy on the day that policy was
/// published (`tenancy::create`), then given what no service sets: its recording retention and
/// the later policy versions. Returns the tenant and whether it was created now.
async fn ensure_tenant(services: &Services, t: &data::DemoTenant) -> AppResult<(Tenant, bool)> {
    let bad = |what: &'static str| AppError::internal("seeding the demo tenant", what);
    let existing = services.tenants.by_slug(&t.slug).await?;
    let created = existing.is_none();
    let tenant = match existing {
        Some(found) => (*found).clone(),
        None => {
            let first = t.policies.first().ok_or_else(|| bad("a tenant without a policy"))?;
            let new = NewTenant {
                slug: Slug::parse("tenants.slug", &t.slug)?,
                name: t.name.clone(),
                dpo_name: t.dpo_name.clone(),
                dpo_email: Email::parse("tenants.dpo_email", &t.dpo_email)?,
                host: None,
            };
            let on_first_policy = at(services, first.published_at);
            let created =
                tenancy::create(&on_first_policy, new, &first.version, &first.url).await?;
            // Direct write (`retention::set_period` needs a privacy officer, who does not exist
            // yet): the demo keeps recordings 14 days (a new tenant, 7); only this tenant's own
            // row is touched.
            let settings = retention::with_override(
                &serde_json::json!({}),
                retention::RuleId::Recording,
                RECORDING_RETENTION_DAYS,
            );
            tenant::Entity::update_many()
                .col_expr(tenant::Column::Settings, Expr::value(settings))
                .filter(tenant::Column::Id.eq(created.id))
                .exec(&services.db)
                .await?;
            Tenant { recording_retention_days: RECORDING_RETENTION_DAYS, ..created }
        }
    };
    for p in &t.policies {
        let published = scoped::<privacy_policy::Entity>(tenant.id)
            .filter(privacy_policy::Column::Version.eq(p.version.as_str()))
            .one(&services.db)
            .await?
            .is_some();
        if published {
            continue;
        }
        // Direct write: no service publishes a new policy version yet (only a tenant's first,
        // with `tenancy::create`). The row belongs to the demo tenant and keeps the version's
        // publication date, so registration asks for the version current on the day.
        privacy_policy::Entity::insert(privacy_policy::ActiveModel::from(privacy_policy::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant.id,
            version: p.version.clone(),
            url: HttpsUrl::parse("policies.url", &p.url)?.into_inner(),
            published_at: p.published_at,
        }))
        .exec_without_returning(&services.db)
        .await?;
    }
    services.tenants.invalidate().await;
    Ok((tenant, created))
}

/// `services` with the clock stopped at `when`: for a step of the demo story that happened in
/// the past (a booking, an application), so the services date it as they would have then.
fn at(services: &Services, when: DateTime<Utc>) -> Services {
    let mut then = services.clone();
    then.clock = Clock::from_fn(move || when);
    then
}

/// One demo tenant being loaded: the services, the tenant, and the moment the run started
/// (sessions and classes are dated relative to it).
struct Seeder<'a> {
    services: &'a Services,
    tenant: Tenant,
    now: DateTime<Utc>,
}

impl Seeder<'_> {
    /// The services with the clock stopped at `when` (see [`at`]).
    fn at(&self, when: DateTime<Utc>) -> Services {
        at(self.services, when)
    }

    /// The id of the demo account with this e-mail.
    async fn user_id(&self, email: &str) -> AppResult<Uuid> {
        let email = Email::parse("email", email)?;
        scoped::<user::Entity>(self.tenant.id)
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.services.db)
            .await?
            .map(|u| u.id)
            .ok_or_else(|| AppError::internal("seeding", "an e-mail the demo data does not create"))
    }

    /// A demo person acting, with the roles they hold now (as their next token would carry
    /// them) and their relations (wards, learners).
    async fn actor(&self, id: Uuid) -> AppResult<(Actor, Relations)> {
        let record = accounts::find_record(self.services, self.tenant.id, id)
            .await?
            .ok_or_else(|| AppError::internal("seeding", "a demo account went missing"))?;
        let actor = Actor::user(self.tenant.id, id, None, record.roles, REQUEST_ID.to_owned());
        let relations = accounts::relations(self.services, &actor).await?;
        Ok((actor, relations))
    }

    /// The demo person with this e-mail, acting (see [`Seeder::actor`]).
    async fn person(&self, email: &str) -> AppResult<(Actor, Relations)> {
        self.actor(self.user_id(email).await?).await
    }

    /// The first demo person who holds `role`, acting.
    async fn holder_of(&self, role: Role) -> AppResult<(Actor, Relations)> {
        let holder = accounts::held_roles(self.tenant.id)
            .filter(user_role::Column::Role.eq(StoredRole::from(role)))
            .one(&self.services.db)
            .await?
            .ok_or_else(|| {
                AppError::internal("seeding", format!("the demo data has no {}", role.as_str()))
            })?;
        self.actor(holder.user_id).await
    }

    /// A course of the demo catalogue, whatever its status.
    async fn course(&self, slug: &str) -> AppResult<course::Model> {
        courses::course_by_slug(self.services, self.tenant.id, slug, true)
            .await?
            .ok_or_else(|| AppError::internal("seeding", "a course slug the catalogue lacks"))
    }

    /// A course, its session number `index` in start order, and its lessons in order.
    async fn session(
        &self,
        slug: &str,
        index: usize,
    ) -> AppResult<(course::Model, session::Model, Vec<lesson::Model>)> {
        let c = self.course(slug).await?;
        let ids = [c.id];
        let s = courses::sessions_of(self.services, self.tenant.id, &ids)
            .await?
            .remove(&c.id)
            .and_then(|sessions| sessions.into_iter().nth(index))
            .ok_or_else(|| AppError::internal("seeding", "no such session index"))?;
        let lessons = courses::lessons_of(self.services, self.tenant.id, &ids)
            .await?
            .remove(&c.id)
            .unwrap_or_default();
        Ok((c, s, lessons))
    }
}
