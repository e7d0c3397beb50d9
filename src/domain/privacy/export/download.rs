//! Getting an export: the exports of requests (for the request node), a download link for
//! someone the policy lets fetch it, and the download itself, decrypted as it streams out.
//! Who may: `policy::requests::may_download_export` (the subject, their guardian, the privacy
//! officer); everyone else, and any bad, expired or foreign link, gets `NOT_FOUND`. Every
//! download is audited before a byte leaves.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::links::{self, LinkClaims};
use super::sealing::{DataKey, Opener, StoredKey};
use crate::domain::Services;
use crate::domain::accounts;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::equal_opportunity::vault::VaultError;
use crate::domain::tenancy::scoped;
use crate::entities::data_export;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, DataField, Op, Relations};

/// The unexpired export of each of `requests` that has one (one query).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, batch.size = requests.len()))]
pub async fn of_requests(
    services: &Services,
    tenant_id: Uuid,
    requests: &[Uuid],
) -> AppResult<HashMap<Uuid, data_export::Model>> {
    let now = services.clock.now();
    Ok(scoped::<data_export::Entity>(tenant_id)
        .filter(data_export::Column::RequestId.is_in(requests.iter().copied()))
        .filter(data_export::Column::ExpiresAt.gt(now))
        .all(&services.db)
        .await?
        .into_iter()
        .map(|e| (e.request_id, e))
        .collect())
}

/// A download link: the path (relative to the API's origin) and when it stops working.
pub struct Link {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A link for `actor` to download `export`, if the policy lets them fetch it.
#[tracing::instrument(skip_all, fields(tenant.id = %actor.tenant_id, export.id = %export.id))]
pub async fn link(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    export: &data_export::Model,
) -> AppResult<Link> {
    let subject = accounts::find_record(services, actor.tenant_id, export.subject_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if export.tenant_id != actor.tenant_id
        || !policy::requests::may_download_export(actor, relations, &subject.facts())
    {
        return Err(AppError::Forbidden);
    }
    let now = services.clock.now();
    let (token, until) = links::mint(services, actor, export.id, now).ok_or(AppError::Forbidden)?;
    Ok(Link {
        url: format!("/exports/{}?token={token}", export.id),
        expires_at: until.min(export.expires_at),
    })
}

/// An export on its way out.
pub struct Download {
    pub size_bytes: u64,
    pub created_at: DateTime<Utc>,
    /// The ZIP, decrypted frame by frame.
    pub body: BoxStream<'static, Result<Bytes, AppError>>,
}

/// The download behind a link: checks the token, the session, the policy; audits; streams.
#[tracing::instrument(skip_all, fields(export.id = %export_id))]
pub async fn download(
    services: &Services,
    export_id: Uuid,
    token: &str,
    request_id: String,
) -> AppResult<Download> {
    let now = services.clock.now();
    let claims: LinkClaims =
        links::verify(services, token, export_id, now).ok_or(AppError::NotFound)?;
    let export = scoped::<data_export::Entity>(claims.t)
        .filter(data_export::Column::Id.eq(export_id))
        .filter(data_export::Column::ExpiresAt.gt(now))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = claims.actor(request_id);
    if let Some(sid) = actor.session_id
        && !accounts::session_is_open(services, claims.t, sid, claims.u).await?
    {
        return Err(AppError::NotFound);
    }
    let relations = accounts::relations(services, &actor).await?;
    let subject = accounts::find_record(services, claims.t, export.subject_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let facts = subject.facts();
    if !policy::requests::may_download_export(&actor, &relations, &facts) {
        return Err(AppError::NotFound);
    }
    let column =
        policy::granting_column(&actor, &relations, &facts, DataField::RequestDetails, Op::Read)
            .ok_or(AppError::NotFound)?;
    audit::record(
        &services.db,
        &actor,
        now,
        AuditRecord {
            action: "export.downloaded",
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(export.subject_id),
            purpose: column.purpose(),
            details: Some(json!({ "exportId": export.id, "requestId": export.request_id })),
        },
    )
    .await?;
    let stored = StoredKey {
        key_id: export.key_id.clone(),
        wrapped_key: export.wrapped_key.clone(),
        sealed_key: export.sealed_key.clone(),
    };
    let key = DataKey::open(&services.documents.keys, export.id, &stored)
        .map_err(|e| AppError::internal("opening an export key", e))?;
    let inner =
        services.documents.store.stream(&export.storage_key).await.map_err(|e| match e {
            VaultError::Missing => AppError::Corrupted("the export's file is missing"),
            other => AppError::internal("reading an export", other),
        })?;
    Ok(Download {
        size_bytes: u64::try_from(export.size_bytes).unwrap_or_default(),
        created_at: export.created_at,
        body: decrypting(inner, Opener::new(&key, export.id)),
    })
}

fn tampered(e: VaultError) -> AppError {
    tracing::error!(error = %e, "an export file failed its integrity check");
    AppError::Corrupted("the export's file failed its integrity check")
}

/// The plaintext of a sealed stream; an error ends it.
fn decrypting(
    inner: BoxStream<'static, Result<Bytes, VaultError>>,
    opener: Opener,
) -> BoxStream<'static, Result<Bytes, AppError>> {
    futures_util::stream::unfold(Some((inner, opener)), |state| async move {
        let (mut inner, mut opener) = state?;
        loop {
            match inner.next().await {
                Some(Ok(chunk)) => match opener.push(&chunk) {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Some((Ok(Bytes::from(out)), Some((inner, opener)))),
                    Err(e) => return Some((Err(tampered(e)), None)),
                },
                Some(Err(e)) => {
                    return Some((Err(AppError::internal("reading an export", e)), None));
                }
                None => {
                    return Some((opener.finish().map(Bytes::from).map_err(tampered), None));
                }
            }
        }
    })
    .boxed()
}
