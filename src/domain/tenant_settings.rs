//! An organisation's settings through the API (issue 14, item 2): the admin changes its name,
//! the language of new accounts, how long an unpaid order holds its seats and the browser
//! origins of its storefronts (CORS, see `http::cors`), and lower the upload limits; the privacy officer changes the published DPO contact. Retention durations (the
//! recordings' 7 or 14 days among them) have their own mutation (`setRetentionPeriod`, the
//! privacy officer, within legal bounds). Each change is audited in the tenant's log and seen by
//! every request of this instance at once (other instances within the tenant directory's
//! refresh).

use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use super::Services;
use super::audit::{self, AuditRecord};
use super::types::{Email, Locale, Origin};
use crate::entities::tenant;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor};

/// Bounds of the order hold time, in minutes: long enough to pay, short enough not to block
/// seats for a day.
pub const HOLD_MINUTES: std::ops::RangeInclusive<i64> = 5..=1440;

/// The settings as the API shows them.
#[derive(Clone, Debug)]
pub struct View {
    pub name: String,
    pub host: Option<String>,
    pub dpo_name: String,
    pub dpo_email: String,
    pub default_locale: String,
    pub order_hold_minutes: i64,
    /// The limits in effect (the organisation's, else the installation's).
    pub upload_max_file_bytes: usize,
    pub upload_max_files: usize,
    /// The browser origins allowed to call the API (CORS).
    pub cors_origins: Vec<String>,
}

/// The most CORS origins one organisation lists (a few storefronts and their previews).
pub const MAX_CORS_ORIGINS: usize = 20;

/// A change; `None` leaves a setting as it is.
#[derive(Default)]
pub struct Patch {
    pub name: Option<String>,
    pub default_locale: Option<Locale>,
    pub order_hold_minutes: Option<i64>,
    /// At most the installation's limits (`PUPITRE_UPLOAD_MAX_FILE_BYTES`, `…_FILES`).
    pub upload_max_file_bytes: Option<usize>,
    pub upload_max_files: Option<usize>,
    /// Replaces the list; an empty list allows no browser origin (but the installation's).
    pub cors_origins: Option<Vec<Origin>>,
    /// The privacy officer's.
    pub dpo_name: Option<String>,
    pub dpo_email: Option<Email>,
}

/// The settings in effect, read through [`Tenant`](super::tenancy::Tenant) (the one place that
/// interprets the stored settings), the installation's values where the organisation set none.
fn view(services: &Services, t: &tenant::Model) -> View {
    let eff = super::tenancy::Tenant::from(t.clone());
    let docs = &services.documents;
    let (files, bytes) = eff.upload_limits(docs.max_files, docs.max_file_bytes);
    View {
        name: eff.name,
        host: eff.host,
        dpo_name: eff.dpo_name,
        dpo_email: eff.dpo_email,
        default_locale: eff.default_locale,
        order_hold_minutes: eff.order_hold_secs.unwrap_or(services.shop.hold_secs) / 60,
        upload_max_file_bytes: bytes,
        upload_max_files: files,
        cors_origins: eff.cors_origins,
    }
}

/// The actor's organisation's settings (admins and the privacy officer).
pub async fn read(services: &Services, actor: &Actor) -> AppResult<View> {
    if !policy::may_read_tenant_settings(actor) {
        return Err(AppError::Forbidden);
    }
    let t = tenant::Entity::find_by_id(actor.tenant_id)
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(view(services, &t))
}

