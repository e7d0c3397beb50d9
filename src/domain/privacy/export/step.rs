//! The `export` step of access and portability requests, in two halves around the step's
//! transaction (see `requests::steps`): [`prepare`] builds and stores the file *before* the
//! transaction opens (it reads for a while, and on SQLite an open transaction would hold a
//! stale snapshot and fail to commit), and [`record`] writes the export's row and its audit
//! record *inside* it, with what marks the step done.
//!
//! Idempotent: a request whose export row exists is done ([`Prepared::AlreadyRecorded`]); a
//! build that fails stores nothing (its upload is aborted) and the step is retried with
//! backoff. Each build writes under its own export id, so two builds never overwrite each
//! other; a file whose row never committed is removed by [`super::expiry`].

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::archive::{self, Heading};
use super::texts::Lang;
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::tenancy::scoped;
use crate::entities::{
    data_export, data_subject_request as dsr, data_subject_request_step as step,
};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Category, Column};

/// How long an export stays downloadable.
pub const EXPORT_TTL_DAYS: i64 = 7;

/// What [`prepare`] did.
pub enum Prepared {
    /// The request's export exists: nothing to do.
    AlreadyRecorded,
    /// A new file is stored; its row is written by [`record`].
    Built(Box<data_export::Model>),
}

/// Where an export's file is stored (identifiers only).
pub fn storage_key(tenant_id: Uuid, export_id: Uuid) -> String {
    format!("exports/{}/{}", tenant_id.as_hyphenated(), export_id.as_hyphenated())
}

/// Builds and stores the export of the step's request, unless it exists.
#[tracing::instrument(skip_all, fields(tenant.id = %s.tenant_id, request.id = %s.request_id))]
pub async fn prepare(services: &Services, s: &step::Model) -> AppResult<Prepared> {
    let existing = scoped::<data_export::Entity>(s.tenant_id)
        .filter(data_export::Column::RequestId.eq(s.request_id))
        .count(&services.db)
        .await?;
    if existing > 0 {
        return Ok(Prepared::AlreadyRecorded);
    }
    let request = scoped::<dsr::Entity>(s.tenant_id)
        .filter(dsr::Column::Id.eq(s.request_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = accounts::find_record(services, s.tenant_id, request.subject_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tenant = services.tenants.by_id(s.tenant_id).await?.ok_or(AppError::NotFound)?;
    let now = services.clock.now();
    let export_id = Uuid::now_v7();
    let key = storage_key(s.tenant_id, export_id);
    let heading = Heading {
        subject_id: subject.user.id,
        subject_name: subject.user.display_name.clone(),
        generated_at: now,
        controller: tenant.name.clone(),
        dpo_email: tenant.dpo_email.clone(),
    };
    let lang = Lang::of_locale(Some(subject.user.locale.as_str()));
    let built = archive::build(services, s.tenant_id, &heading, lang, export_id, &key).await?;
    tracing::info!(export.id = %export_id, export.bytes = built.size_bytes, "export built");
    Ok(Prepared::Built(Box::new(data_export::Model {
        id: export_id,
        tenant_id: s.tenant_id,
        subject_id: subject.user.id,
        request_id: request.id,
        storage_key: key,
        size_bytes: i64::try_from(built.size_bytes).unwrap_or(i64::MAX),
        key_id: built.key.key_id,
        wrapped_key: built.key.wrapped_key,
        sealed_key: built.key.sealed_key,
        created_at: now,
        expires_at: now + Duration::days(EXPORT_TTL_DAYS),
    })))
}

/// Writes the export's row and its audit record in the step's transaction.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, request.id = %request.id))]
pub async fn record(
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &dsr::Model,
    prepared: Prepared,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Prepared::Built(row) = prepared else {
        return Ok(());
    };
    let (id, expires_at) = (row.id, row.expires_at);
    data_export::Entity::insert(data_export::ActiveModel::from(*row))
        .exec_without_returning(txn)
        .await?;
    audit::record(
        txn,
        actor,
        now,
        AuditRecord {
            action: "dsr.export_built",
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(request.subject_id),
            purpose: Column::PrivacyOfficer.purpose(),
            details: Some(
                json!({ "requestId": request.id, "exportId": id, "expiresAt": expires_at }),
            ),
        },
    )
    .await
}
