//! Tenants: the directory that resolves a request to exactly one tenant, and the one helper
//! that scopes every query to it.
//!
//! Row scoping by tenant happens here and nowhere else: services start their queries with
//! [`scoped`], so a row of another tenant is invisible even when its id is known.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::entities::{
    auth_session, consent_record, contact_request, course, course_tag, data_export,
    data_subject_request, data_subject_request_step, death_record, enrollment, eo_application,
    eo_document, erasure_gate, erasure_report, erasure_report_table, guardian_link, invoice,
    lesson, lesson_completion, live_class, live_class_attendance, marketing_suppression,
    newsletter_campaign, newsletter_subscription, order, order_line, outbox, password_token,
    payment_account, policy_acceptance, post_mortem_directive, privacy_policy, refund,
    retention_gate, retention_run, session, tenant, user, user_role,
};
use crate::error::{AppError, AppResult};
use crate::policy::retention;

/// Entities that belong to a tenant.
pub trait TenantOwned: EntityTrait {
    fn tenant_column() -> Self::Column;
}

/// Every entity with a `tenant_id` column is listed here, once.
macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column {
                $m::Column::TenantId
            }
        }
    )*};
}
tenant_owned!(
    user,
    user_role,
    guardian_link,
    auth_session,
    password_token,
    payment_account,
    policy_acceptance,
    consent_record,
    contact_request,
    privacy_policy,
    course,
    course_tag,
    session,
    lesson,
    enrollment,
    lesson_completion,
    live_class,
    live_class_attendance,
    order,
    order_line,
    refund,
    invoice,
    outbox,
    eo_application,
    eo_document,
    data_subject_request,
    data_subject_request_step,
    post_mortem_directive,
    erasure_report,
    erasure_report_table,
    erasure_gate,
    marketing_suppression,
    newsletter_subscription,
    newsletter_campaign,
    death_record,
    retention_run,
    retention_gate,
    data_export
);

/// `SELECT … FROM e WHERE tenant_id = ?`: the start of every tenant-bound query.
pub fn scoped<E: TenantOwned>(tenant_id: Uuid) -> Select<E> {
    E::find().filter(E::tenant_column().eq(tenant_id))
}

/// A join from `E` to `R` on `from = to`, limited to `R`'s rows of `tenant_id`: the scope of
/// [`scoped`] carried into a joined table.
pub fn join_within<E: EntityTrait, R: TenantOwned>(
    from: E::Column,
    to: R::Column,
    tenant_id: Uuid,
) -> sea_orm::RelationDef {
    use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
    E::belongs_to(R::default())
        .from(from)
        .to(to)
        .on_condition(move |_, joined| {
            Expr::col((joined, R::tenant_column())).eq(tenant_id).into_condition()
        })
        .into()
}

/// A tenant as requests see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub host: Option<String>,
    pub dpo_name: String,
    pub dpo_email: String,
    /// How long live-class recordings stay available after the class: 7 or 14 days.
    pub recording_retention_days: i64,
    /// The cells of the need-to-know matrix this organisation removed.
    pub narrowing: crate::policy::Narrowing,
    /// The language of new accounts that do not say theirs (`fr` unless set).
    pub default_locale: String,
    /// How long an unpaid order holds its seats, when the organisation set it (else the
    /// installation's `PUPITRE_ORDER_HOLD_SECS`).
    pub order_hold_secs: Option<i64>,
    /// Upload limits the organisation set below the installation's (`PUPITRE_UPLOAD_*`).
    pub upload_max_file_bytes: Option<usize>,
    pub upload_max_files: Option<usize>,
    /// The browser origins of the organisation's storefronts (CORS), as
    /// [`Origin`](super::types::Origin) writes them.
    pub cors_origins: Vec<String>,
}

impl Tenant {
    /// The organisation's upload limits, never above the installation's: (files per
    /// application, bytes per file).
    pub fn upload_limits(&self, max_files: usize, max_file_bytes: usize) -> (usize, usize) {
        (
            self.upload_max_files.map_or(max_files, |n| n.min(max_files)),
            self.upload_max_file_bytes.map_or(max_file_bytes, |n| n.min(max_file_bytes)),
        )
    }
}