/// Applies `patch`: the admin's settings need the admin role, the DPO contact the privacy
/// officer's; a field the actor may not change is `FORBIDDEN` and nothing changes. The host is
/// the operator's (`pupitre tenant update --host`): a host claimed through the API could take
/// the anonymous traffic of the installation's shared host or of another organisation.
pub async fn update(services: &Services, actor: &Actor, patch: Patch) -> AppResult<View> {
    let admin_part = patch.name.is_some()
        || patch.default_locale.is_some()
        || patch.order_hold_minutes.is_some()
        || patch.upload_max_file_bytes.is_some()
        || patch.upload_max_files.is_some()
        || patch.cors_origins.is_some();
    let dpo_part = patch.dpo_name.is_some() || patch.dpo_email.is_some();
    if !admin_part && !dpo_part {
        return Err(AppError::bad_input("input", "give at least one setting to change"));
    }
    if (admin_part && !policy::may_change_tenant_settings(actor))
        || (dpo_part && !policy::may_change_dpo_contact(actor))
    {
        return Err(AppError::Forbidden);
    }
    if let Some(m) = patch.order_hold_minutes
        && !HOLD_MINUTES.contains(&m)
    {
        return Err(AppError::bad_input(
            "input.orderHoldMinutes",
            format!("must be between {} and {}", HOLD_MINUTES.start(), HOLD_MINUTES.end()),
        ));
    }
    let docs = &services.documents;
    if let Some(n) = patch.upload_max_file_bytes
        && !(1024..=docs.max_file_bytes).contains(&n)
    {
        return Err(AppError::bad_input(
            "input.uploadMaxFileBytes",
            format!("must be between 1024 and {} (the installation's limit)", docs.max_file_bytes),
        ));
    }
    if let Some(n) = patch.upload_max_files
        && !(1..=docs.max_files).contains(&n)
    {
        return Err(AppError::bad_input(
            "input.uploadMaxFiles",
            format!("must be between 1 and {} (the installation's limit)", docs.max_files),
        ));
    }
    if patch.cors_origins.as_ref().is_some_and(|o| o.len() > MAX_CORS_ORIGINS) {
        return Err(AppError::bad_input(
            "input.corsOrigins",
            format!("at most {MAX_CORS_ORIGINS} origins"),
        ));
    }
    let now = services.clock.now();
    let a = actor.clone();
    let updated = services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let current = super::tenancy::lock_row(txn, a.tenant_id).await?;
                let mut next = current.clone();
                let mut changed: Vec<&str> = Vec::new();
                if let Some(n) = patch.name {
                    next.name = n;
                    changed.push("name");
                }
                if let Some(n) = patch.dpo_name {
                    next.dpo_name = n;
                    changed.push("dpo_name");
                }
                if let Some(e) = patch.dpo_email {
                    next.dpo_email = e.into_inner();
                    changed.push("dpo_email");
                }
                let mut settings = next.settings.as_object().cloned().unwrap_or_default();
                if let Some(l) = patch.default_locale {
                    settings.insert("default_locale".into(), l.into_inner().into());
                    changed.push("default_locale");
                }
                if let Some(m) = patch.order_hold_minutes {
                    settings.insert("order_hold_secs".into(), (m * 60).into());
                    changed.push("order_hold_minutes");
                }
                if let Some(n) = patch.upload_max_file_bytes {
                    settings.insert("upload_max_file_bytes".into(), n.into());
                    changed.push("upload_max_file_bytes");
                }
                if let Some(n) = patch.upload_max_files {
                    settings.insert("upload_max_files".into(), n.into());
                    changed.push("upload_max_files");
                }
                if let Some(list) = patch.cors_origins {
                    let mut list: Vec<String> = list.into_iter().map(Origin::into_inner).collect();
                    list.sort();
                    list.dedup();
                    settings.insert("cors_origins".into(), list.into());
                    changed.push("cors_origins");
                }
                next.settings = serde_json::Value::Object(settings);
                let mut m: tenant::ActiveModel = current.into();
                m.name = Set(next.name.clone());
                m.dpo_name = Set(next.dpo_name.clone());
                m.dpo_email = Set(next.dpo_email.clone());
                m.settings = Set(next.settings.clone());
                tenant::Entity::update(m).exec(txn).await?;
                audit::record(
                    txn,
                    &a,
                    now,
                    AuditRecord {
                        action: "tenant.settings_changed",
                        category: None,
                        subject_id: None,
                        purpose: "running the organisation's platform",
                        details: Some(serde_json::json!({ "changed": changed })),
                    },
                )
                .await?;
                Ok(next)
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("this host is used by another organisation")
        })?;
    services.tenants.invalidate().await;
    Ok(view(services, &updated))
}
