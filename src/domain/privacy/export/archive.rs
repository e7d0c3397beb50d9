//! Builds the export ZIP and stores it, sealed, in the document store, with memory held flat:
//! rows are read a page at a time ([`rows::Cursor`]), written through the ZIP writer (deflate)
//! and the [`Sealer`] into a small spool, and the spool is handed to a streamed upload after
//! every page; documents are decrypted one at a time. Nothing plaintext touches the disk.
//!
//! The archive holds `data.json` ([`JsonSink`]), `index.html` ([`HtmlSink`]), then
//! `documents/<document id>.<ext>` for each supporting document (named by id, never by the
//! uploaded file name). The two files are two passes over the same rows.

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Timelike, Utc};
use sea_orm::{
    AccessMode, ColumnTrait, DatabaseBackend, DatabaseTransaction, IsolationLevel, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::html::HtmlSink;
use super::json::JsonSink;
use super::plan::{self, TablePlan};
use super::rows::Cursor;
use super::sealing::{DataKey, Sealer, StoredKey};
use super::texts::Lang;
use crate::domain::Services;
use crate::domain::equal_opportunity::vault::{self, DocumentType, VaultError};
use crate::domain::tenancy::scoped;
use crate::entities::{eo_application, eo_document};
use crate::error::{AppError, AppResult};

/// What heads both files.
pub struct Heading {
    pub subject_id: Uuid,
    pub subject_name: Option<String>,
    pub generated_at: DateTime<Utc>,
    pub controller: String,
    pub dpo_email: String,
}

/// One supporting document as `data.json` lists it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentEntry {
    pub id: Uuid,
    pub application_id: Uuid,
    pub kind: String,
    /// Its path in the archive.
    pub file: String,
    pub original_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A file of the archive written from the rows (`data.json`, `index.html`).
pub trait Sink {
    fn head(&mut self, w: &mut dyn Write, h: &Heading) -> io::Result<()>;
    fn begin_table(&mut self, w: &mut dyn Write, plan: &TablePlan) -> io::Result<()>;
    fn row(
        &mut self,
        w: &mut dyn Write,
        plan: &TablePlan,
        row: &Map<String, Value>,
    ) -> io::Result<()>;
    fn end_table(&mut self, w: &mut dyn Write, plan: &TablePlan) -> io::Result<()>;
    fn documents(&mut self, w: &mut dyn Write, docs: &[DocumentEntry]) -> io::Result<()>;
    fn tail(&mut self, w: &mut dyn Write) -> io::Result<()>;
}

/// Sealed bytes waiting for the upload (shared between the writer and the uploader).
#[derive(Clone, Default)]
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Spool {
    fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

impl Write for Spool {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("export spool poisoned"))?
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Upload parts in flight at most (each up to the store's part size, 5 MiB).
const UPLOAD_CONCURRENCY: usize = 2;

struct Upload {
    spool: Spool,
    part: object_store::WriteMultipart,
}

impl Upload {
    /// Hands what the spool holds to the upload, waiting while too many parts are in flight.
    async fn drain(&mut self) -> AppResult<()> {
        let bytes = self.spool.take();
        if !bytes.is_empty() {
            self.part.put(bytes::Bytes::from(bytes));
        }
        self.part
            .wait_for_capacity(UPLOAD_CONCURRENCY)
            .await
            .map_err(|e| AppError::internal("uploading an export", e))
    }
}

/// What was stored.
pub struct Built {
    /// The ZIP's size (what the download sends).
    pub size_bytes: u64,
    pub key: StoredKey,
}

pub(crate) fn zip_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal("writing an export", e.to_string())
}

pub(crate) fn options(method: CompressionMethod, at: DateTime<Utc>) -> SimpleFileOptions {
    let mut o = SimpleFileOptions::default().compression_method(method).unix_permissions(0o600);
    let (y, mo, d) = (at.year(), at.month(), at.day());
    if let Ok(t) = zip::DateTime::from_date_and_time(
        u16::try_from(y).unwrap_or(1980),
        mo as u8,
        d as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    ) {
        o = o.last_modified_time(t);
    }
    o
}

/// The supporting documents of `subject`'s applications, in id order.
async fn documents(
    services: &Services,
    tenant_id: Uuid,
    subject: Uuid,
) -> AppResult<Vec<eo_document::Model>> {
    let applications: Vec<Uuid> = scoped::<eo_application::Entity>(tenant_id)
        .select_only()
        .column(eo_application::Column::Id)
        .filter(eo_application::Column::ApplicantId.eq(subject))
        .into_tuple()
        .all(&services.db)
        .await?;
    if applications.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scoped::<eo_document::Entity>(tenant_id)
        .filter(eo_document::Column::ApplicationId.is_in(applications))
        .order_by_asc(eo_document::Column::Id)
        .all(&services.db)
        .await?)
}

pub(crate) fn entry(d: &eo_document::Model) -> DocumentEntry {
    let ext = DocumentType::parse_mime(&d.mime_type).map_or("bin", DocumentType::extension);
    DocumentEntry {
        id: d.id,
        application_id: d.application_id,
        kind: sea_orm::ActiveEnum::to_value(&d.kind),
        file: format!("documents/{}.{ext}", d.id),
        original_name: d.original_name.clone(),
        mime_type: d.mime_type.clone(),
        size_bytes: d.size_bytes,
        sha256: d.sha256.clone(),
    }
}

/// A supporting document decrypted for an export (its blob missing is `DATA_CORRUPTED`).
pub(crate) async fn open_document(
    services: &Services,
    doc: &eo_document::Model,
) -> AppResult<Zeroizing<Vec<u8>>> {
    let blob = services.documents.store.get(&doc.storage_key).await.map_err(|err| match err {
        VaultError::Missing => AppError::Corrupted("a stored document is missing"),
        other => AppError::internal("reading a document for an export", other),
    })?;
    let keys = &services.documents.keys;
    Ok(Zeroizing::new(
        vault::open(keys, doc.id, &doc.key_id, &doc.wrapped_key, &blob)
            .map_err(|err| AppError::internal("decrypting a document for an export", err))?,
    ))
}

/// The one read-only transaction every page of an export is read in: both passes (`data.json`
/// and `index.html`) see the same rows, and on SQLite one pooled connection's page cache serves
/// the whole export instead of each page warming another connection's. PostgreSQL: repeatable
/// read, read only; SQLite: a deferred transaction that never writes (WAL: writers go on).
pub(crate) async fn read_transaction(services: &Services) -> AppResult<DatabaseTransaction> {
    Ok(match services.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            services
                .db
                .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        _ => services.db.begin().await?,
    })
}

