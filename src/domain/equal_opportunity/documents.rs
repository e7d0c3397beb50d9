//! Supporting documents: upload (every file checked by size and content, then sealed by the
//! [`vault`](super::vault) before it is stored), download by those the policy lets read them
//! (staff downloads audited first), the listing for the loaders, and the removal of blobs whose
//! rows are gone.
//!
//! Plaintext stays in memory; this module must never log a file name or any content.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::reads::visible;
use super::{ApplicationStatus, DocumentConfig, DocumentKind, IncomingFile, require, vault};
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::batch::group;
use crate::domain::tenancy::scoped;
use crate::entities::{eo_application, eo_document};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, Category, DataField, Decision, Op, Relations};

/// Moves the retention clock of an application's documents with the application's.
pub(super) async fn touch_documents<C: ConnectionTrait>(
    conn: &C,
    application: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    eo_document::Entity::update_many()
        .col_expr(eo_document::Column::LastContactAt, Expr::value(now))
        .filter(eo_document::Column::ApplicationId.eq(application))
        .exec(conn)
        .await?;
    Ok(())
}

/// Attaches documents to a draft or submitted application. Every file is checked first (count,
/// size, type by magic bytes: PDF, JPEG, PNG); one bad file refuses them all with
/// `BAD_USER_INPUT` naming `input.files.<index>`, and nothing is stored.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    application.id = %id,
))]
pub async fn add_documents(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    id: Uuid,
    kind: DocumentKind,
    files: Vec<IncomingFile>,
) -> AppResult<Vec<eo_document::Model>> {
    let cfg = &services.documents;
    // The organisation's own limits, never above the installation's.
    let (max_files, max_file_bytes) = match services.tenants.by_id(actor.tenant_id).await? {
        Some(t) => t.upload_limits(cfg.max_files, cfg.max_file_bytes),
        None => (cfg.max_files, cfg.max_file_bytes),
    };
    let rec = visible(services, actor, relations, id).await?;
    if !policy::acts_for(actor, relations, rec.application.applicant_id) {
        return Err(AppError::Forbidden);
    }
    require(policy::decide(actor, relations, &rec.facts(), DataField::Documents, Op::Write))?;
    if !matches!(rec.application.status, ApplicationStatus::Draft | ApplicationStatus::Submitted) {
        return Err(AppError::Conflict("documents can be added until the review starts".into()));
    }
    if files.is_empty() {
        return Err(AppError::bad_input("input.files", "attach at least one file"));
    }
    let existing = scoped::<eo_document::Entity>(actor.tenant_id)
        .filter(eo_document::Column::ApplicationId.eq(id))
        .count(&services.db)
        .await? as usize;
    if existing + files.len() > max_files {
        return Err(AppError::bad_input(
            "input.files",
            format!("an application holds at most {max_files} files ({existing} already)"),
        ));
    }
    let mut checked = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let field = format!("input.files.{i}");
        if f.content.is_empty() {
            return Err(AppError::bad_input(field, "the file is empty"));
        }
        if f.content.len() > max_file_bytes {
            return Err(AppError::bad_input(
                field,
                format!("the file is larger than {max_file_bytes} bytes"),
            ));
        }
        let Some(kind_of_content) = vault::sniff(&f.content) else {
            return Err(AppError::bad_input(
                field,
                "only PDF, JPEG and PNG files are accepted (decided from the content)",
            ));
        };
        let name: String = f.name.chars().filter(|c| !c.is_control()).take(200).collect();
        checked.push((name, kind_of_content, f.content));
    }
    let now = services.clock.now();
    let mut rows = Vec::with_capacity(checked.len());
    let mut stored: Vec<String> = Vec::new();
    for (name, sniffed, content) in checked {
        let doc_id = Uuid::now_v7();
        let sealed = vault::seal(&cfg.keys, doc_id, &content)
            .map_err(|e| AppError::internal("encrypting a document", e))?;
        let key = vault::storage_key(actor.tenant_id, doc_id);
        if let Err(e) = cfg.store.put(&key, sealed.blob).await {
            discard(cfg, &stored).await;
            return Err(AppError::internal("storing a document", e));
        }
        stored.push(key.clone());
        rows.push(eo_document::Model {
            id: doc_id,
            tenant_id: actor.tenant_id,
            application_id: id,
            kind,
            original_name: if name.is_empty() { "document".into() } else { name },
            mime_type: sniffed.mime().into(),
            size_bytes: content.len() as i64,
            sha256: vault::sha256_hex(&content),
            storage_key: key,
            key_id: sealed.key_id,
            wrapped_key: sealed.wrapped_key,
            last_contact_at: now,
            created_at: now,
        });
    }
    let written = async {
        let txn = services.db.begin().await?;
        // First a guarded write: it locks the application (the write lock on SQLite) and checks
        // that the review has not started meanwhile; then the cap is counted again under it.
        let open = eo_application::Entity::update_many()
            .col_expr(eo_application::Column::LastContactAt, Expr::value(now))
            .col_expr(eo_application::Column::UpdatedAt, Expr::value(now))
            .filter(eo_application::Column::Id.eq(id))
            .filter(
                eo_application::Column::Status
                    .is_in([ApplicationStatus::Draft, ApplicationStatus::Submitted]),
            )
            .exec(&txn)
            .await?;
        if open.rows_affected != 1 {
            return Err(AppError::Conflict(
                "documents can be added until the review starts".into(),
            ));
        }
        let now_held = scoped::<eo_document::Entity>(actor.tenant_id)
            .filter(eo_document::Column::ApplicationId.eq(id))
            .count(&txn)
            .await? as usize;
        if now_held + rows.len() > max_files {
            return Err(AppError::bad_input(
                "input.files",
                format!("an application holds at most {max_files} files ({now_held} already)"),
            ));
        }
        touch_documents(&txn, id, now).await?;
        eo_document::Entity::insert_many(rows.iter().cloned().map(eo_document::ActiveModel::from))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(e) = written {
        discard(cfg, &stored).await;
        return Err(e);
    }
    Ok(rows)
}