impl From<tenant::Model> for Tenant {
    fn from(m: tenant::Model) -> Self {
        // The period the retention sweep applies (7 or 14 days, the default when unset).
        let days = retention::effective(&m.settings, retention::RuleId::Recording).days;
        Tenant {
            id: m.id,
            slug: m.slug,
            name: m.name,
            host: m.host,
            dpo_name: m.dpo_name,
            dpo_email: m.dpo_email,
            recording_retention_days: days,
            narrowing: crate::policy::Narrowing::from_json(m.settings.get("narrowed")),
            default_locale: m
                .settings
                .get("default_locale")
                .and_then(|v| v.as_str())
                .unwrap_or("fr")
                .to_owned(),
            order_hold_secs: m.settings.get("order_hold_secs").and_then(serde_json::Value::as_i64),
            upload_max_file_bytes: m
                .settings
                .get("upload_max_file_bytes")
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            upload_max_files: m
                .settings
                .get("upload_max_files")
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            cors_origins: m
                .settings
                .get("cors_origins")
                .and_then(serde_json::Value::as_array)
                .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        }
    }
}

/// The tenant's row, locked for the rest of `txn`: every read-modify-write of its `settings`
/// (narrowing, settings, retention overrides share the one JSON value) goes through here, so
/// a concurrent save cannot undo another.
pub async fn lock_row<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> AppResult<tenant::Model> {
    use sea_orm::QuerySelect as _;
    tenant::Entity::find_by_id(tenant_id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Whether the operator started offboarding this tenant (`settings.offboarding`).
pub fn offboarding(m: &tenant::Model) -> bool {
    m.settings.get("offboarding").and_then(serde_json::Value::as_bool).unwrap_or(false)
}

struct Cache {
    tenants: Vec<Arc<Tenant>>,
    loaded_at: Option<Instant>,
}

/// An in-memory copy of the (small, rarely changing) tenant table, refreshed every
/// [`TenantDirectory::TTL`] and on a miss, so resolving a tenant costs no SQL per request.
#[derive(Clone)]
pub struct TenantDirectory {
    db: DatabaseConnection,
    cache: Arc<RwLock<Cache>>,
}

/// How an anonymous request names its tenant.
#[derive(Clone, Debug, Default)]
pub struct TenantHint<'a> {
    pub header_slug: Option<&'a str>,
    pub host: Option<&'a str>,
    pub default_slug: Option<&'a str>,
}

impl TenantDirectory {
    pub const TTL: Duration = Duration::from_secs(30);
    const MISS_REFRESH: Duration = Duration::from_secs(1);

    pub fn new(db: DatabaseConnection) -> Self {
        TenantDirectory {
            db,
            cache: Arc::new(RwLock::new(Cache { tenants: Vec::new(), loaded_at: None })),
        }
    }

    async fn snapshot(&self, force_if_older_than: Option<Duration>) -> AppResult<Vec<Arc<Tenant>>> {
        {
            let c = self.cache.read().await;
            let fresh = c.loaded_at.is_some_and(|t| {
                let age = t.elapsed();
                age < Self::TTL && force_if_older_than.is_none_or(|f| age < f)
            });
            if fresh {
                return Ok(c.tenants.clone());
            }
        }
        let rows = tenant::Entity::find().all(&self.db).await?;
        // A tenant being offboarded answers nothing: no request, token, webhook or job reaches
        // it while its data is exported and destroyed (`platform::offboard`).
        let tenants: Vec<Arc<Tenant>> = rows
            .into_iter()
            .filter(|m| !offboarding(m))
            .map(|m| Arc::new(Tenant::from(m)))
            .collect();
        let mut c = self.cache.write().await;
        c.tenants = tenants.clone();
        c.loaded_at = Some(Instant::now());
        Ok(tenants)
    }

    /// Forgets the cached copy (after the seeder or an admin changed tenants).
    #[tracing::instrument(skip_all)]
    pub async fn invalidate(&self) {
        self.cache.write().await.loaded_at = None;
    }

    async fn find(&self, pred: impl Fn(&Tenant) -> bool) -> AppResult<Option<Arc<Tenant>>> {
        if let Some(t) = self.snapshot(None).await?.into_iter().find(|t| pred(t)) {
            return Ok(Some(t));
        }
        Ok(self.snapshot(Some(Self::MISS_REFRESH)).await?.into_iter().find(|t| pred(t)))
    }

    /// Every tenant (background jobs).
    #[tracing::instrument(skip_all)]
    pub async fn all(&self) -> AppResult<Vec<Arc<Tenant>>> {
        self.snapshot(None).await
    }

    #[tracing::instrument(skip_all, fields(tenant.id = %id))]
    pub async fn by_id(&self, id: Uuid) -> AppResult<Option<Arc<Tenant>>> {
        self.find(|t| t.id == id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_slug(&self, slug: &str) -> AppResult<Option<Arc<Tenant>>> {
        self.find(|t| t.slug == slug).await
    }

    /// Resolves an anonymous request: the `X-Pupitre-Tenant` header, else the host name, else
    /// `PUPITRE_DEFAULT_TENANT`, else the only tenant of a single-tenant installation.
    #[tracing::instrument(skip_all)]
    pub async fn resolve(&self, hint: &TenantHint<'_>) -> AppResult<Arc<Tenant>> {
        if let Some(slug) = hint.header_slug {
            return self.by_slug(slug).await?.ok_or(AppError::NotFound);
        }
        if let Some(host) = hint.host {
            let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
            if let Some(t) = self.find(|t| t.host.as_deref() == Some(host.as_str())).await? {
                return Ok(t);
            }
        }
        if let Some(slug) = hint.default_slug {
            return self.by_slug(slug).await?.ok_or(AppError::NotFound);
        }
        let all = self.snapshot(Some(Self::MISS_REFRESH)).await?;
        match all.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(AppError::NoTenant),
            _ => Err(AppError::bad_input(
                "X-Pupitre-Tenant",
                "this installation serves several tenants: name one with the X-Pupitre-Tenant header",
            )),
        }
    }
}

/// A tenant to create (platform operator).
#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: super::types::Slug,
    pub name: String,
    pub dpo_name: String,
    pub dpo_email: super::types::Email,
    pub host: Option<String>,
}

/// Creates a tenant and publishes its first privacy-policy version, in one transaction.
#[tracing::instrument(skip_all, fields(tenant.id = tracing::field::Empty))]
pub async fn create(
    services: &super::Services,
    new: NewTenant,
    policy_version: &str,
    policy_url: &str,
) -> AppResult<Tenant> {
    use sea_orm::{ActiveValue::Set, TransactionTrait};
    let now = services.clock.now();
    let id = Uuid::now_v7();
    tracing::Span::current().record("tenant.id", tracing::field::display(id));
    let model = tenant::Model {
        id,
        slug: new.slug.as_str().to_owned(),
        name: new.name,
        host: new.host,
        dpo_name: new.dpo_name,
        dpo_email: new.dpo_email.into_inner(),
        settings: serde_json::json!({ "recording_retention_days": 7 }),
        created_at: now,
    };
    let url = super::types::HttpsUrl::parse("policyUrl", policy_url)?.into_inner();
    let version = policy_version.to_owned();
    let m2 = model.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                tenant::Entity::insert(tenant::ActiveModel::from(m2.clone()))
                    .exec_without_returning(txn)
                    .await?;
                privacy_policy::Entity::insert(privacy_policy::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(id),
                    version: Set(version.clone()),
                    url: Set(url),
                    published_at: Set(now),
                })
                .exec_without_returning(txn)
                .await?;
                crate::domain::platform::log(
                    txn,
                    now,
                    "tenant.create",
                    &m2.slug,
                    serde_json::json!({ "name": m2.name, "host": m2.host, "policy_version": version }),
                )
                .await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("a tenant with this slug or host already exists")
        })?;
    services.tenants.invalidate().await;
    Ok(Tenant::from(model))
}