/// Builds the export of `heading.subject_id` and stores it under `storage_key`, replacing any
/// earlier object there (a retried build overwrites its own half-done file).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant_id, export.id = %export_id))]
pub async fn build(
    services: &Services,
    tenant_id: Uuid,
    heading: &Heading,
    lang: Lang,
    export_id: Uuid,
    storage_key: &str,
) -> AppResult<Built> {
    let plans = plan::plan(&services.db).await?;
    let docs = documents(services, tenant_id, heading.subject_id).await?;
    let entries: Vec<DocumentEntry> = docs.iter().map(entry).collect();
    let keys = &services.documents.keys;
    let (key, stored) = DataKey::generate(keys, export_id)
        .map_err(|e| AppError::internal("making an export key", e))?;
    let spool = Spool::default();
    let part = services
        .documents
        .store
        .upload(storage_key)
        .await
        .map_err(|e| AppError::internal("storing an export", e))?;
    let mut upload = Upload { spool: spool.clone(), part };
    let reader = read_transaction(services).await?;
    let result = async {
        let sealer = Sealer::new(spool, &key, export_id).map_err(zip_error)?;
        let mut zip = ZipWriter::new_stream(sealer);
        let sinks: [(&str, Box<dyn Sink + Send>); 2] = [
            ("data.json", Box::new(JsonSink::default())),
            ("index.html", Box::new(HtmlSink::new(lang))),
        ];
        for (name, mut sink) in sinks {
            zip.start_file(name, options(CompressionMethod::Deflated, heading.generated_at))
                .map_err(zip_error)?;
            let mut w = BufWriter::with_capacity(64 * 1024, &mut zip);
            sink.head(&mut w, heading).map_err(zip_error)?;
            for plan in &plans {
                sink.begin_table(&mut w, plan).map_err(zip_error)?;
                let mut cursor = Cursor::new(plan, tenant_id, heading.subject_id);
                while let Some(rows) = cursor.next_page(&reader, services).await? {
                    for row in &rows {
                        sink.row(&mut w, plan, row).map_err(zip_error)?;
                    }
                    upload.drain().await?;
                }
                sink.end_table(&mut w, plan).map_err(zip_error)?;
            }
            sink.documents(&mut w, &entries).map_err(zip_error)?;
            sink.tail(&mut w).map_err(zip_error)?;
            w.flush().map_err(zip_error)?;
            drop(w);
            upload.drain().await?;
        }
        for (doc, e) in docs.iter().zip(&entries) {
            let plain = open_document(services, doc).await?;
            // PDF, JPEG and PNG are compressed already.
            zip.start_file(
                e.file.as_str(),
                options(CompressionMethod::Stored, heading.generated_at),
            )
            .map_err(zip_error)?;
            zip.write_all(&plain).map_err(zip_error)?;
            drop(plain);
            upload.drain().await?;
        }
        let sealer = zip.finish().map_err(zip_error)?.into_inner();
        let (_, size) = sealer.finish().map_err(zip_error)?;
        upload.drain().await?;
        Ok::<u64, AppError>(size)
    }
    .await;
    // It only read: ending it changes nothing, but a failure to end it fails the build.
    let result = match (result, reader.rollback().await) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e.into()),
        (Ok(size), Ok(())) => Ok(size),
    };
    match result {
        Ok(size_bytes) => {
            upload.part.finish().await.map_err(|e| AppError::internal("storing an export", e))?;
            Ok(Built { size_bytes, key: stored })
        }
        Err(e) => {
            let _ = upload.part.abort().await;
            Err(e)
        }
    }
}