/// Deletes blobs whose rows were never written (or are gone); failures are logged.
pub(super) async fn discard(cfg: &DocumentConfig, keys: &[String]) {
    for k in keys {
        if let Err(e) = cfg.store.delete(k).await {
            tracing::error!(error = %e, "could not delete a document blob; its key is gone, so it cannot be read");
        }
    }
}

/// Documents of several applications (metadata only), oldest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id))]
pub async fn documents_of(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<eo_document::Model>>> {
    let rows = scoped::<eo_document::Entity>(tenant_id)
        .filter(eo_document::Column::ApplicationId.is_in(ids.iter().copied()))
        .order_by_asc(eo_document::Column::CreatedAt)
        .all(&services.db)
        .await?;
    Ok(group(rows, |r| (r.application_id, r)))
}

/// A document's content for someone the policy lets read it (applicant, guardian, reviewer,
/// privacy officer); `NOT_FOUND` for anyone else. Staff downloads are audited first (fail
/// closed). A stored blob that fails its integrity check is `DATA_CORRUPTED`, never garbage.
#[tracing::instrument(skip_all, fields(
    tenant.id = %actor.tenant_id,
    actor.id = actor.user_id.map(tracing::field::display),
    document.id = %document_id,
))]
pub async fn download(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    document_id: Uuid,
) -> AppResult<(eo_document::Model, Vec<u8>)> {
    let doc = scoped::<eo_document::Entity>(actor.tenant_id)
        .filter(eo_document::Column::Id.eq(document_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let rec = visible(services, actor, relations, doc.application_id).await?;
    let audit_as =
        match policy::decide(actor, relations, &rec.facts(), DataField::Documents, Op::Read) {
            Decision::Deny => return Err(AppError::NotFound),
            Decision::Allow { audit } => audit,
        };
    if let Some(column) = audit_as {
        audit::record(
            &services.db,
            actor,
            services.clock.now(),
            AuditRecord {
                action: "document.downloaded",
                category: Some(Category::SupportingDocuments),
                subject_id: Some(rec.application.applicant_id),
                purpose: column.purpose(),
                details: Some(json!({ "applicationId": rec.application.id, "documentId": doc.id })),
            },
        )
        .await?;
    }
    let cfg = &services.documents;
    let blob = cfg.store.get(&doc.storage_key).await.map_err(|e| match e {
        vault::VaultError::Missing => AppError::Corrupted("the stored document is missing"),
        other => AppError::internal("reading a document", other),
    })?;
    let plain = vault::open(&cfg.keys, doc.id, &doc.key_id, &doc.wrapped_key, &blob).map_err(|e| match e {
        vault::VaultError::Tampered => {
            tracing::error!(document.id = %doc.id, error = %e, "a stored document failed its integrity check");
            AppError::Corrupted("the stored document failed its integrity check")
        }
        other => AppError::internal("decrypting a document", other),
    })?;
    Ok((doc, plain))
}
